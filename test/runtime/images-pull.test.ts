// Pulling from a real registry (Debian's docker-registry on loopback), pushed to with skopeo:
// by tag, by digest, through an index, Docker v2 manifests, Basic auth, and a Bearer token flow
// against a token server (and an auth-enforcing front) written here.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageStore, imageServiceHandlers } from '../../src/runtime/images/index.ts';
import { Code, CriError } from '../../src/cri/errors.ts';
import { mountPoints } from '../helpers/mounts.ts';
import { writeTar } from '../../src/runtime/images/tar.ts';
import { busyboxLayer, exec, freePort, waitFor, writeOciLayout } from './images-fixtures.ts';

const ctx = { signal: new AbortController().signal, rpc: 'test' };
const ACCEPT = 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json';
let tmp: string;
let layout: string;
const registries: ChildProcess[] = [];
let open: string; // host:port, no auth
let basic: string; // host:port, htpasswd auth
let bearer: string; // host:port, our Bearer front for `open`
let front: Server;
const tokenRequests: URL[] = [];
const blobGets: string[] = [];

async function startRegistry(name: string, auth = ''): Promise<string> {
  const port = await freePort();
  const config = join(tmp, `${name}.yml`);
  await writeFile(config, [
    'version: 0.1', 'log:', '  level: error', 'storage:', '  filesystem:', `    rootdirectory: ${join(tmp, name)}`,
    'http:', `  addr: 127.0.0.1:${port}`, '  secret: skiff-test', auth,
  ].join('\n'));
  const child = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  registries.push(child);
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/v2/`)).status < 500, `registry ${name}: ${stderr}`);
  return `127.0.0.1:${port}`;
}

async function push(tag: string, dest: string, extra: string[] = []): Promise<void> {
  await exec('skopeo', ['--insecure-policy', 'copy', '--dest-tls-verify=false', ...extra, `oci:${layout}:${tag}`, `docker://${dest}`]);
}

/** The digest the registry serves for a manifest. */
async function digestOf(host: string, repo: string, ref: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`http://${host}/v2/${repo}/manifests/${ref}`, { method: 'HEAD', headers: { accept: ACCEPT, ...headers } });
  assert.equal(res.status, 200);
  return res.headers.get('docker-content-digest')!;
}

/** Requires `Bearer good-token`, challenges otherwise, and forwards to the open registry; /token hands tokens out. */
function startBearerFront(port: number): Server {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url!, `http://127.0.0.1:${port}`);
    if (url.pathname === '/token') {
      tokenRequests.push(url);
      const ok = req.headers.authorization === `Basic ${Buffer.from('tok-user:tok-pass').toString('base64')}`;
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ok ? { token: 'good-token', expires_in: 300 } : { errors: [{ code: 'UNAUTHORIZED' }] }));
      return;
    }
    if (req.headers.authorization !== 'Bearer good-token') {
      const repo = /^\/v2\/(.+)\/(manifests|blobs)\//.exec(url.pathname)?.[1] ?? '';
      res.writeHead(401, {
        'www-authenticate': `Bearer realm="http://127.0.0.1:${port}/token",service="skiff-test",scope="repository:${repo}:pull"`,
        'content-type': 'application/json',
      });
      res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    if (url.pathname.includes('/blobs/')) blobGets.push(url.pathname);
    const upstream = await fetch(`http://${open}${url.pathname}`, { headers: { accept: req.headers.accept ?? '*/*' } });
    const headers: Record<string, string> = {};
    for (const h of ['content-type', 'docker-content-digest', 'content-length']) {
      const v = upstream.headers.get(h);
      if (v) headers[h] = v;
    }
    res.writeHead(upstream.status, headers);
    res.end(Buffer.from(await upstream.arrayBuffer()));
  });
  server.listen(port, '127.0.0.1');
  return server;
}

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'skiff-pull-'));
  const seed = new ImageStore(join(tmp, 'seed'));
  await seed.ensureBuiltin();
  const busybox = await busyboxLayer(seed);
  const extra = writeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/motd', data: Buffer.from('pulled\n') }]);
  layout = join(tmp, 'layout');
  await writeOciLayout(layout, {
    v1: { layers: [busybox, extra], gzip: [1], config: { Cmd: ['cat', '/etc/motd'], Env: ['PATH=/bin'], ExposedPorts: { '80/tcp': {} } } },
    v2: { layers: [busybox], config: { Cmd: ['v2'] } },
    multi: [
      { layers: [busybox], architecture: 'arm64', config: { Cmd: ['arm'] } },
      { layers: [busybox], architecture: 'amd64', config: { Cmd: ['amd'] } },
    ],
  });
  open = await startRegistry('open');
  const htpasswd = join(tmp, 'htpasswd');
  await writeFile(htpasswd, execFileSync('htpasswd', ['-Bbn', 'alice', 's3cret']));
  basic = await startRegistry('basic', `auth:\n  htpasswd:\n    realm: basic-realm\n    path: ${htpasswd}`);
  const port = await freePort();
  front = startBearerFront(port);
  bearer = `127.0.0.1:${port}`;

  await push('v1', `${open}/team/app:v1`);
  await push('v2', `${open}/team/app:v2`);
  await push('v1', `${open}/team/docker:v1`, ['--format', 'v2s2']);
  await push('multi', `${open}/team/multi:latest`, ['--all']);
  await push('v1', `${basic}/private/app:v1`, ['--dest-creds', 'alice:s3cret']);
});

after(async () => {
  const leftovers = [...(await mountPoints())].filter((p) => p.startsWith(tmp)).sort().reverse();
  for (const p of leftovers) execFileSync('umount', [p]);
  for (const child of registries) {
    child.kill();
    if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
  }
  await new Promise((r) => front?.close(r));
  await rm(tmp, { recursive: true, force: true });
  assert.deepEqual(leftovers, [], 'tests left mounts behind');
});

describe('pull from a registry', () => {
  test('by tag: names, config, and a rootfs that runs', async () => {
    const store = new ImageStore(join(tmp, 'tag'));
    const image = await store.pull(`${open}/team/app:v1`);
    const digest = await digestOf(open, 'team/app', 'v1');
    assert.deepEqual(image.repoTags, [`${open}/team/app:v1`]);
    assert.deepEqual(image.repoDigests, [`${open}/team/app@${digest}`]);
    assert.equal(image.manifestDigest, digest);
    const config = store.imageConfig(`${open}/team/app:v1`);
    assert.deepEqual(config.Cmd, ['cat', '/etc/motd']);
    assert.deepEqual(config.ExposedPorts, { '80/tcp': {} });
    assert.equal(image.layers.length, 2);

    const { target } = await store.mountRootfs(`${open}/team/app:v1`, 'web');
    try {
      assert.equal(execFileSync('chroot', [target, '/bin/busybox', 'cat', '/etc/motd']).toString(), 'pulled\n');
      assert.equal(execFileSync('chroot', [target, '/bin/busybox', 'echo', 'hi']).toString(), 'hi\n');
    } finally {
      await store.removeRootfs('web');
    }

    // Pulling again is cheap and changes nothing; a new tag of other content moves nothing else.
    assert.equal((await store.pull(`${open}/team/app:v1`)).id, image.id);
    await store.pull(`${open}/team/app:v2`);
    assert.equal(store.list().length, 2);
  });

  test('by digest, and by tag+digest', async () => {
    const store = new ImageStore(join(tmp, 'digest'));
    const digest = await digestOf(open, 'team/app', 'v1');
    const image = await store.pull(`${open}/team/app@${digest}`);
    assert.deepEqual(image.repoTags, []);
    assert.deepEqual(image.repoDigests, [`${open}/team/app@${digest}`]);
    assert.equal(store.status(`${open}/team/app@${digest}`)?.id, image.id);
    assert.equal(store.status(`${open}/team/app:v1`), undefined, 'no tag was pulled');
    assert.equal((await store.pull(`${open}/team/app:v1@${digest}`)).id, image.id);
    await assert.rejects(store.pull(`${open}/team/app@sha256:${'0'.repeat(64)}`), /404/);
  });

  test('an index resolves to linux/amd64; Docker v2 manifests work too', async () => {
    const store = new ImageStore(join(tmp, 'index'));
    const image = await store.pull(`${open}/team/multi`);
    const indexDigest = await digestOf(open, 'team/multi', 'latest');
    assert.deepEqual(store.imageConfig(`${open}/team/multi:latest`).Cmd, ['amd']);
    assert.deepEqual(image.repoDigests, [`${open}/team/multi@${indexDigest}`], 'repo digest is the index digest');
    assert.notEqual(image.manifestDigest, indexDigest);

    const docker = await store.pull(`${open}/team/docker:v1`);
    assert.equal(docker.layers[1]!.mediaType, 'application/vnd.docker.image.rootfs.diff.tar.gzip');
    assert.deepEqual(store.imageConfig(`${open}/team/docker:v1`).Cmd, ['cat', '/etc/motd']);
  });

  test('CRI PullImage answers NotFound for an unknown repository, then RemoveImage', async () => {
    const store = new ImageStore(join(tmp, 'cri'));
    const cri = imageServiceHandlers(store);
    const pulled = await cri.pullImage({ image: { image: `${open}/team/app:v1` } as never, auth: null, sandbox_config: null }, ctx);
    assert.match(pulled.image_ref ?? '', /^sha256:/);
    await assert.rejects(
      async () => cri.pullImage({ image: { image: `${open}/team/nothing:v1` } as never, auth: null, sandbox_config: null }, ctx),
      (err: unknown) => err instanceof CriError && err.code === Code.NOT_FOUND,
    );
    const image = store.status(`${open}/team/app:v1`)!;
    await cri.removeImage({ image: { image: `${open}/team/app:v1` } as never }, ctx);
    assert.equal(store.list().length, 0);
    assert.equal(await store.blobs.has(image.layers[1]!.digest), false);
    assert.deepEqual(await store.blobs.list(), []);
  });
});

describe('registry auth', () => {
  test('Basic: refused without credentials, accepted with username/password or auth', async () => {
    const store = new ImageStore(join(tmp, 'basic'));
    await assert.rejects(store.pull(`${basic}/private/app:v1`), /requires credentials/);
    await assert.rejects(store.pull(`${basic}/private/app:v1`, { username: 'alice', password: 'wrong' }), /401/);
    const image = await store.pull(`${basic}/private/app:v1`, { username: 'alice', password: 's3cret' });
    assert.deepEqual(image.repoTags, [`${basic}/private/app:v1`]);
    await store.remove(image.id);
    const again = await store.pull(`${basic}/private/app:v1`, { auth: Buffer.from('alice:s3cret').toString('base64') });
    assert.equal(again.id, image.id);
  });

  test('Bearer: token from the realm with the scope; shared layers fetched once', async () => {
    const store = new ImageStore(join(tmp, 'bearer'));
    tokenRequests.length = 0;
    await assert.rejects(store.pull(`${bearer}/team/app:v1`), /token server .* answered 401/);
    const creds = { username: 'tok-user', password: 'tok-pass' };

    blobGets.length = 0;
    const [one, two] = await Promise.all([store.pull(`${bearer}/team/app:v1`, creds), store.pull(`${bearer}/team/app:v2`, creds)]);
    assert.notEqual(one.id, two.id);
    assert.equal(one.layers[0]!.digest, two.layers[0]!.digest);
    const sharedGets = blobGets.filter((p) => p.endsWith(one.layers[0]!.digest));
    assert.equal(sharedGets.length, 1, `shared layer fetched ${sharedGets.length} times`);
    const last = tokenRequests.at(-1)!;
    assert.equal(last.searchParams.get('service'), 'skiff-test');
    assert.equal(last.searchParams.get('scope'), 'repository:team/app:pull');

    // A registry token from AuthConfig is used as-is: no token request.
    const before = tokenRequests.length;
    const other = new ImageStore(join(tmp, 'bearer-token'));
    assert.equal((await other.pull(`${bearer}/team/app:v1`, { registry_token: 'good-token' })).id, one.id);
    assert.equal(tokenRequests.length, before);
  });
});
