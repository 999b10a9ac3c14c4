// The on-disk layout. `log` is the history (one row per revision, like kine's
// single table), `current` mirrors the latest live row of every key so reads at
// the head never aggregate over history, and `meta` holds the compaction marks.
import type { DatabaseSync } from 'node:sqlite';

const SCHEMA_VERSION = 1;

const CREATE_TABLES = `
CREATE TABLE log (
  revision INTEGER PRIMARY KEY,
  key TEXT NOT NULL,
  -- For a tombstone (deleted = 1): the value the key had when it was deleted.
  value TEXT NOT NULL,
  create_revision INTEGER NOT NULL,
  -- The revision of the live row this one replaced, 0 when the key did not exist.
  -- Compaction follows it to drop superseded rows without scanning old history.
  prev_revision INTEGER NOT NULL,
  deleted INTEGER NOT NULL
);
-- Serves reads at old revisions (latest row per key <= R) and key-range scans.
CREATE INDEX log_key_revision ON log (key, revision, deleted);
CREATE TABLE current (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  create_revision INTEGER NOT NULL,
  mod_revision INTEGER NOT NULL
);
CREATE TABLE meta (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (name, value) VALUES ('compact_revision', 0), ('compact_done', 0);
`;

/**
 * Applies the connection settings and creates the schema on a new file.
 *
 * WAL with synchronous=NORMAL: a commit is in the WAL file (the OS page cache)
 * before it returns, which survives a crash of the process (not of the machine).
 * https://www.sqlite.org/pragma.html#pragma_synchronous
 *
 * locking_mode=EXCLUSIVE keeps the file locked for as long as the store is open,
 * so a second Skiff on the same file fails instead of forking the revision
 * counter (this store keeps it in memory). It must be set before the first
 * access for WAL to run without the shared-memory index.
 */
export function prepareDatabase(db: DatabaseSync): void {
  db.exec('PRAGMA locking_mode = EXCLUSIVE');
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = NORMAL');
  db.exec('PRAGMA temp_store = MEMORY');
  db.exec('PRAGMA cache_size = -65536');
  const { user_version: version } = db.prepare('PRAGMA user_version').get() as { user_version: number };
  if (version === SCHEMA_VERSION) return;
  if (version !== 0) {
    throw new Error(`store schema version ${version} is not supported (this Skiff knows version ${SCHEMA_VERSION})`);
  }
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec(CREATE_TABLES);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    db.exec('COMMIT');
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}
