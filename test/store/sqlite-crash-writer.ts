// Child process for the kill -9 test in sqlite.test.ts: writes forever and prints
// one JSON line per acknowledged write, with a synchronous write to fd 1 so a line
// that reached the parent was printed after its write was acknowledged.
import { writeSync } from 'node:fs';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';

const store = openSqliteStore(process.argv[2], { compactIntervalMs: 0 });
const filler = 'x'.repeat(1000);
/** Writes a line to stdout synchronously; the pipe may be non-blocking, so retry while it is full. */
function printLine(line: string): void {
  for (;;) {
    try {
      writeSync(1, `${line}\n`);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
  }
}
const acknowledged = (op: string, key: string, ok: boolean) => {
  if (!ok) throw new Error(`${op} ${key} failed`);
};
for (let i = 0; ; i++) {
  const key = `/crash/k${i}`;
  const created = await store.create(key, `v${i}${filler}`);
  acknowledged('create', key, created.ok);
  printLine(JSON.stringify({ op: 'put', key, value: `v${i}`, padded: true, revision: created.revision }));
  if (i % 3 === 2) {
    const target = `/crash/k${i - 1}`;
    const updated = await store.update(target, `u${i}`, (await store.get(target)).kv!.modRevision);
    acknowledged('update', target, updated.ok);
    printLine(JSON.stringify({ op: 'put', key: target, value: `u${i}`, revision: updated.revision }));
  }
  if (i % 5 === 4) {
    const target = `/crash/k${i - 2}`;
    const deleted = await store.delete(target);
    acknowledged('delete', target, deleted.ok);
    printLine(JSON.stringify({ op: 'delete', key: target, revision: deleted.revision }));
  }
}
