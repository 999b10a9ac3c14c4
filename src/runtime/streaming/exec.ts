// Streaming exec: `runc exec` in the foreground with its stdio on pipes joined to the client's
// channels. With a tty runc allocates the pty inside the container and copies between it and
// those pipes; resizes are applied from the host with stty on the process's own terminal
// (/proc/<pid>/fd/N), which also sends it SIGWINCH, so the image needs no stty of its own.
import { randomBytes } from 'node:crypto';
import { readFile, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../command.ts';
import type { OciRuntime } from '../oci-runtime.ts';
import { ExitCodeError, type StreamIO } from './remote-command.ts';

export interface ExecTarget {
  containerId: string;
  /** Where the exec's pid file may go (the container's state dir). */
  stateDir: string;
  oci: OciRuntime;
}

/** Runs cmd; resolves on exit 0, rejects with ExitCodeError for another code. */
export async function execInContainer(t: ExecTarget, cmd: string[], io: StreamIO): Promise<void> {
  if (io.signal.aborted) throw new Error('the streaming client disconnected before the exec started');
  const pidFile = join(t.stateDir, `exec-${randomBytes(6).toString('hex')}.pid`);
  const child = t.oci.spawnExec(t.containerId, cmd, { tty: io.tty, stdin: !!io.stdin, pidFile });
  const runcErr: Buffer[] = [];
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`cannot run ${t.oci.binary} exec: ${err.message}`)));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  const pid = waitForPid(pidFile, closed);
  if (io.stdin && child.stdin) {
    const [from, to] = [io.stdin, child.stdin];
    to.on('error', () => { /* the process may exit without reading all its input */ });
    // With a tty, input waits for the process: until runc has started it, the terminal that
    // script(1) gave runc may still echo (see OciRuntime.spawnExec).
    if (io.tty) void pid.then(() => from.pipe(to));
    else from.pipe(to);
  }
  if (io.stdout) child.stdout?.pipe(io.stdout, { end: false });
  else child.stdout?.resume();
  // With a tty there is no stderr channel: runc's own complaints go to the terminal.
  const errSink = io.tty ? io.stdout : io.stderr;
  child.stderr?.on('data', (d: Buffer) => { runcErr.push(d); errSink?.write(d); });

  if (io.tty) {
    io.onResize((size) => {
      void pid.then((p) => (p ? resizeTerminal(p, size.Width, size.Height) : undefined)).catch(() => undefined);
    });
  }
  const onAbort = () => {
    // runc leaves the process it started running in the container: end it too.
    void pid.then((p) => { if (p) killQuietly(p); });
    child.kill('SIGKILL');
  };
  io.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const { code, signal } = await closed;
    if (signal) throw new Error(`${t.oci.binary} exec was killed by ${signal}`);
    if (code !== 0) {
      // runc exits 255 itself when it could not start the process at all.
      const said = Buffer.concat(runcErr).toString().trim();
      if (code === 255 && /exec failed|unable to start|runc run failed|container .* not running/i.test(said)) {
        throw new Error(said.split('\n').slice(-1)[0]);
      }
      throw new ExitCodeError(code ?? 1);
    }
  } finally {
    io.signal.removeEventListener('abort', onAbort);
    io.stdin?.unpipe();
    // Not before the pid is read: an abort kills runc first, and the kill of the process it
    // started waits for that read.
    await pid;
    await rm(pidFile, { force: true });
  }
}

/** The exec'd process's pid once runc wrote it, or 0 if runc ended first. */
async function waitForPid(pidFile: string, closed: Promise<unknown>): Promise<number> {
  let done = false;
  void closed.then(() => { done = true; }, () => { done = true; });
  for (;;) {
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    if (pid > 0) return pid;
    if (done) return 0;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Sets the window size of the terminal the process has as stdin, stdout or stderr. */
export async function resizeTerminal(pid: number, width: number, height: number): Promise<void> {
  if (!(width > 0 && height > 0)) return;
  for (const fd of [0, 1, 2]) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    if (!target.startsWith('/dev/pts/')) continue;
    await run('stty', ['-F', `/proc/${pid}/fd/${fd}`, 'rows', String(Math.floor(height)), 'cols', String(Math.floor(width))], { timeoutMs: 5000 });
    return;
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
