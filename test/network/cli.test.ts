// `skiff network` as its own process, programming one node namespace of the harness.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { Node } from 'kubernetes-types/core/v1.d.ts';
import { R } from '../../src/client/resources.ts';
import { RestClient } from '../../src/client/rest.ts';
import { run } from '../../src/runtime/command.ts';
import { createMultiNode, type MultiNode } from '../helpers/multinode.ts';
import { SKIFF, startServer, type TestServer } from '../helpers/skiff-server.ts';
import { waitFor } from '../helpers/wait.ts';

describe('skiff network', { timeout: 120_000 }, () => {
  let server: TestServer;
  let client: RestClient;
  let mn: MultiNode;
  before(async () => {
    server = await startServer();
    client = RestClient.fromKubeconfig(server.kubeconfig);
    mn = await createMultiNode({ nodes: 1 });
    await client.create<Node>(R.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: mn.nodes[0].name } });
  });
  after(async () => {
    await mn?.cleanup();
    await client?.close();
    await server?.cleanup();
  });

  it('programs the namespace until SIGTERM, leaves it programmed, and --teardown removes it', async () => {
    const n = mn.nodes[0];
    const proc = spawn(SKIFF, ['network', '--kubeconfig', server.kubeconfig, '--node-name', n.name, '--underlay-ip', n.underlayIp, '--netns', n.netns],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    try {
      await waitFor('skiff network to report the pod network ready', () => /pod network of node .* ready \(vxlan, podCIDR 10\.42\.\d+\.0\/24, mtu 1450\)/.test(out), 60_000, 100)
        .catch((e: Error) => { throw new Error(`${e.message}\n${out}`); });
    } finally {
      proc.kill('SIGTERM');
    }
    assert.equal(await exited, 0, out);
    assert.equal((await mn.exec(0, '/usr/sbin/ip', ['link', 'show', 'dev', 'skiff.1'])).code, 0, 'skiff.1 stays after the agent stops');
    const node = await client.get<Node>(R.nodes, n.name);
    assert.equal(node.metadata?.annotations?.['flannel.alpha.coreos.com/backend-type'], 'vxlan');

    const td = await run(SKIFF, ['network', '--teardown', '--netns', n.netns]);
    assert.match(td.stdout.toString(), /removed link skiff\.1, link skiff0, nft table ip skiff-nat, route unreachable 10\.42\.0\.0\/16, route unreachable 10\.43\.0\.0\/16/);
    assert.equal((await mn.exec(0, '/usr/sbin/ip', ['link', 'show', 'dev', 'skiff.1'])).code, 1);
  });

  it('rejects a bad backend or underlay IP in one line', async () => {
    const bad = await run(SKIFF, ['network', '--backend', 'flannel', '--underlay-ip', '192.168.77.11'], { allowFailure: true });
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.toString().trim(), 'skiff: --backend must be vxlan or host-gw, got "flannel"');
    const noIp = await run(SKIFF, ['network'], { allowFailure: true });
    assert.equal(noIp.code, 2);
    assert.match(noIp.stderr.toString(), /--underlay-ip must be/);
  });
});
