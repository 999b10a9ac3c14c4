// hostPort through Debian's CNI portmap plugin: RunPodSandbox's port_mappings reach the plugins
// whose config declares the portMappings capability, as runtimeConfig.portMappings; portmap's
// iptables NAT rules then carry a host port to the pod, and CNI DEL takes them away.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cniAdd, cniDel } from '../../src/runtime/cni.ts';
import { run } from '../../src/runtime/command.ts';
import { freePort } from '../helpers/wait.ts';
import { containerConfig, eventually, podConfig, startHarness, type Harness } from './harness.ts';

const BRIDGE = 'skiffpm-test';
const GATEWAY = '10.42.231.1';
const confDir = `/tmp/skiff-portmap-test-${process.pid}`;
const SHARED_CHAINS = ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-SETMARK', 'CNI-HOSTPORT-MASQ'];
let h: Harness;
let natBefore: string[];

async function natRules(): Promise<string[]> {
  return (await run('iptables', ['-w', '-t', 'nat', '-S'])).stdout.toString().split('\n').filter(Boolean);
}

before(async () => {
  natBefore = await natRules();
  await mkdir(confDir, { recursive: true });
  await writeFile(join(confDir, '10-skiff-portmap.conflist'), JSON.stringify({
    cniVersion: '1.0.0',
    name: 'skiff-portmap',
    plugins: [
      {
        // The bridge gets the gateway address: portmap masquerades host-loopback clients to it.
        type: 'bridge', bridge: BRIDGE, isGateway: true, ipMasq: false,
        ipam: { type: 'host-local', ranges: [[{ subnet: '10.42.231.0/24', gateway: GATEWAY }]], dataDir: join(confDir, 'ipam') },
      },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    ],
  }));
  h = await startHarness({ cniConfDir: confDir });
});

after(async () => {
  try {
    await h?.cleanup();
  } finally {
    await run('ip', ['link', 'delete', BRIDGE], { allowFailure: true });
    await run('rm', ['-rf', confDir]);
    await removeSharedChainsIfOurs();
  }
});

/**
 * portmap leaves its shared chains (and the jumps to them) behind on DEL, by design: they serve
 * every pod. If they were not there before this test and no pod's rules are in them now, they are
 * this test's, and go.
 */
async function removeSharedChainsIfOurs(): Promise<void> {
  if (natBefore.some((l) => SHARED_CHAINS.some((c) => l === `-N ${c}`))) return;
  const now = await natRules();
  if (now.some((l) => /^-A CNI-HOSTPORT-DNAT /.test(l) || /^-N CNI-DN-/.test(l))) return;
  for (const line of now) {
    const m = /^-A (PREROUTING|OUTPUT|POSTROUTING) (.*-j (CNI-HOSTPORT-\w+).*)$/.exec(line);
    if (m) await run('iptables', ['-w', '-t', 'nat', '-D', m[1], ...splitRule(m[2])], { allowFailure: true });
  }
  for (const c of SHARED_CHAINS) {
    await run('iptables', ['-w', '-t', 'nat', '-F', c], { allowFailure: true });
    await run('iptables', ['-w', '-t', 'nat', '-X', c], { allowFailure: true });
  }
}

/** iptables -S output back into arguments (quoted comments stay one argument). */
function splitRule(rule: string): string[] {
  return [...rule.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => m[1] !== undefined ? m[1].replace(/\\"/g, '"') : m[2]);
}

async function get(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return `${res.status} ${await res.text()}`;
}

test('a hostPort reaches the container\'s port, and RemovePodSandbox takes the NAT rules away', { timeout: 180_000 }, async () => {
  const hostPort = await freePort();
  const config = podConfig('web-pm', h.dir, {
    port_mappings: [
      { protocol: 'TCP', container_port: 8080, host_port: hostPort, host_ip: '' },
      // No hostPort: not published (containerd does the same).
      { protocol: 'TCP', container_port: 9090, host_port: 0, host_ip: '' },
    ],
  });
  const { pod_sandbox_id: podId } = await h.client.runPodSandbox({ config });
  const podIp = (await h.client.podSandboxStatus({ pod_sandbox_id: podId })).status?.network?.ip ?? '';
  assert.match(podIp, /^10\.42\.231\.\d+$/);

  // portmap jumps from its shared CNI-HOSTPORT-DNAT chain (rule commented with the sandbox id) to
  // a chain of the pod's own holding the DNAT rules.
  const nat = await natRules();
  const jump = nat.find((l) => l.startsWith('-A CNI-HOSTPORT-DNAT ') && l.includes(podId)) ?? '';
  assert.match(jump, new RegExp(`--dports ${hostPort} -j CNI-DN-`), `a jump for ${hostPort} in:\n${nat.join('\n')}`);
  const podChain = / -j (CNI-DN-\w+)/.exec(jump)?.[1] ?? '';
  const dnat = nat.filter((l) => l.startsWith(`-A ${podChain} `));
  assert.ok(dnat.some((l) => l.includes(`--dport ${hostPort}`) && l.includes(`--to-destination ${podIp}:8080`)),
    `a DNAT rule ${hostPort} -> ${podIp}:8080 in:\n${dnat.join('\n')}`);
  assert.ok(!nat.some((l) => l.includes('9090')), 'a port without hostPort is not published');

  const { container_id: id } = await h.client.createContainer({
    pod_sandbox_id: podId, sandbox_config: config,
    config: containerConfig('httpd', ['sh', '-c', 'mkdir -p /www && echo hello-from-pod > /www/index.html && exec httpd -f -p 8080 -h /www']),
  });
  await h.client.startContainer({ container_id: id });

  // The host's loopback and the bridge's own address both lead to the pod.
  for (const host of ['127.0.0.1', GATEWAY]) {
    const body = await eventually(`GET http://${host}:${hostPort}/`, () => get(`http://${host}:${hostPort}/`), 30_000);
    assert.equal(body, '200 hello-from-pod\n');
  }

  await h.client.stopPodSandbox({ pod_sandbox_id: podId });
  await h.client.removePodSandbox({ pod_sandbox_id: podId });
  const after = await natRules();
  assert.deepEqual(after.filter((l) => l.includes(podId) || l.includes(podChain) || new RegExp(`--dports? ${hostPort}\\b`).test(l)), [], 'no rule of the pod is left');
  await assert.rejects(get(`http://127.0.0.1:${hostPort}/`));
});

test('runtimeConfig.portMappings goes only to plugins declaring the capability, on ADD and DEL', async () => {
  // A plugin that records the config it was given and answers with an empty result.
  const bin = join(confDir, 'record-bin');
  await mkdir(bin, { recursive: true });
  const script = '#!/bin/sh\ncat > "$(dirname "$0")/$CNI_COMMAND.$(basename "$0").json"\necho \'{"cniVersion":"1.0.0"}\'\n';
  for (const name of ['skiff-with', 'skiff-without']) await writeFile(join(bin, name), script, { mode: 0o755 });
  const net = {
    cniVersion: '1.0.0', name: 'skiff-record', file: 'test',
    plugins: [{ type: 'skiff-with', capabilities: { portMappings: true } }, { type: 'skiff-without' }],
  };
  const pod = {
    containerId: 'skiff-record-test', netnsPath: '/nonexistent',
    portMappings: [{ hostPort: 8081, containerPort: 80, protocol: 'tcp' }],
  };
  await cniAdd(net, pod, [bin]);
  await cniDel(net, pod, undefined, [bin]);
  for (const command of ['ADD', 'DEL']) {
    const withCap = JSON.parse(await readFile(join(bin, `${command}.skiff-with.json`), 'utf8'));
    assert.deepEqual(withCap.runtimeConfig, { portMappings: pod.portMappings });
    const withoutCap = JSON.parse(await readFile(join(bin, `${command}.skiff-without.json`), 'utf8'));
    assert.equal(withoutCap.runtimeConfig, undefined);
  }
  // No mappings: no runtimeConfig even for the capable plugin.
  await cniAdd(net, { ...pod, portMappings: [] }, [bin]);
  assert.equal(JSON.parse(await readFile(join(bin, 'ADD.skiff-with.json'), 'utf8')).runtimeConfig, undefined);
});
