// A container's life on disk and under conmon/runc: its bundle (config.json) at create, conmon +
// `runc start` at start, its true state from the exit file and runc, stop with a grace period,
// and removal of everything it left.
import { randomBytes } from 'node:crypto';
import { constants, open, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import type { CreateContainerRequest, DeepPartial } from '../cri/types.ts';
import { Code, CriError } from '../cri/errors.ts';
import type { ImageSource } from './image-source.ts';
import { isExecutable, isGvisor } from './handlers.ts';
import { buildSpec, linuxResources, podInit, TINI_BINARY, withTini } from './oci-spec.ts';
import { OciRuntime, readExitFile, sleep } from './oci-runtime.ts';
import { sandboxFilesIn, hostnameOf } from './sandbox-files.ts';
import { shmPathOf } from './sandbox.ts';
import { wasOomKilled } from './stats.ts';
import type { ContainerRecord, SandboxRecord, StateStore } from './state.ts';
import { resolveUser } from './user.ts';
import { signalName } from './views.ts';

export interface ContainerContext {
  store: StateStore;
  images: ImageSource;
  exitDir: string;
  socketDir: string;
  conmon: string;
  /** The OCI runtime of the sandbox's handler. */
  ociFor(sandbox: SandboxRecord): OciRuntime;
  /** A running container of the sandbox (for pid: POD), if any. */
  podPidHolder(sandboxId: string): ContainerRecord | undefined;
}

export function newId(): string {
  return randomBytes(32).toString('hex');
}

export function nowNs(): number {
  return Date.now() * 1e6;
}

export async function createContainer(
  ctx: ContainerContext, sandbox: SandboxRecord, req: DeepPartial<CreateContainerRequest>,
): Promise<ContainerRecord> {
  const config = req.config ?? {};
  const imageRef = config.image?.image;
  if (!config.metadata?.name) throw new CriError(Code.INVALID_ARGUMENT, 'CreateContainer: config.metadata.name is required');
  if (!imageRef) throw new CriError(Code.INVALID_ARGUMENT, 'CreateContainer: config.image.image is required');
  let image;
  try {
    image = await ctx.images.imageConfig(imageRef);
  } catch (err) {
    throw new CriError(Code.NOT_FOUND, `CreateContainer: image "${imageRef}" is not present: ${(err as Error).message}`);
  }
  const init = initOf(sandbox);
  const id = newId();
  const dir = ctx.store.containerDir(id);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    const rootfs = await ctx.images.mountRootfs(imageRef, id);
    const user = await resolveUser(rootfs.target, config, image.User).catch((err: Error) => {
      throw new CriError(Code.INVALID_ARGUMENT, `CreateContainer ${config.metadata?.name}: ${err.message}`);
    });
    const logDir = sandbox.config.log_directory ?? '';
    const logPath = config.log_path ? (isAbsolute(config.log_path) ? config.log_path : join(logDir, config.log_path)) : '';
    if (logPath) await mkdir(dirname(logPath), { recursive: true });
    const holder = ctx.podPidHolder(sandbox.id);
    const cgroupsPath = `${sandbox.cgroupParent}/${id}`;
    const built = buildSpec({
      containerId: id, config, sandbox, image, rootfs: rootfs.target, files: sandboxFilesIn(ctx.store.sandboxDir(sandbox.id)),
      shmPath: sandbox.ipcPath ? shmPathOf(ctx.store.sandboxDir(sandbox.id)) : '',
      podPidNamespace: holder ? `/proc/${holder.pid}/ns/pid` : undefined,
      cgroupsPath, user, hostname: hostnameOf(sandbox.config, sandbox.id),
    });
    const spec = init === 'tini' ? withTini(built) : built;
    if (isGvisor(ctx.ociFor(sandbox).binary)) {
      // With these annotations runsc would add the container to the gVisor sandbox of a pause
      // container Skiff does not have: each container is its own gVisor sandbox instead, still
      // in the pod's network, IPC and UTS namespaces.
      const annotations = spec.annotations as Record<string, string>;
      delete annotations['io.kubernetes.cri.container-type'];
      delete annotations['io.kubernetes.cri.sandbox-id'];
    }
    await writeFile(join(dir, 'config.json'), JSON.stringify(spec, null, 1));
    const record: ContainerRecord = {
      id, sandboxId: sandbox.id, config, imageRef: rootfs.imageId ?? imageRef,
      state: 'CONTAINER_CREATED', createdAt: nowNs(), startedAt: 0, finishedAt: 0, exitCode: 0,
      reason: '', message: '', logPath, pid: 0, conmonPid: 0,
      stopSignal: signalName(config.stop_signal, image.StopSignal), cgroupsPath,
    };
    await ctx.store.saveContainer(record);
    return record;
  } catch (err) {
    // The bundle dir may hold the rootfs mount: delete it only once that is gone.
    const unmounted = await (ctx.images.removeRootfs ?? ctx.images.unmountRootfs).call(ctx.images, id).then(() => true, () => false);
    if (unmounted) await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** The init the pod's annotations ask for, checked before anything is made. */
function initOf(sandbox: SandboxRecord): '' | 'tini' {
  let init: '' | 'tini';
  try {
    init = podInit(sandbox.config);
  } catch (err) {
    throw new CriError(Code.INVALID_ARGUMENT, `CreateContainer: ${(err as Error).message}`);
  }
  if (init === 'tini' && !isExecutable(TINI_BINARY)) {
    throw new CriError(Code.FAILED_PRECONDITION, `CreateContainer: the pod asks for tini as init but ${TINI_BINARY} is missing (install Debian's tini package)`);
  }
  return init;
}

/** conmon (runc create) then runc start. A failure leaves the container EXITED with why. */
export async function startContainer(ctx: ContainerContext, sandbox: SandboxRecord, c: ContainerRecord): Promise<void> {
  if (c.state !== 'CONTAINER_CREATED') {
    throw new CriError(Code.FAILED_PRECONDITION, `container ${c.id} is ${c.state}, only a CONTAINER_CREATED one can be started`);
  }
  const oci = ctx.ociFor(sandbox);
  const dir = ctx.store.containerDir(c.id);
  try {
    await ctx.images.mountRootfs(c.config.image?.image ?? '', c.id);
    await rm(join(ctx.exitDir, c.id), { force: true });
    const { pid, conmonPid } = await oci.create({
      id: c.id, bundle: dir, logPath: c.logPath, exitDir: ctx.exitDir, socketDir: ctx.socketDir,
      conmonLog: join(dir, 'conmon.log'), tty: !!c.config.tty, stdin: !!c.config.stdin,
      leaveStdinOpen: !c.config.stdin_once,
    });
    c.pid = pid;
    c.conmonPid = conmonPid;
    await oci.start(c.id, pid);
    c.state = 'CONTAINER_RUNNING';
    c.startedAt = nowNs();
    await ctx.store.saveContainer(c);
  } catch (err) {
    c.state = 'CONTAINER_EXITED';
    c.exitCode = 128;
    c.finishedAt = nowNs();
    c.reason = 'StartError';
    c.message = (err as Error).message;
    await ctx.store.saveContainer(c);
    await oci.delete(c.id).catch(() => undefined);
    throw new CriError(Code.UNKNOWN, `starting container ${c.id}: ${(err as Error).message}`);
  }
}

/**
 * Brings a RUNNING record up to date: the exit file conmon wrote, or (when conmon is gone without
 * writing one) runc's view. Returns whether the record changed (and was saved).
 */
export async function refreshContainer(ctx: ContainerContext, sandbox: SandboxRecord | undefined, c: ContainerRecord, askRunc = false): Promise<boolean> {
  if (c.state !== 'CONTAINER_RUNNING') return false;
  let exit = await readExitFile(ctx.exitDir, c.id);
  if (!exit && (askRunc || !alive(c.conmonPid))) {
    const st = sandbox ? await ctx.ociFor(sandbox).state(c.id) : undefined;
    if (st && (st.status === 'running' || st.status === 'paused' || st.status === 'created')) return false;
    exit = await readExitFile(ctx.exitDir, c.id);
    if (!exit) {
      c.state = 'CONTAINER_EXITED';
      c.exitCode = 255;
      c.finishedAt = nowNs();
      c.reason = 'Unknown';
      c.message = 'the container\'s monitor (conmon) ended without recording an exit code';
      await ctx.store.saveContainer(c);
      return true;
    }
  }
  if (!exit) return false;
  c.state = 'CONTAINER_EXITED';
  c.exitCode = exit.code;
  c.finishedAt = exit.at;
  const oom = exit.code !== 0 && await wasOomKilled(c.cgroupsPath);
  c.reason = oom ? 'OOMKilled' : exit.code === 0 ? 'Completed' : 'Error';
  await ctx.store.saveContainer(c);
  return true;
}

function alive(pid: number): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitForExit(ctx: ContainerContext, id: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  // SIGKILL usually takes effect within a few ms: poll fast first (pod removal latency), then back off.
  for (let wait = 2; ; wait = Math.min(50, wait * 2)) {
    if (await readExitFile(ctx.exitDir, id)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(wait, Math.max(1, deadline - Date.now())));
  }
}

/** The stop signal, then SIGKILL once timeoutSeconds pass. https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination */
export async function stopContainer(ctx: ContainerContext, sandbox: SandboxRecord, c: ContainerRecord, timeoutSeconds: number): Promise<void> {
  await refreshContainer(ctx, sandbox, c);
  if (c.state !== 'CONTAINER_RUNNING') return;
  const oci = ctx.ociFor(sandbox);
  if (timeoutSeconds > 0) {
    await oci.kill(c.id, c.stopSignal);
    await waitForExit(ctx, c.id, timeoutSeconds * 1000);
  }
  if (!(await readExitFile(ctx.exitDir, c.id))) {
    await oci.kill(c.id, 'SIGKILL', true);
    if (!(await waitForExit(ctx, c.id, 10_000))) {
      throw new CriError(Code.DEADLINE_EXCEEDED, `container ${c.id} did not exit within 10s of SIGKILL`);
    }
  }
  await refreshContainer(ctx, sandbox, c);
}

/** Kills it if needed, then runc delete, the rootfs, the exit file and the record. */
export async function removeContainer(ctx: ContainerContext, sandbox: SandboxRecord | undefined, c: ContainerRecord): Promise<void> {
  if (sandbox) {
    await stopContainer(ctx, sandbox, c, 0);
    await ctx.ociFor(sandbox).delete(c.id);
  }
  await (ctx.images.removeRootfs ?? ctx.images.unmountRootfs).call(ctx.images, c.id);
  await rm(join(ctx.exitDir, c.id), { force: true });
  await ctx.store.removeContainer(c.id);
}

export async function execSync(
  ctx: ContainerContext, sandbox: SandboxRecord, c: ContainerRecord, cmd: string[], timeoutSeconds: number,
): Promise<{ stdout: Buffer; stderr: Buffer; exit_code: number }> {
  if (cmd.length === 0) throw new CriError(Code.INVALID_ARGUMENT, 'ExecSync: cmd is empty');
  if (c.state !== 'CONTAINER_RUNNING') {
    throw new CriError(Code.FAILED_PRECONDITION, `ExecSync: container ${c.id} is ${c.state}, not running`);
  }
  const pidFile = join(ctx.store.containerDir(c.id), `exec-${randomBytes(6).toString('hex')}.pid`);
  const r = await ctx.ociFor(sandbox).exec(c.id, cmd, timeoutSeconds * 1000, pidFile);
  if (r.timedOut) {
    throw new CriError(Code.DEADLINE_EXCEEDED, `ExecSync ${JSON.stringify(cmd)} in ${c.id} timed out after ${timeoutSeconds}s`);
  }
  return { stdout: r.stdout, stderr: r.stderr, exit_code: r.code };
}

export async function updateResources(
  ctx: ContainerContext, sandbox: SandboxRecord, c: ContainerRecord, resources: NonNullable<NonNullable<ContainerRecord['config']['linux']>['resources']>,
): Promise<void> {
  if (c.state === 'CONTAINER_RUNNING') await ctx.ociFor(sandbox).update(c.id, linuxResources(resources));
  c.config = { ...c.config, linux: { ...c.config.linux, resources } };
  await ctx.store.saveContainer(c);
}

/** Asks conmon to reopen the log file (kubelet rotated it): message 2 on its control fifo. */
export async function reopenLog(ctx: ContainerContext, c: ContainerRecord): Promise<void> {
  if (c.state !== 'CONTAINER_RUNNING') {
    throw new CriError(Code.FAILED_PRECONDITION, `ReopenContainerLog: container ${c.id} is ${c.state}, not running`);
  }
  const ctl = join(ctx.store.containerDir(c.id), 'ctl');
  const fh = await open(ctl, constants.O_WRONLY | constants.O_NONBLOCK).catch((err: Error) => {
    throw new CriError(Code.UNAVAILABLE, `ReopenContainerLog: conmon of ${c.id} is not listening on ${ctl}: ${err.message}`);
  });
  try {
    await fh.write('2 0 0\n');
  } finally {
    await fh.close();
  }
}
