// CRI log reading without a runtime: parsing, joining pieces, tail across interleaved streams,
// since/limit/timestamps, follow through rotation. And SPDY header blocks: what we compress,
// zlib with SPDY/3's dictionary inflates back.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { constants, inflateSync } from 'node:zlib';
import { parseCriLogLine } from '../../src/agent/server/cri-log.ts';
import { logOptionsFrom, streamLog, type LogOptions } from '../../src/agent/server/logs.ts';
import { HeaderCompressor } from '../../src/spdy/header-codec.ts';
import { SPDY3_DICTIONARY } from '../../src/spdy/dictionary.ts';
import { decodeHeaderBlock, encodeHeaderBlock } from '../../src/spdy/frames.ts';
import { waitFor } from '../helpers/wait.ts';

const dir = await mkdtemp(join(tmpdir(), 'skiff-logs-'));
after(() => rm(dir, { recursive: true, force: true }));

const LOG = [
  '2026-01-01T00:00:00.000000001Z stdout F one',
  '2026-01-01T00:00:01Z stdout P ab',
  '2026-01-01T00:00:02Z stderr F two',
  '2026-01-01T00:00:03Z stdout P cd',
  '2026-01-01T00:00:04Z stdout F ef',
  '2026-01-01T00:00:05Z stdout F',
  'not a cri line',
  '2026-01-01T00:00:06Z stderr F last',
  '2026-01-01T00:00:07Z stdout P unfinished',
].join('\n');

async function read(opts: Partial<LogOptions>, file = join(dir, 'a.log')): Promise<string> {
  const out = new PassThrough();
  let s = '';
  out.on('data', (d) => (s += d));
  await streamLog({ path: file, isRunning: async () => false }, { follow: false, timestamps: false, ...opts }, out, new AbortController().signal);
  return s;
}

test('CRI log lines parse, including an empty line and extra tags', () => {
  assert.deepEqual(parseCriLogLine(Buffer.from('2026-01-01T00:00:05Z stdout F'))?.content.toString(), '');
  assert.equal(parseCriLogLine(Buffer.from('2026-01-01T00:00:05Z stderr P:x a b'))?.content.toString(), 'a b');
  assert.equal(parseCriLogLine(Buffer.from('garbage stdout F x')), undefined);
  assert.equal(parseCriLogLine(Buffer.from('2026-01-01T00:00:05Z stdin F x')), undefined);
});

test('pieces join; tail counts whole lines even when a line started before the other stream\'s', async () => {
  await writeFile(join(dir, 'a.log'), `${LOG}\n`);
  assert.equal(await read({}), 'one\ntwo\nabcdef\n\nlast\n');
  assert.equal(await read({ tailLines: 1 }), 'last\n');
  assert.equal(await read({ tailLines: 3 }), 'abcdef\n\nlast\n');
  assert.equal(await read({ tailLines: 4 }), 'two\nabcdef\n\nlast\n');
  assert.equal(await read({ tailLines: 50 }), 'one\ntwo\nabcdef\n\nlast\n');
  assert.equal(await read({ tailLines: 0 }), '');
  assert.equal(await read({ timestamps: true, tailLines: 2 }), '2026-01-01T00:00:05Z \n2026-01-01T00:00:06Z last\n');
  assert.equal(await read({ sinceMs: Date.parse('2026-01-01T00:00:02Z') }), 'two\n\nlast\n');
  assert.equal(await read({ limitBytes: 6 }), 'one\ntw');
});

test('query parameters are checked as the API validates PodLogOptions', () => {
  assert.throws(() => logOptionsFrom(new URLSearchParams('tailLines=-1')), /tailLines/);
  assert.throws(() => logOptionsFrom(new URLSearchParams('limitBytes=0')), /limitBytes/);
  assert.throws(() => logOptionsFrom(new URLSearchParams('sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z')), /at most one/);
  assert.equal(logOptionsFrom(new URLSearchParams('sinceSeconds=10'), 100_000).sinceMs, 90_000);
});

test('follow reads appended lines and follows the file through a rotation', async () => {
  const file = join(dir, 'f.log');
  await writeFile(file, '2026-01-01T00:00:00Z stdout F start\n');
  const out = new PassThrough();
  let s = '';
  out.on('data', (d) => (s += d));
  const abort = new AbortController();
  const done = streamLog({ path: file, isRunning: async () => true }, { follow: true, timestamps: false }, out, abort.signal);
  await waitFor('the first line', () => s === 'start\n' || undefined, 10_000);
  await appendFile(file, '2026-01-01T00:00:01Z stdout F more\n');
  await waitFor('the appended line', () => s === 'start\nmore\n' || undefined, 10_000);
  await rename(file, `${file}.1`);
  await writeFile(file, '2026-01-01T00:00:02Z stdout F rotated\n');
  await waitFor('the new file\'s line', () => s === 'start\nmore\nrotated\n' || undefined, 10_000);
  abort.abort();
  await done;
});

test('SPDY header blocks we send inflate with the SPDY/3 dictionary, frame after frame', () => {
  assert.equal(SPDY3_DICTIONARY.length, 1423);
  const c = new HeaderCompressor();
  const blocks: Record<string, string>[] = [{ streamtype: 'error', port: '8080', requestid: '0' }, {}, { big: 'x'.repeat(70_000) }];
  const wire = blocks.map((b) => c.compress(encodeHeaderBlock(b)));
  // One zlib stream for the whole connection: each prefix decodes to the blocks so far.
  let offset = 0;
  for (let i = 0; i < blocks.length; i++) {
    const upTo = Buffer.concat(wire.slice(0, i + 1));
    const all = inflateSync(upTo, { dictionary: SPDY3_DICTIONARY, finishFlush: constants.Z_SYNC_FLUSH });
    const mine = all.subarray(offset);
    offset = all.length;
    const expected = Object.fromEntries(Object.entries(blocks[i]).map(([k, v]) => [k, [v]]));
    assert.deepEqual(decodeHeaderBlock(mine), expected);
  }
});
