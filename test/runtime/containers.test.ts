// The CRI suite, against every backend (skiff runtime and containerd 1.6): sandbox and container
// lifecycle, CRI-format logs, exit codes, ExecSync, stop with a grace period, namespaces and
// security defaults, resources and stats, mounts, NotFound. Each test asserts what the CRI API
// promises (cri-api's api.proto, kubelet's use of it), so the same test passes on both.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Code, CriError } from '../../src/cri/errors.ts';
import type * as T from '../../src/cri/types.ts';
import { waitFor as eventually } from '../helpers/wait.ts';
import { selectedBackends, type Backend } from './backends.ts';

for (const spec of selectedBackends()) {
  describe(spec.name, () => {
    let b: Backend;
    let podId: string;
    let pod: T.DeepPartial<T.PodSandboxConfig>;

    before(async () => {
      b = await spec.start();
      pod = b.podConfig('web');
      ({ pod_sandbox_id: podId } = await b.client.runPodSandbox({ config: pod, runtime_handler: '' }));
    });

    after(async () => { await b?.cleanup(); });

    const run = async (name: string, command: string[], extra: T.DeepPartial<T.ContainerConfig> = {}): Promise<string> => {
      const { container_id: id } = await b.client.createContainer({ pod_sandbox_id: podId, config: b.containerConfig(name, command, extra), sandbox_config: pod });
      await b.client.startContainer({ container_id: id });
      return id;
    };
    const exited = (id: string) => eventually(`container ${id} to exit`, async () => {
      const { status } = await b.client.containerStatus({ container_id: id });
      return status?.state === 'CONTAINER_EXITED' ? status : undefined;
    });
    const logOf = (name: string) => join(b.dir, 'logs', 'web', name, '0.log');
    const sh = async (id: string, script: string) => {
      const r = await b.client.execSync({ container_id: id, cmd: ['sh', '-c', script], timeout: 10 });
      assert.equal(r.exit_code, 0, `${script}: ${r.stderr.toString()}`);
      return r.stdout.toString();
    };

    test('the sandbox is ready, with its labels, an IP from the CNI network, and listed by label', async () => {
      const { status } = await b.client.podSandboxStatus({ pod_sandbox_id: podId });
      assert.equal(status?.state, 'SANDBOX_READY');
      assert.deepEqual(status?.labels, { app: 'web' });
      assert.equal(status?.metadata?.name, 'web');
      assert.ok(Number(status?.created_at) > 0);
      assert.match(status?.network?.ip ?? '', /^10\.98\.0\.\d+$/);
      // NamespaceMode POD is the enum's zero value: a runtime may leave it out.
      assert.equal(status?.linux?.namespaces?.options?.network ?? 'POD', 'POD');
      const { items } = await b.client.listPodSandbox({ filter: { label_selector: { app: 'web' } } });
      assert.deepEqual(items.map((i) => i.id), [podId]);
      assert.deepEqual((await b.client.listPodSandbox({ filter: { label_selector: { app: 'other' } } })).items, []);
    });

    test('a container runs, logs in CRI format, answers ExecSync and stops on SIGTERM', async () => {
      const id = await run('hello', ['sh', '-c', 'trap "exit 0" TERM; echo hello; echo oops >&2; while true; do sleep 0.1; done']);
      const { status } = await b.client.containerStatus({ container_id: id });
      assert.equal(status?.state, 'CONTAINER_RUNNING');
      assert.ok(Number(status?.started_at) >= Number(status?.created_at));
      assert.equal(status?.log_path, logOf('hello'));
      assert.equal(status?.image?.image, b.images.busybox);
      const log = await eventually('the log lines', async () => {
        const text = await readFile(logOf('hello'), 'utf8').catch(() => '');
        return text.includes('oops') ? text : undefined;
      });
      assert.match(log, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d) stdout F hello$/m);
      assert.match(log, / stderr F oops$/m);

      const hi = await b.client.execSync({ container_id: id, cmd: ['echo', 'hi'], timeout: 10 });
      assert.equal(hi.exit_code, 0);
      assert.equal(hi.stdout.toString(), 'hi\n');
      const three = await b.client.execSync({ container_id: id, cmd: ['sh', '-c', 'echo bad >&2; exit 3'], timeout: 10 });
      assert.equal(three.exit_code, 3);
      assert.equal(three.stderr.toString(), 'bad\n');
      // The image's env is merged with the container's; HOSTNAME is the pod's.
      assert.equal(await sh(id, 'echo $FROM_IMAGE $HOSTNAME'), '1 web\n');

      const t0 = Date.now();
      await b.client.stopContainer({ container_id: id, timeout: 10 });
      assert.ok(Date.now() - t0 < 5000, 'SIGTERM was honored well before the timeout');
      const st = await exited(id);
      assert.equal(st.exit_code, 0);
      assert.equal(st.reason, 'Completed');
      assert.ok(Number(st.finished_at) >= Number(st.started_at));
    });

    test('a container ignoring SIGTERM is killed after the timeout', async () => {
      const id = await run('stubborn', ['sh', '-c', 'trap "" TERM; echo ready; while true; do sleep 0.1; done']);
      await eventually('the trap to be set', async () => (await readFile(logOf('stubborn'), 'utf8').catch(() => '')).includes('ready') || undefined);
      const t0 = Date.now();
      await b.client.stopContainer({ container_id: id, timeout: 1 });
      const took = Date.now() - t0;
      assert.ok(took >= 900 && took < 8000, `stop took ${took} ms`);
      const st = await exited(id);
      assert.equal(st.exit_code, 137);
      assert.equal(st.reason, 'Error');
    });

    test('the exit code of a container that exits 7, ListContainers filters, RemoveContainer', async () => {
      const id = await run('seven', ['sh', '-c', 'exit 7']);
      const st = await exited(id);
      assert.equal(st.exit_code, 7);
      assert.equal(st.reason, 'Error');
      const { containers } = await b.client.listContainers({ filter: { label_selector: { container: 'seven' } } });
      assert.deepEqual(containers.map((c) => [c.id, c.state, c.pod_sandbox_id]), [[id, 'CONTAINER_EXITED', podId]]);
      const running = await b.client.listContainers({ filter: { state: { state: 'CONTAINER_RUNNING' }, pod_sandbox_id: podId } });
      assert.ok(!running.containers.some((c) => c.id === id));
      await b.client.removeContainer({ container_id: id });
      await assert.rejects(b.client.containerStatus({ container_id: id }), (e: unknown) => e instanceof CriError && e.code === Code.NOT_FOUND);
      // Removing again is not an error: kubelet retries removals.
      await b.client.removeContainer({ container_id: id });
    });

    test('a created container is CREATED until started; a started one cannot start again', async () => {
      const { container_id: id } = await b.client.createContainer({ pod_sandbox_id: podId, config: b.containerConfig('later', ['sleep', '30']), sandbox_config: pod });
      assert.equal((await b.client.containerStatus({ container_id: id })).status?.state, 'CONTAINER_CREATED');
      await b.client.startContainer({ container_id: id });
      assert.equal((await b.client.containerStatus({ container_id: id })).status?.state, 'CONTAINER_RUNNING');
      await assert.rejects(b.client.startContainer({ container_id: id }), CriError);
      await b.client.stopContainer({ container_id: id, timeout: 0 });
      assert.equal((await exited(id)).exit_code, 137);
    });

    test('the container has its own PID namespace, the pod hostname, DNS, loopback, default capabilities', async () => {
      const id = await run('ps', ['sleep', '30']);
      const pid1 = (await sh(id, 'ps -o pid,args')).split('\n').find((l) => /^\s*1\s/.test(l));
      assert.match(pid1 ?? '', /^\s*1 sleep 30$/);
      assert.equal((await sh(id, 'hostname')).trim(), 'web');
      const files = await sh(id, 'cat /etc/resolv.conf /etc/hostname');
      assert.match(files, /nameserver 10\.96\.0\.10/);
      assert.match(files, /search default\.svc\.cluster\.local/);
      assert.match(files, /options ndots:5/);
      assert.match(files, /^web$/m);
      const lo = await sh(id, 'ip addr show lo');
      assert.match(lo, /inet 127\.0\.0\.1/);
      assert.match(lo, /UP/);
      const ip = (await b.client.podSandboxStatus({ pod_sandbox_id: podId })).status?.network?.ip ?? '';
      assert.match(await sh(id, 'ip addr show eth0'), new RegExp(`inet ${ip.replaceAll('.', '\\.')}/24`));
      // The runtime's default set (Docker's): chown, dac_override, fowner, fsetid, kill, setgid,
      // setuid, setpcap, net_bind_service, net_raw, sys_chroot, mknod, audit_write, setfcap.
      assert.match(await sh(id, 'grep CapEff /proc/self/status'), /CapEff:\s+00000000a80425fb/);
      const mount = await b.client.execSync({ container_id: id, cmd: ['mount', '-t', 'tmpfs', 'x', '/tmp'], timeout: 10 });
      assert.notEqual(mount.exit_code, 0, 'mount is refused');
      const stats = await b.client.containerStats({ container_id: id });
      assert.equal(stats.stats?.attributes?.id, id);
      assert.ok(Number(stats.stats?.memory?.working_set_bytes?.value) > 0, 'memory working set is reported');
      assert.ok(Number(stats.stats?.cpu?.usage_core_nano_seconds?.value) > 0, 'cpu usage is reported');
      const listed = await b.client.listContainerStats({ filter: { pod_sandbox_id: podId } });
      assert.ok(listed.stats.some((s) => s.attributes?.id === id), 'ListContainerStats includes it');
      await b.client.stopContainer({ container_id: id, timeout: 0 });
    });

    test('containers of a pod with a shared PID namespace see each other\'s processes', async () => {
      const shared = { linux: { security_context: { namespace_options: { network: 'POD', pid: 'POD', ipc: 'POD' } } } } as const;
      const config = b.podConfig('pidshare', shared);
      const { pod_sandbox_id: id } = await b.client.runPodSandbox({ config });
      const start = async (name: string, command: string[]) => {
        const c = await b.client.createContainer({ pod_sandbox_id: id, config: b.containerConfig(name, command, shared), sandbox_config: config });
        await b.client.startContainer({ container_id: c.container_id });
        return c.container_id;
      };
      await start('first', ['sleep', '31']);
      const second = await start('second', ['sleep', '32']);
      const ps = await b.client.execSync({ container_id: second, cmd: ['ps', '-o', 'args'], timeout: 10 });
      assert.match(ps.stdout.toString(), /^sleep 31$/m);
      assert.match(ps.stdout.toString(), /^sleep 32$/m);
      await b.client.stopPodSandbox({ pod_sandbox_id: id });
      await b.client.removePodSandbox({ pod_sandbox_id: id });
    });

    test('seccomp: RuntimeDefault filters, Unconfined does not', async () => {
      // kubelet always names the profile; what an unset one means is each runtime's default.
      const seccomp = (profile_type: 'RuntimeDefault' | 'Unconfined') => ({ linux: { security_context: { seccomp: { profile_type } } } });
      const confined = await run('confined', ['sleep', '30'], seccomp('RuntimeDefault'));
      assert.match(await sh(confined, 'grep ^Seccomp: /proc/self/status'), /Seccomp:\s+2/);
      const free = await run('unconfined', ['sleep', '30'], seccomp('Unconfined'));
      assert.match(await sh(free, 'grep ^Seccomp: /proc/self/status'), /Seccomp:\s+0/);
      for (const id of [confined, free]) await b.client.stopContainer({ container_id: id, timeout: 0 });
    });

    test('resource limits reach the container\'s cgroup and UpdateContainerResources changes them', async () => {
      const id = await run('limited', ['sleep', '30'], {
        linux: { resources: { memory_limit_in_bytes: 64 * 1024 * 1024, cpu_shares: 256, cpu_quota: 50_000, cpu_period: 100_000, oom_score_adj: 500 } },
      });
      // Inside, /sys/fs/cgroup/<controller> is the container's own cgroup.
      const limits = 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpu/cpu.cfs_quota_us /proc/1/oom_score_adj';
      assert.deepEqual((await sh(id, limits)).trim().split('\n'), [String(64 * 1024 * 1024), '256', '50000', '500']);
      await b.client.updateContainerResources({ container_id: id, linux: { memory_limit_in_bytes: 128 * 1024 * 1024, cpu_shares: 512, cpu_quota: 50_000, cpu_period: 100_000 } });
      assert.deepEqual((await sh(id, limits)).trim().split('\n').slice(0, 2), [String(128 * 1024 * 1024), '512']);
      const { status } = await b.client.containerStatus({ container_id: id });
      // ContainerStatus.resources is newer than containerd 1.6; when reported it is the current one.
      if (status?.resources) assert.equal(Number(status.resources.linux?.memory_limit_in_bytes), 128 * 1024 * 1024);
      await b.client.stopContainer({ container_id: id, timeout: 0 });
    });

    test('a container over its memory limit is reported OOMKilled', async () => {
      const id = await run('hog', ['sh', '-c', 'x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived'], {
        linux: { resources: { memory_limit_in_bytes: 16 * 1024 * 1024 } },
      });
      const st = await exited(id);
      assert.equal(st.reason, 'OOMKilled');
      assert.equal(st.exit_code, 137);
    });

    test('ReopenContainerLog makes the runtime write to a fresh file after rotation', async () => {
      const id = await run('ticker', ['sh', '-c', 'while true; do echo tick; sleep 0.1; done']);
      await eventually('a first tick', async () => (await readFile(logOf('ticker'), 'utf8').catch(() => '')).includes('tick') || undefined);
      await rename(logOf('ticker'), `${logOf('ticker')}.1`);
      await b.client.reopenContainerLog({ container_id: id });
      await eventually('a tick in the new file', async () => (await readFile(logOf('ticker'), 'utf8').catch(() => '')).includes('stdout F tick') || undefined);
      await b.client.stopContainer({ container_id: id, timeout: 0 });
    });

    test('CRI mounts: a host directory read-only and read-write; no log path is fine', async () => {
      const host = join(b.dir, 'shared');
      await mkdir(host, { recursive: true });
      await writeFile(join(host, 'greeting'), 'hello from the host\n');
      const id = await run('mounts', ['sleep', '30'], {
        log_path: '',
        mounts: [
          { host_path: host, container_path: '/data', readonly: true },
          { host_path: host, container_path: '/rw', readonly: false },
        ],
      });
      assert.equal(await sh(id, 'cat /data/greeting'), 'hello from the host\n');
      const ro = await b.client.execSync({ container_id: id, cmd: ['touch', '/data/x'], timeout: 10 });
      assert.notEqual(ro.exit_code, 0);
      await sh(id, 'touch /rw/y');
      await access(join(host, 'y'));
      const { status } = await b.client.containerStatus({ container_id: id });
      assert.deepEqual(status?.mounts.map((m) => [m.container_path, m.host_path, m.readonly]), [['/data', host, true], ['/rw', host, false]]);
      assert.equal(status?.log_path, '');
      await b.client.stopContainer({ container_id: id, timeout: 0 });
    });

    test('ExecSync past its timeout fails with DeadlineExceeded or an error, and the container lives on', async () => {
      const id = await run('slow', ['sleep', '30']);
      const t0 = Date.now();
      await assert.rejects(b.client.execSync({ container_id: id, cmd: ['sleep', '20'], timeout: 1 }), CriError);
      assert.ok(Date.now() - t0 < 10_000, 'the exec was cut at its timeout');
      assert.equal(await sh(id, 'echo alive'), 'alive\n');
      await b.client.stopContainer({ container_id: id, timeout: 0 });
    });

    test('unknown ids answer NotFound', async () => {
      const notFound = (e: unknown) => e instanceof CriError && e.code === Code.NOT_FOUND;
      await assert.rejects(b.client.containerStatus({ container_id: 'nope' }), notFound);
      await assert.rejects(b.client.startContainer({ container_id: 'nope' }), notFound);
      await assert.rejects(b.client.execSync({ container_id: 'nope', cmd: ['true'] }), notFound);
      await assert.rejects(b.client.podSandboxStatus({ pod_sandbox_id: 'nope' }), notFound);
      await assert.rejects(b.client.createContainer({ pod_sandbox_id: 'nope', config: b.containerConfig('x', ['true']), sandbox_config: pod }), notFound);
    });

    test('StopPodSandbox stops its containers; RemovePodSandbox removes them and the pod', async () => {
      const other = b.podConfig('doomed');
      const { pod_sandbox_id: otherId } = await b.client.runPodSandbox({ config: other });
      const { container_id: id } = await b.client.createContainer({ pod_sandbox_id: otherId, config: b.containerConfig('victim', ['sleep', '30']), sandbox_config: other });
      await b.client.startContainer({ container_id: id });
      await b.client.stopPodSandbox({ pod_sandbox_id: otherId });
      assert.equal((await b.client.podSandboxStatus({ pod_sandbox_id: otherId })).status?.state, 'SANDBOX_NOTREADY');
      assert.equal((await b.client.containerStatus({ container_id: id })).status?.state, 'CONTAINER_EXITED');
      await b.client.stopPodSandbox({ pod_sandbox_id: otherId }); // idempotent
      await b.client.removePodSandbox({ pod_sandbox_id: otherId });
      await assert.rejects(b.client.podSandboxStatus({ pod_sandbox_id: otherId }), (e: unknown) => e instanceof CriError && e.code === Code.NOT_FOUND);
      await assert.rejects(b.client.containerStatus({ container_id: id }), (e: unknown) => e instanceof CriError && e.code === Code.NOT_FOUND);
      assert.ok(!(await b.client.listPodSandbox({})).items.some((s) => s.id === otherId));
      await b.client.removePodSandbox({ pod_sandbox_id: otherId }); // removing what is gone succeeds
    });

    test('Version names the runtime; Status reports it ready', async () => {
      const v = await b.client.version({});
      assert.equal(v.runtime_name, spec.name);
      assert.equal(v.runtime_api_version, 'v1');
      const s = await b.client.status({});
      assert.deepEqual(s.status?.conditions.filter((c) => c.type === 'RuntimeReady').map((c) => c.status), [true]);
      assert.deepEqual(s.status?.conditions.filter((c) => c.type === 'NetworkReady').map((c) => c.status), [true]);
    });
  });
}
