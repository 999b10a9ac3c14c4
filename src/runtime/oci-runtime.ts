// runc (or another OCI runtime with runc's CLI) under conmon. conmon runs `runc create`, then
// stays as the container's monitor: it copies the container's stdout/stderr into the CRI log
// file and writes the exit code into the exit dir. We run start/kill/delete/exec/update.
// conmon runs with --sync so it stays the child of whoever started it (the spawner shell's
// subshell, which reaps it: this machine's PID 1 does not), in its own session, so containers
// outlive a restart of the runtime.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { hostLaunch, hostRun as run } from './spawner.ts';

export interface RuncState {
  id: string;
  pid: number;
  /** creating | created | running | paused | stopped */
  status: string;
}

export interface LaunchOptions {
  id: string;
  bundle: string;
  /** CRI log file ('' for none: conmon then logs nowhere). */
  logPath: string;
  exitDir: string;
  socketDir: string;
  /** Where conmon's own messages go. */
  conmonLog: string;
  tty: boolean;
  stdin: boolean;
  /** Keep stdin open when an attached client detaches (CRI stdin_once false); conmon closes it otherwise. */
  leaveStdinOpen?: boolean;
  timeoutMs?: number;
}

export class OciRuntime {
  readonly binary: string;
  readonly stateRoot: string;
  readonly conmon: string;
  /** The handler's global flags (e.g. runsc's --network), before every subcommand. */
  readonly globalArgs: string[];

  constructor(binary: string, stateRoot: string, conmon = '/usr/bin/conmon', globalArgs: string[] = []) {
    this.binary = binary;
    this.stateRoot = stateRoot;
    this.conmon = conmon;
    this.globalArgs = globalArgs;
  }

  /** The binary's global flags: the handler's and the state root. */
  private get flags(): string[] {
    return [...this.globalArgs, `--root=${this.stateRoot}`];
  }

  private runc(args: string[], timeoutMs = 30_000) {
    return run(this.binary, [...this.flags, ...args], { timeoutMs });
  }

  /** runc's view of the container, or undefined when runc does not know it. */
  async state(id: string): Promise<RuncState | undefined> {
    const r = await run(this.binary, [...this.flags, 'state', id], { allowFailure: true });
    if (r.code !== 0) {
      if (/does not exist|not found/i.test(r.stderr.toString())) return undefined;
      throw new Error(`${this.binary} state ${id} failed: ${r.stderr.toString().trim()}`);
    }
    const s = JSON.parse(r.stdout.toString()) as { id: string; pid: number; status: string };
    return { id: s.id, pid: s.pid, status: s.status };
  }

  /**
   * Starts conmon, which runs `runc create`; resolves with the container's and conmon's PIDs once
   * the container exists, or rejects with what conmon and runc said.
   */
  async create(o: LaunchOptions): Promise<{ pid: number; conmonPid: number }> {
    const pidFile = join(o.bundle, 'pidfile');
    await rm(pidFile, { force: true });
    const args = [
      '-c', o.id, '-u', o.id, '-n', o.id, '-r', this.binary, ...this.flags.map((f) => `--runtime-arg=${f}`),
      '-b', o.bundle, '-p', pidFile, '-P', join(o.bundle, 'conmon.pid'),
      '--exit-dir', o.exitDir, '--socket-dir-path', o.socketDir, '--sync',
      ...(o.logPath ? ['-l', `k8s-file:${o.logPath}`] : ['-l', 'none:']),
      ...(o.tty ? ['-t'] : []), ...(o.stdin ? ['-i'] : []), ...(o.stdin && o.leaveStdinOpen ? ['--leave-stdin-open'] : []),
    ];
    // Started by the spawner shell (not forked from the daemon), in a session of its own; the
    // shell's subshell waits for it, so it is reaped when it ends.
    const launched = await hostLaunch(this.conmon, args, { logFile: o.conmonLog, cwd: o.bundle, newSession: true });
    const conmonPid = launched.pid;
    let exited: number | undefined;
    const done = launched.exited.then((code) => { exited = code; });
    const deadline = Date.now() + (o.timeoutMs ?? 30_000);
    for (;;) {
      const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
      if (pid > 0) return { pid, conmonPid };
      if (exited !== undefined) {
        const said = (await readFile(o.conmonLog, 'utf8').catch(() => '')).trim().split('\n').slice(-5).join('\n');
        throw new Error(`creating container ${o.id} failed (conmon exited with ${exited}): ${said}`);
      }
      if (Date.now() > deadline) {
        if (conmonPid) process.kill(conmonPid, 'SIGKILL');
        throw new Error(`creating container ${o.id} did not finish within ${o.timeoutMs ?? 30_000} ms`);
      }
      // Short: this poll is on every container start's path.
      await Promise.race([done, sleep(5)]);
    }
  }

  /**
   * Starts a created container: its init, blocked until then, execs the container's process.
   * For runc itself this is done here rather than by `runc start` (a Go program: tens of ms
   * per pod on a loaded node): see startThroughExecFifo. Other runtimes get `<binary> start`.
   */
  async start(id: string, initPid = 0): Promise<void> {
    if (basename(this.binary) === 'runc' && initPid > 0) {
      if (await startThroughExecFifo(join(this.stateRoot, id, 'exec.fifo'), initPid)) return;
    }
    await this.runc(['start', id]);
  }

  /** Sends signal to the container's init (all its processes with all=true). */
  async kill(id: string, signal: string, all = false): Promise<void> {
    const r = await run(this.binary, [...this.flags, 'kill', ...(all ? ['--all'] : []), id, signal], { allowFailure: true });
    if (r.code !== 0 && !/not running|process already finished|does not exist|no such process/i.test(r.stderr.toString())) {
      throw new Error(`${this.binary} kill ${id} ${signal} failed: ${r.stderr.toString().trim()}`);
    }
  }

  async delete(id: string): Promise<void> {
    const r = await run(this.binary, [...this.flags, 'delete', '--force', id], { allowFailure: true });
    if (r.code !== 0 && !/does not exist|not found/i.test(r.stderr.toString())) {
      throw new Error(`${this.binary} delete ${id} failed: ${r.stderr.toString().trim()}`);
    }
  }

  /** Runs cmd in the container and captures its output; on timeout kills it (exit code -1). */
  async exec(id: string, cmd: string[], timeoutMs: number, pidFile: string): Promise<{ stdout: Buffer; stderr: Buffer; code: number; timedOut: boolean }> {
    await rm(pidFile, { force: true });
    const r = await run(this.binary, [...this.flags, 'exec', '--pid-file', pidFile, id, ...cmd], {
      allowFailure: true, timeoutMs: timeoutMs > 0 ? timeoutMs : 24 * 3600_000,
    });
    if (r.timedOut) {
      // runc was killed; the process it started lives on in the container unless we end it.
      const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
      if (pid > 0) {
        try { process.kill(pid, 'SIGKILL'); } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
        }
      }
    }
    await rm(pidFile, { force: true });
    return r;
  }

  /**
   * Starts cmd in the container with its stdio on pipes, for streaming exec. With tty, runc makes
   * a pty in the container and copies between it and its own stdio; runc 1.1 also insists on a
   * controlling terminal of its own (it opens /dev/tty), which script(1) provides, made
   * transparent (raw, no echo) before runc starts. The caller owns the child.
   */
  spawnExec(id: string, cmd: string[], o: { tty: boolean; stdin: boolean; pidFile: string }): ChildProcess {
    const argv = [this.binary, ...this.flags, 'exec', ...(o.tty ? ['--tty'] : []), '--pid-file', o.pidFile, id, ...cmd];
    if (!o.tty) return spawn(argv[0], argv.slice(1), { stdio: [o.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const line = `stty raw -echo && exec ${argv.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ')}`;
    // script's stdin stays a pipe even without stdin: its end would reach the terminal as ^D.
    // --echo never: the outer terminal echoes nothing even before stty runs (input typed at once would be echoed twice).
    return spawn('script', ['-q', '-e', '--echo', 'never', '-c', line, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, SHELL: '/bin/sh' } });
  }

  async update(id: string, resources: Record<string, unknown>): Promise<void> {
    const file = join(this.stateRoot, `${id}.update.json`);
    await writeFile(file, JSON.stringify(resources));
    try {
      await this.runc(['update', '--resources', file, id]);
    } finally {
      await rm(file, { force: true });
    }
  }
}

/**
 * What `runc start` does (runc 1.x, libcontainer's exec()): `runc create` leaves the container's
 * init blocked opening <state root>/<id>/exec.fifo for writing; opening it for reading lets init
 * write "0" and exec the process; the fifo is then removed, which is how runc tells a running
 * container from a created one. Returns false (the caller falls back to `runc start`) when there
 * is no fifo; throws when init is gone before writing.
 */
export async function startThroughExecFifo(fifo: string, initPid: number, timeoutMs = 30_000): Promise<boolean> {
  let fh;
  try {
    // Non-blocking: a blocking open would hang a libuv thread for good if init were dead.
    fh = await open(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  try {
    const buf = Buffer.alloc(16);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = await fh.read(buf, 0, buf.length, null).then((r) => r.bytesRead, (err: NodeJS.ErrnoException) => {
        if (err.code === 'EAGAIN') return -1;
        throw err;
      });
      if (n > 0) break;
      // n === 0: no writer yet (init has not opened its end) or no more (init died without writing).
      if (n === 0 && !(await alive(initPid))) throw new Error(`the container's init (pid ${initPid}) ended before it could be started`);
      if (Date.now() > deadline) throw new Error(`the container's init (pid ${initPid}) did not take the start signal within ${timeoutMs} ms`);
      await sleep(1);
    }
  } finally {
    await fh.close();
  }
  await rm(fifo, { force: true });
  return true;
}

/** Whether pid is a live (not zombie) process. */
async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Field 3, after the command in parentheses (which may itself hold spaces and parentheses).
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== '' && state !== 'Z' && state !== 'X';
}

/** The exit code conmon recorded for id, with the time it was written; undefined while none. */
export async function readExitFile(exitDir: string, id: string): Promise<{ code: number; at: number } | undefined> {
  const path = join(exitDir, id);
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (text === undefined || text.trim() === '') return undefined;
  const st = await stat(path);
  return { code: Number(text.trim()), at: Math.round(st.mtimeMs * 1e6) };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
