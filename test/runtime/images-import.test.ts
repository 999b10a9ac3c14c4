// Importing `docker save` and OCI-layout archives, layer whiteouts, and auto-import on start.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ImageStore, BUILTIN_IMAGE } from '../../src/runtime/images/index.ts';
import { mountPoints } from '../helpers/mounts.ts';
import { writeTar } from '../../src/runtime/images/tar.ts';
import { busyboxLayer, digestOf, exec, writeOciLayout } from './images-fixtures.ts';

let tmp: string;
let store: ImageStore;
let busybox: Buffer;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'skiff-import-'));
  store = new ImageStore(join(tmp, 'root'));
  await store.ensureBuiltin();
  busybox = await busyboxLayer(store);
});

after(async () => {
  const leftovers = [...(await mountPoints())].filter((p) => p.startsWith(tmp)).sort().reverse();
  for (const p of leftovers) execFileSync('umount', [p]);
  await rm(tmp, { recursive: true, force: true });
  assert.deepEqual(leftovers, [], 'tests left mounts behind');
});

/** Mounts ref for a throwaway container, runs fn on the rootfs path, then removes it. */
async function withRootfs(ref: string, fn: (rootfs: string) => void | Promise<void>): Promise<void> {
  const id = `c${Math.random().toString(36).slice(2, 8)}`;
  const { target } = await store.mountRootfs(ref, id);
  try {
    await fn(target);
  } finally {
    await store.removeRootfs(id);
  }
}

// A layer over busybox, and one above it that deletes, hides and links things.
const base = writeTar([
  { name: 'data/', type: 'directory' },
  { name: 'data/old', data: Buffer.from('old\n') },
  { name: 'etc/', type: 'directory' },
  { name: 'etc/gone', data: Buffer.from('gone\n') },
  { name: 'etc/keep', data: Buffer.from('keep\n') },
]);
const top = writeTar([
  { name: './data/', type: 'directory', mode: 0o750, uid: 1000, gid: 1000 },
  { name: './data/.wh..wh..opq' },
  { name: './data/new', data: Buffer.from('new\n'), mode: 0o640, uid: 1000, gid: 2000, mtime: 1_700_000_000 },
  { name: './data/new-link', type: 'link', linkname: './data/new' },
  { name: './data/sym', type: 'symlink', linkname: '../etc/keep' },
  { name: './etc/.wh.gone' },
  { name: `./deep/${'d'.repeat(90)}/${'f'.repeat(90)}`, data: Buffer.from('long name\n') },
]);

describe('docker save archives', () => {
  test('made by skopeo (docker-archive) import, tag and run', async () => {
    const layout = join(tmp, 'layout-skopeo');
    await writeOciLayout(layout, { v1: { layers: [busybox], config: { Cmd: ['echo', 'from-skopeo'], WorkingDir: '/tmp' } } });
    const archive = join(tmp, 'skopeo-save.tar');
    await exec('skopeo', ['--insecure-policy', 'copy', `oci:${layout}:v1`, `docker-archive:${archive}:example.com/team/bb:v1`]);
    const [image] = await store.importTar(archive);
    assert.ok(image);
    assert.deepEqual(image.repoTags, ['example.com/team/bb:v1']);
    assert.deepEqual(store.imageConfig('example.com/team/bb:v1').Cmd, ['echo', 'from-skopeo']);
    assert.equal(store.imageConfig('example.com/team/bb:v1').WorkingDir, '/tmp');
    // The same layer as the built-in image: unpacked once, shared.
    assert.equal(image.layers[0]!.diffId, store.status(BUILTIN_IMAGE)!.layers[0]!.diffId);
    await withRootfs('example.com/team/bb:v1', (rootfs) => {
      assert.equal(execFileSync('chroot', [rootfs, '/bin/busybox', 'echo', 'hi']).toString(), 'hi\n');
    });
  });

  test('legacy layout with gzip layers, symlinked layer files and whiteouts', async () => {
    const config = Buffer.from(JSON.stringify({
      architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/bin'], Entrypoint: ['/bin/sh'], User: '1000' },
      rootfs: { type: 'layers', diff_ids: [busybox, base, top].map(digestOf) },
    }));
    const configName = `${digestOf(config).slice(7)}.json`;
    const archive = writeTar([
      { name: 'manifest.json', data: Buffer.from(JSON.stringify([{ Config: configName, RepoTags: ['myapp:1.0', 'myapp:latest'], Layers: ['l0/layer.tar', 'l1/layer.tar', 'l2/layer.tar'] }])) },
      { name: configName, data: config },
      { name: 'l0/layer.tar', data: busybox },
      { name: 'l1/layer.tar', data: gzipSync(base) },
      { name: 'blobs/top', data: top },
      { name: 'l2/layer.tar', type: 'symlink', linkname: '../blobs/top' },
    ]);
    const file = join(tmp, 'legacy.tar');
    await writeFile(file, archive);
    const [image] = await store.importTar(file);
    assert.deepEqual(image?.repoTags, ['docker.io/library/myapp:1.0', 'docker.io/library/myapp:latest']);
    assert.equal(image.id, digestOf(config));
    assert.equal(store.status('myapp')?.id, image.id);
    assert.deepEqual(store.imageConfig('myapp:1.0').Entrypoint, ['/bin/sh']);
    assert.equal(image.layers[1]!.mediaType, 'application/vnd.docker.image.rootfs.diff.tar.gzip');

    await withRootfs('myapp:1.0', (rootfs) => {
      assert.ok(!existsSync(join(rootfs, 'etc', 'gone')), 'whiteout hides the lower file');
      assert.equal(readFileSync(join(rootfs, 'etc', 'keep'), 'utf8'), 'keep\n');
      assert.ok(!existsSync(join(rootfs, 'data', 'old')), 'opaque dir hides lower contents');
      const st = lstatSync(join(rootfs, 'data', 'new'));
      assert.equal(st.mode & 0o7777, 0o640);
      assert.equal(st.uid, 1000);
      assert.equal(st.gid, 2000);
      assert.equal(st.mtimeMs, 1_700_000_000_000);
      assert.equal(lstatSync(join(rootfs, 'data')).mode & 0o7777, 0o750);
      assert.equal(lstatSync(join(rootfs, 'data', 'new-link')).ino, st.ino, 'hardlink shares the inode');
      assert.equal(readlinkSync(join(rootfs, 'data', 'sym')), '../etc/keep');
      assert.equal(readFileSync(join(rootfs, 'deep', 'd'.repeat(90), 'f'.repeat(90)), 'utf8'), 'long name\n');
      assert.equal(execFileSync('chroot', [rootfs, '/bin/sh', '-c', 'ls -a /data; cat /data/sym']).toString(), '.\n..\nnew\nnew-link\nsym\nkeep\n');
    });
  });
});

describe('OCI image layouts', () => {
  test('a tarred layout imports by ref.name; an index resolves to this platform', async () => {
    const layout = join(tmp, 'layout-oci');
    await writeOciLayout(layout, {
      v2: { layers: [busybox, base, top], gzip: [1, 2] },
      multi: [
        { layers: [busybox], architecture: 'arm64', config: { Cmd: ['arm'] } },
        { layers: [busybox], architecture: 'amd64', config: { Cmd: ['amd'] } },
      ],
    });
    const file = join(tmp, 'My_Layout.tar');
    await exec('tar', ['-C', layout, '-cf', file, '.']);
    const images = await store.importTar(file);
    assert.deepEqual(images.map((i) => i.repoTags), [['skiff.local/my_layout:v2'], ['skiff.local/my_layout:multi']]);
    assert.deepEqual(store.imageConfig('skiff.local/my_layout:multi').Cmd, ['amd']);
    await withRootfs('skiff.local/my_layout:v2', (rootfs) => {
      assert.ok(!existsSync(join(rootfs, 'etc', 'gone')));
      assert.equal(execFileSync('chroot', [rootfs, '/bin/sh', '-c', 'ls /data']).toString(), 'new\nnew-link\nsym\n');
    });

    const named = await store.importTar(file, { baseName: 'registry.example/demo' });
    assert.deepEqual(named.map((i) => i.repoTags[0]), ['registry.example/demo:v2', 'registry.example/demo:multi']);
  });

  test('skopeo oci-archive with a full reference name', async () => {
    const layout = join(tmp, 'layout-for-archive');
    await writeOciLayout(layout, { src: { layers: [busybox], config: { Cmd: ['true'] } } });
    const file = join(tmp, 'oci-archive.tar');
    await exec('skopeo', ['--insecure-policy', 'copy', `oci:${layout}:src`, `oci-archive:${file}:quay.example/org/tool:2`]);
    const [image] = await store.importTar(file);
    assert.deepEqual(image?.repoTags, ['quay.example/org/tool:2']);
  });

  test('a blob that does not match its digest is refused', async () => {
    const layout = join(tmp, 'layout-bad');
    const digests = await writeOciLayout(layout, { bad: { layers: [base] } });
    const manifest = JSON.parse(readFileSync(join(layout, 'blobs', 'sha256', digests.bad!.slice(7)), 'utf8'));
    await writeFile(join(layout, 'blobs', 'sha256', manifest.layers[0].digest.slice(7)), top);
    const file = join(tmp, 'bad.tar');
    await exec('tar', ['-C', layout, '-cf', file, '.']);
    await assert.rejects(store.importTar(file), /digest mismatch/);
    assert.equal(store.status('skiff.local/bad:bad'), undefined);
  });
});

describe('auto-import', () => {
  test('start() makes the built-in image and imports <root>/images/import/*.tar', async () => {
    const root = join(tmp, 'auto');
    await mkdir(join(root, 'images', 'import'), { recursive: true });
    await copyFile(join(tmp, 'legacy.tar'), join(root, 'images', 'import', 'legacy.tar'));
    await writeFile(join(root, 'images', 'import', 'broken.tar'), 'not a tar');
    const logged: string[] = [];
    const fresh = new ImageStore(root, { log: (line) => logged.push(line) });
    await fresh.start();
    assert.deepEqual(fresh.list().flatMap((i) => i.repoTags).sort(),
      ['docker.io/library/myapp:1.0', 'docker.io/library/myapp:latest', BUILTIN_IMAGE]);
    assert.equal(logged.length, 1);
    assert.match(logged[0]!, /broken\.tar failed/);
  });
});
