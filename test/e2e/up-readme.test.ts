// The README's quick start, line by line, as a newcomer runs it: `./bin/skiff up` (on a temp data
// dir and a free port instead of /var/lib/skiff and 6443), then every line of the second block
// exactly as written, except for the kubeconfig path and port-forward's local port (8080 may be
// taken on a shared machine). Each line must succeed and print what a user expects.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/skiff-server.ts';
import { freePort, waitFor } from '../helpers/wait.ts';
import { runUp, stopProcess, type UpProcess } from '../agent/up-cluster.ts';
import { cleanupAgentDataDir } from '../agent/helpers.ts';

const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('\n## ', readme.indexOf('## Quick start') + 5));
const blocks = [...quickStart.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1].trim().split('\n'));

let dataDir: string;
let up: UpProcess | undefined;
const background: ChildProcess[] = [];

before(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'skiff-readme-'));
});

after(async () => {
  for (const p of background) if (p.exitCode === null) p.kill('SIGTERM');
  if (up) await stopProcess(up);
  await cleanupAgentDataDir(join(dataDir, 'agent')).catch(() => undefined);
  rmSync(dataDir, { recursive: true, force: true });
});

function bash(line: string, env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', line], { cwd: REPO, env, timeout: 180_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr }));
  });
}

test('the quick start: skiff up, then create, get, logs, exec and port-forward a Deployment', async () => {
  assert.equal(blocks.length, 2, 'two blocks: skiff up, then the kubectl lines');
  assert.deepEqual(blocks[0], ['./bin/skiff up']);
  const started = await runUp(['--data-dir', dataDir, '--port', '0']);
  up = started;
  assert.ok(started.ready, started.output());
  assert.match(started.output(), new RegExp(`export KUBECONFIG=${join(dataDir, 'kubeconfig')}`));

  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: '' };
  const expected: [RegExp, (out: string) => void][] = [
    [/^export KUBECONFIG=\/var\/lib\/skiff\/kubeconfig$/, () => undefined],
    [/^kubectl create deployment web --image=skiff\.local\/busybox:latest -- httpd -f -p 8080$/, (out) => assert.match(out, /deployment\.apps\/web created/)],
    [/^kubectl rollout status deployment\/web$/, (out) => assert.match(out, /deployment "web" successfully rolled out/)],
    [/^kubectl get pods -o wide$/, (out) => assert.match(out, /web-\S+\s+1\/1\s+Running\s+0\s+\S+\s+\d+\.\d+\.\d+\.\d+\s+\S+/)],
    [/^kubectl logs deployment\/web$/, () => undefined],
    [/^kubectl exec deployment\/web -- wget -qO- http:\/\/localhost:8080\/etc\/hostname$/, (out) => assert.match(out, /^web-\S+\n$/)],
    [/^kubectl port-forward deployment\/web 8080:8080 &$/, () => undefined],
    [/^curl -s --retry 10 --retry-connrefused http:\/\/localhost:8080\/etc\/hostname$/, (out) => assert.match(out, /^web-\S+\n$/)],
  ];
  assert.equal(blocks[1].length, expected.length, `the second block:\n${blocks[1].join('\n')}`);
  for (const [i, written] of blocks[1].entries()) {
    assert.match(written, expected[i][0]);
    const line = written.replace('/var/lib/skiff/kubeconfig', join(dataDir, 'kubeconfig'))
      .replace('port-forward deployment/web 8080:8080', `port-forward deployment/web ${port}:8080`)
      .replace('curl -s --retry 10 --retry-connrefused http://localhost:8080/', `curl -s --retry 10 --retry-connrefused http://localhost:${port}/`);
    if (line.startsWith('export KUBECONFIG=')) {
      env.KUBECONFIG = line.slice('export KUBECONFIG='.length);
      continue;
    }
    if (line.endsWith('&')) {
      const child = spawn('bash', ['-c', `exec ${line.slice(0, -1).trim()}`], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
      background.push(child);
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (out += d));
      await waitFor(`${written} to start forwarding`, () => /Forwarding from/.test(out) || (child.exitCode !== null && Promise.reject(new Error(out))), 60_000, 100);
      continue;
    }
    const r = await bash(line, env);
    assert.equal(r.code, 0, `${written} failed:\n${r.out}`);
    expected[i][1](r.out);
  }
});
