import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { AuditLog, microTime, newAuditID, type AuditEvent } from '../../src/apiserver/audit.ts';

const BACKUP_NAME = /^audit-(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3})\.log$/;

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-audit-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function event(i: number, extra: Partial<AuditEvent> = {}): AuditEvent {
  const now = microTime();
  return {
    level: 'RequestResponse',
    auditID: newAuditID(),
    stage: 'ResponseComplete',
    requestURI: `/api/v1/namespaces/default/configmaps/cm-${i}`,
    verb: 'create',
    user: { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] },
    sourceIPs: ['127.0.0.1'],
    userAgent: 'kubectl/v1.32.4 (linux/amd64) kubernetes/4cb5f07',
    objectRef: { resource: 'configmaps', namespace: 'default', name: `cm-${i}`, apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: 201 },
    requestObject: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: `cm-${i}` } },
    responseObject: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: `cm-${i}`, uid: 'u' } },
    requestReceivedTimestamp: now,
    stageTimestamp: now,
    annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '' },
    ...extra,
  };
}

async function lines(path: string): Promise<Record<string, any>[]> {
  const text = path.endsWith('.gz') ? gunzipSync(await readFile(path)).toString() : await readFile(path, 'utf8');
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
}

/** All events in rotation order: backups oldest first, then the current file. */
async function allEvents(dir: string): Promise<Record<string, any>[]> {
  const backups = (await readdir(dir)).filter((n) => BACKUP_NAME.test(n)).sort();
  const out = [];
  for (const name of [...backups, 'audit.log']) out.push(...(await lines(join(dir, name))));
  return out;
}

test('events are written as audit.k8s.io/v1 Event JSON lines, owner-only', async (t) => {
  const dir = await tempDir(t);
  const log = new AuditLog({ path: join(dir, 'logs', 'audit.log') });
  log.log(event(1));
  log.log(event(2));
  await log.close();
  const path = join(dir, 'logs', 'audit.log');
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  const text = await readFile(path, 'utf8');
  assert.match(text, /^\{"kind":"Event","apiVersion":"audit.k8s.io\/v1","level":"RequestResponse","auditID":"/);
  const [first, second] = await lines(path);
  assert.equal(first!.objectRef.name, 'cm-1');
  assert.equal(second!.objectRef.name, 'cm-2');
  assert.deepEqual(first!.responseStatus, { metadata: {}, code: 201 });
  assert.match(first!.stageTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  assert.deepEqual(first!.user.groups, ['system:masters', 'system:authenticated']);
  assert.equal(first!.responseObject.metadata.uid, 'u');
});

test('the level option caps detail: Metadata drops bodies, Request keeps only the request, None writes nothing', async (t) => {
  const dir = await tempDir(t);
  for (const [level, hasReq, hasResp] of [['Metadata', false, false], ['Request', true, false], ['RequestResponse', true, true]] as const) {
    const path = join(dir, `${level}.log`);
    const log = new AuditLog({ path, level });
    log.log(event(1));
    log.log(event(2, { level: 'Metadata' }));
    await log.close();
    const [capped, own] = await lines(path);
    assert.equal(capped!.level, level);
    assert.equal('requestObject' in capped!, hasReq, `${level} requestObject`);
    assert.equal('responseObject' in capped!, hasResp, `${level} responseObject`);
    assert.equal(own!.level, 'Metadata');
    assert.equal('requestObject' in own!, false);
  }
  const nonePath = join(dir, 'none.log');
  const none = new AuditLog({ path: nonePath, level: 'None' });
  none.log(event(1));
  none.log(event(2, { level: 'None' }));
  await none.close();
  assert.equal(await readFile(nonePath, 'utf8'), '');
});

test('rotation renames the full file to audit-<UTC time>.log and keeps every event exactly once', async (t) => {
  const dir = await tempDir(t);
  const maxSize = Math.floor(0.002 * 1024 * 1024);
  const log = new AuditLog({ path: join(dir, 'audit.log'), maxSizeMB: 0.002 });
  const before = Date.now();
  for (let i = 0; i < 40; i++) log.log(event(i));
  await log.close();
  const names = await readdir(dir);
  const backups = names.filter((n) => BACKUP_NAME.test(n));
  assert.ok(backups.length >= 5, `backups: ${names.join(' ')}`);
  assert.deepEqual(names.filter((n) => !BACKUP_NAME.test(n)), ['audit.log']);
  for (const name of [...backups, 'audit.log']) {
    const size = (await stat(join(dir, name))).size;
    assert.ok(size <= maxSize && size > 0, `${name} is ${size} bytes, max ${maxSize}`);
  }
  const stamp = BACKUP_NAME.exec(backups[0]!)![1]!;
  const ms = Date.parse(stamp.replace(/T(\d\d)-(\d\d)-(\d\d)/, 'T$1:$2:$3') + 'Z');
  assert.ok(ms >= before - 1000 && ms <= Date.now() + 1000, `backup time ${stamp} is UTC now`);
  const events = await allEvents(dir);
  assert.deepEqual(events.map((e) => e.objectRef.name), Array.from({ length: 40 }, (_, i) => `cm-${i}`));
});

test('maxBackups keeps only the newest backups', async (t) => {
  const dir = await tempDir(t);
  const log = new AuditLog({ path: join(dir, 'audit.log'), maxSizeMB: 0.001, maxBackups: 2 });
  for (let i = 0; i < 30; i++) log.log(event(i));
  await log.close();
  const backups = (await readdir(dir)).filter((n) => BACKUP_NAME.test(n)).sort();
  assert.equal(backups.length, 2);
  const events = await allEvents(dir);
  assert.equal(events.at(-1)!.objectRef.name, 'cm-29', 'the newest events survive');
});

test('maxAgeDays removes backups older than the cutoff by the time in their name, and leaves other files alone', async (t) => {
  const dir = await tempDir(t);
  const name = (daysAgo: number) =>
    `audit-${new Date(Date.now() - daysAgo * 86400_000).toISOString().slice(0, 23).replaceAll(':', '-')}.log`;
  const old = name(10);
  const recent = name(1);
  await writeFile(join(dir, old), '{}\n');
  await writeFile(join(dir, recent), '{}\n');
  await writeFile(join(dir, 'audit-notes.log'), 'mine\n');
  const log = new AuditLog({ path: join(dir, 'audit.log'), maxSizeMB: 1, maxAgeDays: 5 });
  log.log(event(1)); // cleanup runs when the file is opened, as lumberjack does
  await log.close();
  const names = await readdir(dir);
  assert.ok(!names.includes(old), 'old backup removed');
  assert.ok(names.includes(recent), 'recent backup kept');
  assert.ok(names.includes('audit-notes.log'), 'unrelated file kept');
});

test('an existing log is appended to, or rotated first when already full', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'audit.log');
  await writeFile(path, '{"previous":true}\n');
  const a = new AuditLog({ path, maxSizeMB: 1 });
  a.log(event(1));
  await a.close();
  assert.deepEqual((await lines(path)).map((e) => e.previous ?? e.objectRef.name), [true, 'cm-1']);

  await writeFile(path, 'x'.repeat(1048));
  const b = new AuditLog({ path, maxSizeMB: 0.001 });
  b.log(event(2));
  await b.close();
  assert.deepEqual((await lines(path)).map((e) => e.objectRef.name), ['cm-2']);
  assert.equal((await readdir(dir)).filter((n) => BACKUP_NAME.test(n)).length, 1);
});

test('compress gzips rotated files; maxSizeMB 0 never rotates', async (t) => {
  const dir = await tempDir(t);
  const log = new AuditLog({ path: join(dir, 'audit.log'), maxSizeMB: 0.001, compress: true });
  for (let i = 0; i < 10; i++) log.log(event(i));
  await log.close();
  const gz = (await readdir(dir)).filter((n) => n.endsWith('.log.gz')).sort();
  assert.ok(gz.length >= 2);
  assert.equal((await lines(join(dir, gz[0]!)))[0]!.objectRef.name, 'cm-0');

  const plainDir = await tempDir(t);
  const plain = new AuditLog({ path: join(plainDir, 'audit.log'), maxSizeMB: 0 });
  for (let i = 0; i < 20; i++) plain.log(event(i));
  await plain.close();
  assert.deepEqual(await readdir(plainDir), ['audit.log']);
  assert.equal((await lines(join(plainDir, 'audit.log'))).length, 20);
});

test('log() returns before the disk write, and close() loses nothing', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'audit.log');
  const log = new AuditLog({ path });
  for (let i = 0; i < 2000; i++) log.log(event(i));
  // Read synchronously: an await here would let the background writer run first.
  assert.equal(existsSync(path) ? readFileSync(path, 'utf8') : '', '', 'nothing written synchronously');
  await log.close();
  const events = await lines(path);
  assert.equal(events.length, 2000);
  assert.equal(new Set(events.map((e) => e.auditID)).size, 2000);
  assert.throws(() => log.log(event(1)), /audit log is closed/);
});

test('path "-" writes to stdout', async () => {
  const script = `
    import { AuditLog } from ${JSON.stringify(new URL('../../src/apiserver/audit.ts', import.meta.url).href)};
    const log = new AuditLog({ path: '-' });
    log.log({ level: 'Metadata', auditID: 'a1', stage: 'ResponseComplete', requestURI: '/version', verb: 'get',
      user: { username: 'u' }, requestReceivedTimestamp: 't', stageTimestamp: 't' });
    await log.close();`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
  assert.deepEqual(JSON.parse(stdout), {
    kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', auditID: 'a1', stage: 'ResponseComplete',
    requestURI: '/version', verb: 'get', user: { username: 'u' }, requestReceivedTimestamp: 't', stageTimestamp: 't',
  });
});

test('bad options fail at construction', async (t) => {
  const dir = await tempDir(t);
  assert.throws(() => new AuditLog({ path: join(dir, 'audit.log'), maxBackups: -1 }), /maxBackups -1 can't be a negative number/);
  await writeFile(join(dir, 'file'), '');
  assert.throws(() => new AuditLog({ path: join(dir, 'file', 'audit.log') }), /ENOTDIR|EEXIST/);
});
