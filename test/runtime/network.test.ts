// Pod networking through the Debian CNI plugins (bridge + host-local on a test-only bridge,
// no gateway, no masquerading: traffic stays between the pods' namespaces), runtime handlers,
// and the runtime's Status.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Code, CriError } from '../../src/cri/errors.ts';
import { run } from '../../src/runtime/command.ts';
import { containerConfig, podConfig, startHarness, type Harness } from './harness.ts';

const BRIDGE = 'skiffbr-test';
const confDir = `/tmp/skiff-cni-test-${process.pid}`;
let h: Harness;

before(async () => {
  await mkdir(confDir, { recursive: true });
  await writeFile(join(confDir, '10-skiff-test.conflist'), JSON.stringify({
    cniVersion: '1.0.0',
    name: 'skiff-test',
    plugins: [{
      type: 'bridge', bridge: BRIDGE, isGateway: false, ipMasq: false,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.99.0.0/24' }]], dataDir: join(confDir, 'ipam') },
    }],
  }));
  h = await startHarness({
    cniConfDir: confDir,
    handlers: { runc: { binary: '/usr/sbin/runc' }, runsc: { binary: '/nonexistent/runsc' } },
  });
  h.cleanup = ((inner) => async () => {
    try {
      await inner();
    } finally {
      await run('ip', ['link', 'delete', BRIDGE], { allowFailure: true });
      await run('rm', ['-rf', confDir]);
    }
  })(h.cleanup);
});

after(async () => { await h?.cleanup(); });

test('pods get IPs from the CNI network and reach each other over the bridge', async () => {
  const a = podConfig('net-a', h.dir);
  const b = podConfig('net-b', h.dir);
  const { pod_sandbox_id: podA } = await h.client.runPodSandbox({ config: a });
  const { pod_sandbox_id: podB } = await h.client.runPodSandbox({ config: b });
  const ipA = (await h.client.podSandboxStatus({ pod_sandbox_id: podA })).status?.network?.ip ?? '';
  const ipB = (await h.client.podSandboxStatus({ pod_sandbox_id: podB })).status?.network?.ip ?? '';
  assert.match(ipA, /^10\.99\.0\.\d+$/);
  assert.match(ipB, /^10\.99\.0\.\d+$/);
  assert.notEqual(ipA, ipB);

  const { container_id: id } = await h.client.createContainer({ pod_sandbox_id: podA, config: containerConfig('pinger', ['sleep', '30']), sandbox_config: a });
  await h.client.startContainer({ container_id: id });
  const addr = await h.client.execSync({ container_id: id, cmd: ['ip', 'addr', 'show', 'eth0'], timeout: 10 });
  assert.match(addr.stdout.toString(), new RegExp(`inet ${ipA.replaceAll('.', '\\.')}/24`));
  const hosts = await h.client.execSync({ container_id: id, cmd: ['cat', '/etc/hosts'], timeout: 10 });
  assert.match(hosts.stdout.toString(), new RegExp(`${ipA.replaceAll('.', '\\.')}\\s+net-a`));
  const ping = await h.client.execSync({ container_id: id, cmd: ['ping', '-c', '1', '-W', '2', ipB], timeout: 10 });
  assert.equal(ping.exit_code, 0, ping.stdout.toString() + ping.stderr.toString());

  // Stop runs CNI DEL: host-local releases the address (its reservation file goes).
  const reservation = join(confDir, 'ipam', 'skiff-test', ipB);
  await access(reservation);
  await h.client.stopPodSandbox({ pod_sandbox_id: podB });
  await assert.rejects(access(reservation));
  const { pod_sandbox_id: podC } = await h.client.runPodSandbox({ config: podConfig('net-c', h.dir) });
  assert.ok((await h.client.podSandboxStatus({ pod_sandbox_id: podC })).status?.network?.ip);
  for (const p of [podA, podB, podC]) await h.client.removePodSandbox({ pod_sandbox_id: p });
});

test('a runsc pod fails clearly when gVisor is not installed', async () => {
  await assert.rejects(h.client.runPodSandbox({ config: podConfig('gvisor', h.dir), runtime_handler: 'runsc' }), (e: unknown) => {
    assert.ok(e instanceof CriError);
    assert.equal(e.code, Code.FAILED_PRECONDITION);
    assert.match(e.message, /runsc.*not installed/);
    return true;
  });
  await assert.rejects(h.client.runPodSandbox({ config: podConfig('odd', h.dir), runtime_handler: 'kata' }),
    (e: unknown) => e instanceof CriError && e.code === Code.INVALID_ARGUMENT && /kata/.test(e.message));
});

test('Status reports the runtime and network ready and the installed handlers', async () => {
  await h.client.updateRuntimeConfig({ runtime_config: { network_config: { pod_cidr: '10.99.0.0/24' } } });
  const s = await h.client.status({ verbose: true });
  assert.deepEqual(s.status?.conditions.map((c) => [c.type, c.status]), [['RuntimeReady', true], ['NetworkReady', true]]);
  assert.deepEqual(s.runtime_handlers.map((r) => r.name), ['runc']);
  assert.match(s.info.config, /10\.99\.0\.0\/24/);
});
