// Real sandboxes and containers (runc under conmon) driven through the CRI client: lifecycle,
// logs, exit codes, ExecSync, stop with grace period, PID/UTS namespaces, NotFound.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Code, CriError } from '../../src/cri/errors.ts';
import { containerConfig, eventually, podConfig, startHarness, type Harness } from './harness.ts';

let h: Harness;
let podId: string;
const pod = () => podConfig('web', h.dir);

before(async () => {
  h = await startHarness();
  ({ pod_sandbox_id: podId } = await h.client.runPodSandbox({ config: pod(), runtime_handler: '' }));
});

after(async () => { await h?.cleanup(); });

async function run(name: string, command: string[], extra: Record<string, unknown> = {}): Promise<string> {
  const { container_id: id } = await h.client.createContainer({ pod_sandbox_id: podId, config: containerConfig(name, command, extra), sandbox_config: pod() });
  await h.client.startContainer({ container_id: id });
  return id;
}

async function exited(id: string) {
  return eventually(`container ${id} to exit`, async () => {
    const { status } = await h.client.containerStatus({ container_id: id });
    return status?.state === 'CONTAINER_EXITED' ? status : undefined;
  });
}

test('the sandbox is ready, with its labels and a network namespace whose lo is up', async () => {
  const { status } = await h.client.podSandboxStatus({ pod_sandbox_id: podId });
  assert.equal(status?.state, 'SANDBOX_READY');
  assert.deepEqual(status?.labels, { app: 'web' });
  assert.ok(Number(status?.created_at) > 0);
  assert.equal(status?.linux?.namespaces?.options?.network, 'POD');
  const { items } = await h.client.listPodSandbox({ filter: { label_selector: { app: 'web' } } });
  assert.deepEqual(items.map((i) => i.id), [podId]);
});

test('a container runs, logs in CRI format, answers ExecSync and stops on SIGTERM', async () => {
  const id = await run('hello', ['sh', '-c', 'trap "exit 0" TERM; echo hello; echo oops >&2; while true; do sleep 0.1; done']);
  const { status } = await h.client.containerStatus({ container_id: id });
  assert.equal(status?.state, 'CONTAINER_RUNNING');
  assert.ok(Number(status?.started_at) >= Number(status?.created_at));
  const logPath = join(h.dir, 'logs', 'web', 'hello', '0.log');
  assert.equal(status?.log_path, logPath);
  const log = await eventually('the log lines', async () => {
    const text = await readFile(logPath, 'utf8').catch(() => '');
    return text.includes('oops') ? text : undefined;
  });
  assert.match(log, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d) stdout F hello$/m);
  assert.match(log, / stderr F oops$/m);

  const hi = await h.client.execSync({ container_id: id, cmd: ['echo', 'hi'], timeout: 10 });
  assert.equal(hi.exit_code, 0);
  assert.equal(hi.stdout.toString(), 'hi\n');
  const three = await h.client.execSync({ container_id: id, cmd: ['sh', '-c', 'echo bad >&2; exit 3'], timeout: 10 });
  assert.equal(three.exit_code, 3);
  assert.equal(three.stderr.toString(), 'bad\n');
  // The image's env is merged with the container's.
  const env = await h.client.execSync({ container_id: id, cmd: ['sh', '-c', 'echo $FROM_IMAGE $HOSTNAME'], timeout: 10 });
  assert.equal(env.stdout.toString(), '1 web\n');

  const t0 = Date.now();
  await h.client.stopContainer({ container_id: id, timeout: 10 });
  assert.ok(Date.now() - t0 < 5000, 'SIGTERM was honored well before the timeout');
  const st = await exited(id);
  assert.equal(st.exit_code, 0);
  assert.equal(st.reason, 'Completed');
  assert.ok(Number(st.finished_at) >= Number(st.started_at));
});

test('a container ignoring SIGTERM is killed after the timeout', async () => {
  const id = await run('stubborn', ['sh', '-c', 'trap "" TERM; echo ready; while true; do sleep 0.1; done']);
  await eventually('the trap to be set', async () => (await readFile(join(h.dir, 'logs', 'web', 'stubborn', '0.log'), 'utf8').catch(() => '')).includes('ready') || undefined);
  const t0 = Date.now();
  await h.client.stopContainer({ container_id: id, timeout: 1 });
  const took = Date.now() - t0;
  assert.ok(took >= 900 && took < 8000, `stop took ${took} ms`);
  const st = await exited(id);
  assert.equal(st.exit_code, 137);
  assert.equal(st.reason, 'Error');
});

test('the exit code of a container that exits 7, and ListContainers filters', async () => {
  const id = await run('seven', ['sh', '-c', 'exit 7']);
  const st = await exited(id);
  assert.equal(st.exit_code, 7);
  assert.equal(st.reason, 'Error');
  const { containers } = await h.client.listContainers({ filter: { label_selector: { container: 'seven' } } });
  assert.deepEqual(containers.map((c) => [c.id, c.state]), [[id, 'CONTAINER_EXITED']]);
  const running = await h.client.listContainers({ filter: { state: { state: 'CONTAINER_RUNNING' }, pod_sandbox_id: podId } });
  assert.ok(!running.containers.some((c) => c.id === id));
  await h.client.removeContainer({ container_id: id });
  await assert.rejects(h.client.containerStatus({ container_id: id }), (e: unknown) => e instanceof CriError && e.code === Code.NOT_FOUND);
});

test('the container has its own PID namespace and the sandbox hostname and /etc files', async () => {
  const id = await run('ps', ['sleep', '30']);
  const ps = await h.client.execSync({ container_id: id, cmd: ['ps', '-o', 'pid,args'], timeout: 10 });
  const pid1 = ps.stdout.toString().split('\n').find((l) => /^\s*1\s/.test(l));
  assert.match(pid1 ?? '', /^\s*1 sleep 30$/);
  const host = await h.client.execSync({ container_id: id, cmd: ['hostname'], timeout: 10 });
  assert.equal(host.stdout.toString().trim(), 'web');
  const resolv = await h.client.execSync({ container_id: id, cmd: ['cat', '/etc/resolv.conf', '/etc/hosts'], timeout: 10 });
  assert.match(resolv.stdout.toString(), /nameserver 10\.96\.0\.10/);
  assert.match(resolv.stdout.toString(), /search default\.svc\.cluster\.local/);
  const lo = await h.client.execSync({ container_id: id, cmd: ['ip', 'addr', 'show', 'lo'], timeout: 10 });
  assert.match(lo.stdout.toString(), /inet 127\.0\.0\.1/);
  assert.match(lo.stdout.toString(), /UP/);
  const caps = await h.client.execSync({ container_id: id, cmd: ['grep', 'CapEff', '/proc/self/status'], timeout: 10 });
  assert.match(caps.stdout.toString(), /CapEff:\s+00000000a80425fb/);
  const seccomp = await h.client.execSync({ container_id: id, cmd: ['grep', '^Seccomp:', '/proc/self/status'], timeout: 10 });
  assert.match(seccomp.stdout.toString(), /Seccomp:\s+2/, 'the RuntimeDefault seccomp filter is on');
  const mount = await h.client.execSync({ container_id: id, cmd: ['mount', '-t', 'tmpfs', 'x', '/tmp'], timeout: 10 });
  assert.notEqual(mount.exit_code, 0, 'mount is refused');
  const stats = await h.client.containerStats({ container_id: id });
  assert.ok(Number(stats.stats?.memory?.working_set_bytes?.value) > 0, 'memory working set is reported');
  assert.ok(Number(stats.stats?.cpu?.usage_core_nano_seconds?.value) > 0, 'cpu usage is reported');
  await h.client.stopContainer({ container_id: id, timeout: 0 });
});

test('resource limits reach the cgroup and UpdateContainerResources changes them', async () => {
  const id = await run('limited', ['sleep', '30'], {
    linux: { resources: { memory_limit_in_bytes: 64 * 1024 * 1024, cpu_shares: 256, cpu_quota: 50_000, cpu_period: 100_000, oom_score_adj: 500 } },
  });
  const cg = `/sys/fs/cgroup/memory/skiff/${podId}/${id}`;
  assert.equal((await readFile(`${cg}/memory.limit_in_bytes`, 'utf8')).trim(), String(64 * 1024 * 1024));
  assert.equal((await readFile(`/sys/fs/cgroup/cpu/skiff/${podId}/${id}/cpu.shares`, 'utf8')).trim(), '256');
  assert.equal((await readFile(`/sys/fs/cgroup/cpu/skiff/${podId}/${id}/cpu.cfs_quota_us`, 'utf8')).trim(), '50000');
  const oom = await h.client.execSync({ container_id: id, cmd: ['cat', '/proc/1/oom_score_adj'], timeout: 10 });
  assert.equal(oom.stdout.toString().trim(), '500');
  await h.client.updateContainerResources({ container_id: id, linux: { memory_limit_in_bytes: 128 * 1024 * 1024, cpu_shares: 512 } });
  assert.equal((await readFile(`${cg}/memory.limit_in_bytes`, 'utf8')).trim(), String(128 * 1024 * 1024));
  const { status } = await h.client.containerStatus({ container_id: id });
  assert.equal(Number(status?.resources?.linux?.memory_limit_in_bytes), 128 * 1024 * 1024);
  await h.client.stopContainer({ container_id: id, timeout: 0 });
});

test('a container over its memory limit is reported OOMKilled', async () => {
  const id = await run('hog', ['sh', '-c', 'x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived'], {
    linux: { resources: { memory_limit_in_bytes: 16 * 1024 * 1024 } },
  });
  const st = await exited(id);
  assert.equal(st.reason, 'OOMKilled');
  assert.equal(st.exit_code, 137);
});

test('ReopenContainerLog makes conmon write to a fresh file after rotation', async () => {
  const id = await run('ticker', ['sh', '-c', 'while true; do echo tick; sleep 0.1; done']);
  const logPath = join(h.dir, 'logs', 'web', 'ticker', '0.log');
  await eventually('a first tick', async () => (await readFile(logPath, 'utf8').catch(() => '')).includes('tick') || undefined);
  await rename(logPath, `${logPath}.1`);
  await h.client.reopenContainerLog({ container_id: id });
  await eventually('a tick in the new file', async () => (await readFile(logPath, 'utf8').catch(() => '')).includes('stdout F tick') || undefined);
  await h.client.stopContainer({ container_id: id, timeout: 0 });
});

test('CRI mounts: a host directory read-only and read-write; no log path is fine', async () => {
  const host = join(h.dir, 'shared');
  await mkdir(host, { recursive: true });
  await writeFile(join(host, 'greeting'), 'hello from the host\n');
  const id = await run('mounts', ['sleep', '30'], {
    log_path: '',
    mounts: [
      { host_path: host, container_path: '/data', readonly: true },
      { host_path: host, container_path: '/rw', readonly: false },
    ],
  });
  const cat = await h.client.execSync({ container_id: id, cmd: ['cat', '/data/greeting'], timeout: 10 });
  assert.equal(cat.stdout.toString(), 'hello from the host\n');
  const ro = await h.client.execSync({ container_id: id, cmd: ['touch', '/data/x'], timeout: 10 });
  assert.notEqual(ro.exit_code, 0);
  const rw = await h.client.execSync({ container_id: id, cmd: ['touch', '/rw/y'], timeout: 10 });
  assert.equal(rw.exit_code, 0);
  await access(join(host, 'y'));
  const { status } = await h.client.containerStatus({ container_id: id });
  assert.deepEqual(status?.mounts.map((m) => [m.container_path, m.readonly]), [['/data', true], ['/rw', false]]);
  assert.equal(status?.log_path, '');
  await h.client.stopContainer({ container_id: id, timeout: 0 });
});

test('unknown ids answer NotFound', async () => {
  const notFound = (e: unknown) => e instanceof CriError && e.code === Code.NOT_FOUND;
  await assert.rejects(h.client.containerStatus({ container_id: 'nope' }), notFound);
  await assert.rejects(h.client.startContainer({ container_id: 'nope' }), notFound);
  await assert.rejects(h.client.execSync({ container_id: 'nope', cmd: ['true'] }), notFound);
  await assert.rejects(h.client.podSandboxStatus({ pod_sandbox_id: 'nope' }), notFound);
  await assert.rejects(h.client.createContainer({ pod_sandbox_id: 'nope', config: containerConfig('x', ['true']) }), notFound);
});

test('Version names the runtime', async () => {
  const v = await h.client.version();
  assert.equal(v.runtime_name, 'skiff');
  assert.equal(v.runtime_api_version, 'v1');
});
