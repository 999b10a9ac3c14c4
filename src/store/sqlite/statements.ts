// Every SQL statement the store runs, prepared once, and the row shapes they return.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { KeyValue, WatchEvent } from '../store.ts';

export interface CurrentRow {
  key: string;
  value: string;
  create_revision: number;
  mod_revision: number;
}

export interface HistoryRow {
  revision: number;
  key: string;
  value: string;
  create_revision: number;
  prev_revision: number;
  deleted: number;
  /** The replaced row's value and create revision; null when it was compacted or there was none. */
  prev_value: string | null;
  prev_create_revision: number | null;
}

/** [key, value, create_revision, mod_revision]: list statements return arrays, which is faster for big lists. */
export type KeyValueTuple = [string, string, number, number];

export function tuplesToKeyValues(rows: KeyValueTuple[]): KeyValue[] {
  const out = new Array<KeyValue>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    out[i] = { key: row[0], value: row[1], createRevision: row[2], modRevision: row[3] };
  }
  return out;
}

export function toKeyValue(row: CurrentRow): KeyValue {
  return { key: row.key, value: row.value, createRevision: row.create_revision, modRevision: row.mod_revision };
}

/** Rebuilds the watch event a log row recorded. */
export function toWatchEvent(row: HistoryRow): WatchEvent {
  if (row.deleted) {
    const prevKv = { key: row.key, value: row.value, createRevision: row.create_revision, modRevision: row.prev_revision };
    return { type: 'delete', kv: { ...prevKv, modRevision: row.revision }, prevKv };
  }
  const kv = { key: row.key, value: row.value, createRevision: row.create_revision, modRevision: row.revision };
  if (row.prev_revision > 0 && row.prev_value !== null && row.prev_create_revision !== null) {
    const prevKv = { key: row.key, value: row.prev_value, createRevision: row.prev_create_revision, modRevision: row.prev_revision };
    return { type: 'put', kv, prevKv };
  }
  return { type: 'put', kv };
}

export interface Statements {
  begin: StatementSync;
  commit: StatementSync;
  rollback: StatementSync;
  // Head reads. Parameters: (startKey, prefix, prefixEnd[, limit]).
  getCurrent: StatementSync;
  listCurrent: StatementSync;
  countCurrentAfter: StatementSync;
  countCurrent: StatementSync;
  // Reads at an older revision: the latest log row per key at or before it, unless a tombstone.
  getAt: StatementSync;
  listAt: StatementSync;
  countAtAfter: StatementSync;
  // Writes.
  insertLog: StatementSync;
  insertCurrent: StatementSync;
  updateCurrent: StatementSync;
  deleteCurrent: StatementSync;
  // Watch replay: log rows in (after, upTo] under a prefix, in revision order.
  history: StatementSync;
  // Compaction and bookkeeping.
  maxRevision: StatementSync;
  getMeta: StatementSync;
  setMeta: StatementSync;
  compactSuperseded: StatementSync;
  compactTombstones: StatementSync;
  pageCount: StatementSync;
  pageSize: StatementSync;
}

export function prepareStatements(db: DatabaseSync): Statements {
  const p = (sql: string) => db.prepare(sql);
  const statements: Statements = {
    begin: p('BEGIN IMMEDIATE'),
    commit: p('COMMIT'),
    rollback: p('ROLLBACK'),

    getCurrent: p('SELECT key, value, create_revision, mod_revision FROM current WHERE key = ?'),
    listCurrent: p(
      `SELECT key, value, create_revision, mod_revision FROM current
       WHERE key >= max(?, ?) AND key < ? ORDER BY key LIMIT ?`,
    ),
    countCurrentAfter: p('SELECT count(*) AS n FROM current WHERE key > ? AND key < ?'),
    countCurrent: p('SELECT count(*) AS n FROM current WHERE key >= ? AND key < ?'),

    getAt: p(
      `SELECT key, value, create_revision, revision AS mod_revision, deleted FROM log
       WHERE key = ? AND revision <= ? ORDER BY revision DESC LIMIT 1`,
    ),
    // SQLite fills bare columns of a max() aggregate (here also in HAVING) from the row
    // holding the maximum; grouping on the key index keeps the rows in key order.
    // https://www.sqlite.org/lang_select.html#bare_columns_in_an_aggregate_query
    listAt: p(
      `SELECT key, value, create_revision, max(revision) AS mod_revision FROM log
       WHERE key >= max(?, ?) AND key < ? AND revision <= ?
       GROUP BY key HAVING deleted = 0 ORDER BY key LIMIT ?`,
    ),
    countAtAfter: p(
      `SELECT count(*) AS n FROM (
         SELECT max(revision) AS latest, deleted FROM log
         WHERE key > ? AND key < ? AND revision <= ? GROUP BY key
       ) WHERE deleted = 0`,
    ),

    insertLog: p(
      `INSERT INTO log (revision, key, value, create_revision, prev_revision, deleted)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    insertCurrent: p('INSERT INTO current (key, value, create_revision, mod_revision) VALUES (?, ?, ?, ?)'),
    updateCurrent: p('UPDATE current SET value = ?, mod_revision = ? WHERE key = ?'),
    deleteCurrent: p('DELETE FROM current WHERE key = ?'),

    history: p(
      `SELECT l.revision, l.key, l.value, l.create_revision, l.prev_revision, l.deleted,
              r.value AS prev_value, r.create_revision AS prev_create_revision
       FROM log l LEFT JOIN log r ON r.revision = l.prev_revision AND l.deleted = 0
       WHERE l.revision > ? AND l.revision <= ? AND l.key >= ? AND l.key < ?
       ORDER BY l.revision`,
    ),

    maxRevision: p('SELECT coalesce(max(revision), 0) AS n FROM log'),
    getMeta: p('SELECT value FROM meta WHERE name = ?'),
    setMeta: p('UPDATE meta SET value = ? WHERE name = ?'),
    // A row below the compaction revision names the row it replaced, which therefore is
    // visible at no revision from the compaction revision on. Run before compactTombstones.
    compactSuperseded: p(
      `DELETE FROM log WHERE revision IN (
         SELECT prev_revision FROM log WHERE revision >= ? AND revision < ? AND prev_revision > 0
       )`,
    ),
    compactTombstones: p('DELETE FROM log WHERE revision >= ? AND revision < ? AND deleted = 1'),
    pageCount: p('PRAGMA page_count'),
    pageSize: p('PRAGMA page_size'),
  };
  statements.listCurrent.setReturnArrays(true);
  statements.listAt.setReturnArrays(true);
  return statements;
}
