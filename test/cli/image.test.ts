// `skiff image ls|import|rm` through the real binary, on a runtime root of its own: importing
// docker save and OCI layout tarballs, crictl's table, removal by name and id prefix, errors, and
// how it behaves while a `skiff runtime` serves the same root (plus the auto-import directory).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createCriClient } from '../../src/cri/client.ts';
import { writeTar } from '../../src/runtime/images/tar.ts';
import { digestOf, writeOciLayout } from '../runtime/images-fixtures.ts';
import { waitFor } from '../helpers/wait.ts';

const SKIFF = resolve(import.meta.dirname, '../../bin/skiff');
let tmp: string;
let root: string;
let dockerSave: string;
let ociLayout: string;
let dockerSaveId: string;

interface Result { code: number; stdout: string; stderr: string }

function skiff(...args: string[]): Promise<Result> {
  return new Promise((done) => {
    execFile(SKIFF, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** `skiff image ls` rows as objects keyed by the header. */
async function ls(r = root): Promise<Record<string, string>[]> {
  const res = await skiff('image', 'ls', '--root', r, '--runtime-endpoint', `unix://${tmp}/none.sock`);
  assert.equal(res.code, 0, res.stderr);
  const [header, ...lines] = res.stdout.trimEnd().split('\n');
  assert.match(header!, /^IMAGE\s+TAG\s+IMAGE ID\s+SIZE$/);
  return lines.map((l) => {
    const [image, tag, id, size] = l.split(/\s{3,}/);
    return { image: image!, tag: tag!, id: id!, size: size! };
  });
}

function layerTar(file: string, text: string): Buffer {
  return writeTar([{ name: 'etc/', type: 'directory' }, { name: `etc/${file}`, data: Buffer.from(text) }]);
}

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'skiff-image-cli-'));
  root = join(tmp, 'root');
  // docker save: manifest.json, the config, one layer.tar per layer.
  const layer = layerTar('app', 'app\n');
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [digestOf(layer)] },
  }));
  dockerSaveId = digestOf(config);
  dockerSave = join(tmp, 'app.tar');
  await writeFile(dockerSave, writeTar([
    { name: 'manifest.json', data: Buffer.from(JSON.stringify([{ Config: 'config.json', RepoTags: ['example.com/team/app:1.0', 'example.com/team/app:latest'], Layers: ['l0/layer.tar'] }])) },
    { name: 'config.json', data: config },
    { name: 'l0/layer.tar', data: layer },
  ]));
  // An OCI image layout, tarred; its ref.name is only a tag, so the archive name is the repository.
  const layout = join(tmp, 'layout');
  await writeOciLayout(layout, { v2: { layers: [layerTar('tool', 'tool\n')], gzip: [0] } });
  ociLayout = join(tmp, 'tool.tar');
  await new Promise<void>((done, fail) => execFile('tar', ['-C', layout, '-cf', ociLayout, '.'], (err) => (err ? fail(err) : done())));
});

after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test('import of docker save and OCI layout tarballs; ls prints crictl\'s table', async () => {
  const a = await skiff('image', 'import', dockerSave, ociLayout, '--root', root, '--runtime-endpoint', `unix://${tmp}/none.sock`);
  assert.equal(a.code, 0, a.stderr);
  const short = dockerSaveId.slice(7, 20);
  assert.match(a.stdout, new RegExp(`^Imported example.com/team/app:1.0, example.com/team/app:latest \\(${short}, \\d[\\d.]*k?B\\)$`, 'm'));
  assert.match(a.stdout, /^Imported skiff\.local\/tool:v2 \([0-9a-f]{13}, /m);

  const rows = await ls();
  assert.deepEqual(rows.map((r) => `${r.image}:${r.tag}`), ['example.com/team/app:1.0', 'example.com/team/app:latest', 'skiff.local/tool:v2']);
  assert.equal(rows[0]!.id, short);
  assert.equal(rows[1]!.id, short, 'one row per tag, same image');
  for (const r of rows) assert.match(r.size, /^\d+(\.\d+)?(B|kB|MB)$/);

  const quiet = await skiff('image', 'ls', '--quiet', '--root', root, '--runtime-endpoint', `unix://${tmp}/none.sock`);
  assert.equal(quiet.stdout.trim().split('\n').length, 2);
  assert.ok(quiet.stdout.includes(dockerSaveId));
});

test('rm by name and by id prefix; unknown names fail with a one-line error', async () => {
  const notThere = await skiff('image', 'rm', 'example.com/nope:1', '--root', root, '--runtime-endpoint', `unix://${tmp}/none.sock`);
  assert.equal(notThere.code, 2);
  assert.equal(notThere.stderr.trim(), 'skiff: image "example.com/nope:1" not found');

  const byName = await skiff('image', 'rm', 'skiff.local/tool:v2', '--root', root, '--runtime-endpoint', `unix://${tmp}/none.sock`);
  assert.equal(byName.code, 0, byName.stderr);
  assert.equal(byName.stdout.trim(), 'Deleted: skiff.local/tool:v2');
  const byId = await skiff('image', 'rm', dockerSaveId.slice(7, 19), '--root', root, '--runtime-endpoint', `unix://${tmp}/none.sock`);
  assert.equal(byId.code, 0, byId.stderr);
  assert.deepEqual(await ls(), []);
  // Their blobs and unpacked layers went too.
  assert.deepEqual(await readdir(join(root, 'images', 'blobs', 'sha256')), []);
  assert.deepEqual(await readdir(join(root, 'images', 'layers', 'sha256')), []);
});

test('import of something that is not an image archive says so', async () => {
  const junk = join(tmp, 'junk.tar');
  await writeFile(junk, writeTar([{ name: 'hello.txt', data: Buffer.from('hi') }]));
  const r = await skiff('image', 'import', junk, '--root', root, '--runtime-endpoint', `unix://${tmp}/none.sock`);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /neither a docker save archive \(manifest\.json\) nor an OCI image layout \(index\.json\)/);
  const missing = await skiff('image', 'import', join(tmp, 'missing.tar'), '--root', root);
  assert.match(missing.stderr, /missing\.tar: no such file/);
  const bad = await skiff('image', 'frobnicate');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown image command "frobnicate"/);
});

test('with skiff runtime serving the root: auto-import on start, rm through CRI, import refused', { timeout: 120_000 }, async () => {
  const served = join(tmp, 'served');
  await mkdir(join(served, 'images', 'import'), { recursive: true });
  await copyFile(dockerSave, join(served, 'images', 'import', 'app.tar'));
  const socket = join(tmp, 'cri.sock');
  const endpoint = `unix://${socket}`;
  let daemon: ChildProcess | undefined;
  try {
    daemon = spawn(SKIFF, ['runtime', '--root', served, '--listen', endpoint, '--cni-conf-dir', join(tmp, 'no-cni')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    daemon.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
    daemon.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
    await waitFor('skiff runtime to listen', () => output.includes('listening') || (daemon!.exitCode !== null && Promise.reject(new Error(output))), 60_000);

    // The archive in <root>/images/import/ was imported when the runtime started.
    const rows = await ls(served);
    assert.ok(rows.some((r) => r.image === 'example.com/team/app' && r.tag === '1.0'), JSON.stringify(rows));

    const refused = await skiff('image', 'import', ociLayout, '--root', served, '--runtime-endpoint', endpoint);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /is serving .*served: stop it before importing, or copy the archives into .*served\/images\/import\//);

    const removed = await skiff('image', 'rm', 'example.com/team/app:1.0', '--root', served, '--runtime-endpoint', endpoint);
    assert.equal(removed.code, 0, removed.stderr);
    // The daemon itself no longer lists it (it removed it), and neither does the index on disk.
    const client = createCriClient(endpoint, { timeoutMs: 10_000 });
    try {
      const { images } = await client.listImages({});
      assert.ok(!images.some((i) => i.repo_tags.includes('example.com/team/app:1.0')));
      assert.ok(images.some((i) => i.repo_tags.includes('skiff.local/busybox:latest')));
    } finally {
      client.close();
    }
    assert.ok(!(await ls(served)).some((r) => r.image === 'example.com/team/app'));
  } finally {
    if (daemon?.pid && daemon.exitCode === null) {
      daemon.kill('SIGTERM');
      await Promise.race([once(daemon, 'exit'), new Promise((r) => setTimeout(r, 10_000))]);
    }
    assert.ok(!existsSync(join(served, 'containers')) || (await readdir(join(served, 'containers'))).length === 0);
  }
});
