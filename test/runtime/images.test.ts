// Image store: references, the built-in busybox image, overlay rootfs mounts, removal, fs usage.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readlinkSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageStore, imageServiceHandlers, normalizeReference, BUILTIN_IMAGE } from '../../src/runtime/images/index.ts';
import { mountPoints } from '../helpers/mounts.ts';

const ctx = { signal: new AbortController().signal, rpc: 'test' };
let tmp: string;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'skiff-images-'));
});

after(async () => {
  // Every overlay a test left behind goes, deepest first, before the temp dir does.
  const leftovers = [...(await mountPoints())].filter((p) => p.startsWith(tmp)).sort().reverse();
  for (const p of leftovers) execFileSync('umount', [p]);
  await rm(tmp, { recursive: true, force: true });
  assert.deepEqual(leftovers, [], 'tests left mounts behind');
});

describe('image references', () => {
  test('normalize as Docker and containerd do', () => {
    assert.equal(normalizeReference('busybox'), 'docker.io/library/busybox:latest');
    assert.equal(normalizeReference('busybox:1.36'), 'docker.io/library/busybox:1.36');
    assert.equal(normalizeReference('library/busybox'), 'docker.io/library/busybox:latest');
    assert.equal(normalizeReference('bitnami/redis:7'), 'docker.io/bitnami/redis:7');
    assert.equal(normalizeReference('index.docker.io/library/nginx'), 'docker.io/library/nginx:latest');
    assert.equal(normalizeReference('skiff.local/busybox:latest'), 'skiff.local/busybox:latest');
    assert.equal(normalizeReference('localhost/foo'), 'localhost/foo:latest');
    assert.equal(normalizeReference('127.0.0.1:5000/team/app:v1'), '127.0.0.1:5000/team/app:v1');
    const digest = `sha256:${'a'.repeat(64)}`;
    assert.equal(normalizeReference(`nginx@${digest}`), `docker.io/library/nginx@${digest}`);
    assert.equal(normalizeReference(`nginx:1.25@${digest}`), `docker.io/library/nginx:1.25@${digest}`);
    assert.throws(() => normalizeReference('Busybox'), /invalid image reference "Busybox"/);
    assert.throws(() => normalizeReference('nginx@sha256:abc'), /digest/);
    assert.throws(() => normalizeReference(''), /empty/);
  });
});

describe('built-in busybox image', () => {
  test('is made from the host busybox, the same every time', async () => {
    const a = new ImageStore(join(tmp, 'a'));
    const b = new ImageStore(join(tmp, 'b'));
    await a.ensureBuiltin();
    await b.ensureBuiltin();
    await a.ensureBuiltin(); // again: no second image
    const [image] = a.list();
    assert.equal(a.list().length, 1);
    assert.ok(image);
    assert.deepEqual(image.repoTags, [BUILTIN_IMAGE]);
    assert.equal(image.repoDigests[0], `skiff.local/busybox@${image.manifestDigest}`);
    assert.equal(b.status(BUILTIN_IMAGE)?.manifestDigest, image.manifestDigest, 'manifest digest differs between two builds');
    assert.equal(b.status(BUILTIN_IMAGE)?.id, image.id);
    assert.equal(a.status('skiff.local/busybox')?.id, image.id);
    assert.equal(a.status(image.id)?.id, image.id, 'found by image id');
    assert.equal(a.status(`skiff.local/busybox@${image.manifestDigest}`)?.id, image.id, 'found by digest');
    assert.equal(a.status('busybox'), undefined, 'docker.io/library/busybox is another image');
    assert.ok(image.pinned);

    const config = a.imageConfig(BUILTIN_IMAGE);
    assert.deepEqual(config.Cmd, ['sh']);
    assert.match(config.Env?.[0] ?? '', /^PATH=.*\/bin/);

    // The unpacked layer holds busybox, its applets as symlinks, and the base files.
    const layer = join(tmp, 'a', 'images', 'layers', 'sha256', image.layers[0]!.diffId.slice(7));
    assert.deepEqual(readFileSync(join(layer, 'bin', 'busybox')), readFileSync('/bin/busybox'));
    assert.equal(lstatSync(join(layer, 'bin', 'busybox')).mode & 0o7777, 0o755);
    assert.equal(readlinkSync(join(layer, 'bin', 'sh')), 'busybox');
    assert.equal(readlinkSync(join(layer, 'bin', 'wget')), 'busybox');
    assert.match(readFileSync(join(layer, 'etc', 'passwd'), 'utf8'), /^root:x:0:0:.*\nnobody:x:65534:/);
    assert.match(readFileSync(join(layer, 'etc', 'group'), 'utf8'), /^root:x:0:/);
    assert.equal(lstatSync(join(layer, 'tmp')).mode & 0o7777, 0o1777);
    assert.ok(lstatSync(join(layer, 'var', 'www')).isDirectory());
    assert.ok(lstatSync(join(layer, 'root')).isDirectory());
    assert.equal(lstatSync(join(layer, 'etc', 'passwd')).mtimeMs, 0, 'fixed mtimes');
  });
});

describe('container rootfs', () => {
  test('overlay mount runs busybox; writes stay in the container', async () => {
    const store = new ImageStore(join(tmp, 'mounts'));
    await store.ensureBuiltin();
    const one = await store.mountRootfs(BUILTIN_IMAGE, 'one');
    const two = await store.mountRootfs('skiff.local/busybox:latest', 'two');
    try {
      assert.equal(one.target, join(tmp, 'mounts', 'containers', 'one', 'rootfs'));
      assert.equal(one.lower.length, 1);
      assert.deepEqual(one.lower, two.lower, 'layers are shared');
      assert.ok((await mountPoints()).has(one.target));
      assert.equal(execFileSync('chroot', [one.target, '/bin/busybox', 'echo', 'hi']).toString(), 'hi\n');
      assert.equal(execFileSync('chroot', [one.target, 'sh', '-c', 'echo data > /tmp/f && cat /tmp/f && id -u']).toString(), 'data\n0\n');

      assert.equal(readFileSync(join(one.upper, 'tmp', 'f'), 'utf8'), 'data\n', 'write lands in the upperdir');
      assert.ok(!existsSync(join(two.target, 'tmp', 'f')), 'other container does not see it');
      assert.ok(!existsSync(join(one.lower[0]!, 'tmp', 'f')), 'image layer untouched');

      // Idempotent: mounting again is a no-op, not a second mount.
      await store.mountRootfs(BUILTIN_IMAGE, 'one');
      const stacked = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4] === one.target);
      assert.equal(stacked.length, 1);
    } finally {
      await store.unmountRootfs('one');
      await store.unmountRootfs('one');
      await store.removeRootfs('two');
    }
    assert.ok(!(await mountPoints()).has(one.target));
    assert.ok(existsSync(join(one.upper, 'tmp', 'f')), 'unmount keeps the upperdir');
    assert.ok(!existsSync(join(tmp, 'mounts', 'containers', 'two', 'overlay')), 'removeRootfs deletes the upperdir');
    await store.removeRootfs('one');
    await assert.rejects(store.mountRootfs('nosuch:image', 'three'), /image "nosuch:image" not found/);
  });

  test('removing an image keeps layers a container still stacks', async () => {
    const store = new ImageStore(join(tmp, 'remove'));
    await store.ensureBuiltin();
    const image = store.status(BUILTIN_IMAGE)!;
    const rootfs = await store.prepareRootfs(BUILTIN_IMAGE, 'user');
    await store.remove(BUILTIN_IMAGE);
    assert.equal(store.status(BUILTIN_IMAGE), undefined);
    assert.equal(store.list().length, 0);
    assert.ok(!existsSync(store.blobs.path(image.manifestDigest)), 'manifest blob deleted');
    assert.ok(!existsSync(store.blobs.path(image.layers[0]!.digest)), 'layer blob deleted');
    assert.ok(existsSync(rootfs.lower[0]!), 'unpacked layer kept for the container');
    await store.remove(BUILTIN_IMAGE); // idempotent

    // The index is on disk: a new store sees the same (empty) list, and the image comes back.
    assert.equal(new ImageStore(join(tmp, 'remove')).list().length, 0);
    await store.removeRootfs('user');
    assert.ok(!existsSync(rootfs.lower[0]!), 'unpacked layer deleted with its last container');
    await store.ensureBuiltin();
    assert.equal(new ImageStore(join(tmp, 'remove')).status(BUILTIN_IMAGE)?.id, image.id);
  });

  test('a tampered blob is refused', async () => {
    const store = new ImageStore(join(tmp, 'tamper'));
    await assert.rejects(store.blobs.put(Buffer.from('x'), `sha256:${'0'.repeat(64)}`), /digest mismatch/);
  });
});

describe('CRI ImageService handlers', () => {
  test('list, status, remove, fs info', async () => {
    const store = new ImageStore(join(tmp, 'cri'));
    await store.ensureBuiltin();
    const cri = imageServiceHandlers(store);
    const listed = await cri.listImages({ filter: null }, ctx);
    assert.equal(listed.images?.length, 1);
    const image = listed.images![0]!;
    assert.deepEqual(image.repo_tags, [BUILTIN_IMAGE]);
    assert.match(image.id ?? '', /^sha256:[a-f0-9]{64}$/);
    assert.equal(image.uid?.value, 0);
    assert.ok((image.size ?? 0) > 1_000_000, 'size counts the busybox layer');

    const filtered = await cri.listImages({ filter: { image: { image: 'busybox' } as never } }, ctx);
    assert.equal(filtered.images?.length, 0);
    const status = await cri.imageStatus({ image: { image: 'skiff.local/busybox' } as never, verbose: false }, ctx);
    assert.equal(status.image?.id, image.id);
    const missing = await cri.imageStatus({ image: { image: 'nginx' } as never, verbose: false }, ctx);
    assert.equal(missing.image, null);

    const fs = await cri.imageFsInfo({}, ctx);
    const usage = fs.image_filesystems![0]!;
    assert.equal(usage.fs_id?.mountpoint, join(tmp, 'cri', 'images'));
    // Blob and unpacked layer each hold busybox (~2 MB).
    assert.ok((usage.used_bytes?.value ?? 0) > 2 * 1_900_000, `used_bytes ${usage.used_bytes?.value}`);
    assert.ok((usage.inodes_used?.value ?? 0) > 200, `inodes_used ${usage.inodes_used?.value}`);
    assert.ok((usage.timestamp ?? 0) > 1e18);

    await cri.removeImage({ image: { image: image.id } as never }, ctx);
    assert.equal((await cri.listImages({ filter: null }, ctx)).images?.length, 0);
    const after = (await cri.imageFsInfo({}, ctx)).image_filesystems![0]!;
    assert.ok((after.used_bytes?.value ?? 0) < 100_000, `used_bytes after removal ${after.used_bytes?.value}`);
  });
});

