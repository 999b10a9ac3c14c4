// Running the runtime's host commands (ip, mount, runc, CNI plugins, conmon) through one small,
// long-lived /bin/sh instead of forking the daemon for each. Node's child_process forks the whole
// Node process (libuv uses fork, not vfork, on Linux): its cost grows with the daemon's RSS (tens
// of ms at ~200 MB on a loaded machine) and a pod start needs several commands. Forking a shell of
// ~1 MB costs well under a millisecond.
//
// Protocol: one line per command written to the shell's stdin. The shell runs it in a background
// subshell (so a long command never blocks the others) that reports on the shared stdout
// "p ID PID" once the command is started, then "x ID CODE" when it ended ($?: 128+N when killed by
// signal N). The main shell reports the subshell's PID ("s ID PID"); once a command has ended the
// daemon asks the shell to `wait` for that subshell, since a non-interactive sh does not reap its
// background jobs by itself. Lines are far below PIPE_BUF, so concurrent writers don't interleave.
// stdin, stdout and stderr of a command go through files in a private tmpfs directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError, run as forkRun, type RunOptions, type RunResult } from './command.ts';

const SHELL = '/bin/sh';

/** A command started in the background (conmon): its PID and its exit code once it ends. */
export interface Launched {
  pid: number;
  /** The exit code (128+N when killed by signal N); never settles if the spawner goes away first. */
  exited: Promise<number>;
}

export interface LaunchOptions {
  /** Appends the command's stdout and stderr to this file. */
  logFile: string;
  cwd?: string;
  /** Runs it in a session of its own (setsid), away from the daemon's terminal signals. */
  newSession?: boolean;
}

interface Pending {
  pid?: number;
  subshell?: number;
  ended: boolean;
  onStart(pid: number): void;
  onExit(code: number): void;
}

/** Single-quotes a word for sh. */
export function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

class Spawner {
  private child: ChildProcess | undefined;
  private readonly dir: string;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private buffered = '';
  /** run() calls in flight: while there are any, the shell's stdout keeps the event loop alive. */
  private inFlight = 0;
  private shellErr = '';

  constructor() {
    // tmpfs when there is one: these files never need to reach a disk.
    let base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
    let dir: string;
    try {
      dir = mkdtempSync(join(base, `skiff-cmd-${process.pid}-`));
    } catch (err) {
      // A read-only /dev/shm: the temp dir will do.
      if (!['EACCES', 'EROFS', 'EPERM'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
      base = tmpdir();
      dir = mkdtempSync(join(base, `skiff-cmd-${process.pid}-`));
    }
    this.dir = dir;
    removeDeadProcessDirs(base);
    process.once('exit', () => {
      rmSync(this.dir, { recursive: true, force: true });
    });
  }

  private shell(): ChildProcess {
    if (this.child) return this.child;
    // Its own session: a Ctrl-C meant for the daemon's terminal doesn't reach the commands.
    const child = spawn(SHELL, ['-s'], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.child = child;
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => this.onData(d));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => { this.shellErr = (this.shellErr + d).slice(-2000); });
    child.stdin!.on('error', () => { /* the exit handler below fails what is pending */ });
    const gone = (why: string) => {
      if (this.child !== child) return;
      this.child = undefined;
      // Commands already started live on in their subshells, which still report on the pipe.
      for (const [id, p] of this.pending) {
        if (p.pid !== undefined) continue;
        this.pending.delete(id);
        this.shellErr ||= why;
        p.onExit(-2);
      }
    };
    child.once('exit', (code, signal) => gone(`${SHELL} exited (${signal ?? code})`));
    child.once('error', (err) => gone(`${SHELL}: ${err.message}`));
    // Idle, the shell must not keep the daemon (or a test) alive; a pending command's timer does.
    child.unref();
    for (const s of [child.stdin, child.stderr, ...(this.inFlight > 0 ? [] : [child.stdout])]) {
      (s as unknown as { unref?: () => void } | null)?.unref?.();
    }
    return child;
  }

  private onData(d: string): void {
    this.buffered += d;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      const m = /^([psx]) (\d+) (-?\d+)$/.exec(line);
      if (!m) continue;
      const id = Number(m[2]);
      const n = Number(m[3]);
      const p = this.pending.get(id);
      if (!p) continue;
      if (m[1] === 'p') {
        p.pid = n;
        p.onStart(n);
      } else if (m[1] === 's') {
        p.subshell = n;
        if (p.ended) this.reap(id, p);
      } else {
        p.ended = true;
        p.onExit(n);
        if (p.subshell) this.reap(id, p);
      }
    }
  }

  /** The subshell has ended (or is about to): `wait` makes the shell reap it. */
  private reap(id: number, p: Pending): void {
    this.pending.delete(id);
    this.child?.stdin?.write(`wait ${p.subshell} 2>/dev/null\n`);
  }

  private hold(delta: number): void {
    const before = this.inFlight;
    this.inFlight += delta;
    if (!this.child) return;
    const out = this.child.stdout as unknown as { ref(): void; unref(): void };
    if (before === 0 && this.inFlight > 0) out.ref();
    else if (before > 0 && this.inFlight === 0) out.unref();
  }

  private submit(id: number, command: string, p: Pending): void {
    const child = this.shell();
    this.pending.set(id, p);
    child.stdin!.write(`{ ${command} & echo "p ${id} $!"; wait $!; echo "x ${id} $?"; } & echo "s ${id} $!"\n`);
  }

  async run(file: string, args: string[], options: RunOptions): Promise<RunResult> {
    const id = ++this.seq;
    const base = join(this.dir, String(id));
    const files = { in: `${base}.in`, out: `${base}.out`, err: `${base}.err` };
    if (options.input !== undefined && options.input.length > 0) await writeFile(files.in, options.input);
    else files.in = '/dev/null';
    const env = options.env ? `env -i ${Object.entries(options.env).filter(([, v]) => v !== undefined).map(([k, v]) => shQuote(`${k}=${v}`)).join(' ')} ` : '';
    const command = `${env}${[file, ...args].map(shQuote).join(' ')} <${shQuote(files.in)} >${shQuote(files.out)} 2>${shQuote(files.err)}`;
    let timedOut = false;
    let pid: number | undefined;
    let killed = false;
    const kill = () => {
      killed = true;
      if (pid) killQuietly(pid);
    };
    this.hold(1);
    const code = await new Promise<number>((resolve) => {
      const timer = setTimeout(() => { timedOut = true; kill(); }, options.timeoutMs ?? 30_000);
      const abort = () => kill();
      options.signal?.addEventListener('abort', abort, { once: true });
      this.submit(id, command, {
        ended: false,
        onStart: (n) => {
          pid = n;
          if (killed) killQuietly(n);
        },
        onExit: (n) => {
          this.hold(-1);
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', abort);
          resolve(n);
        },
      });
    });
    const [stdout, stderr] = await Promise.all([
      readFile(files.out).catch(() => Buffer.alloc(0)), readFile(files.err).catch(() => Buffer.alloc(0)),
    ]);
    await Promise.all(Object.values(files).filter((f) => f.startsWith(this.dir)).map((f) => rm(f, { force: true })));
    if (code === -2) throw new Error(`cannot run ${file}: the command shell went away (${this.shellErr.trim()})`);
    const result: RunResult = { stdout, stderr, code: timedOut ? -1 : code, timedOut };
    if (code === 127 && /not found/.test(stderr.toString())) throw new Error(`cannot run ${file}: not found`);
    if (result.code === 0 || options.allowFailure) return result;
    const said = (stderr.toString().trim() || stdout.toString().trim()).slice(0, 2000);
    throw new CommandError(`${file} ${args.join(' ')} ${timedOut ? 'timed out' : `exited with ${result.code}`}${said ? `: ${said}` : ''}`, result);
  }

  async launch(file: string, args: string[], o: LaunchOptions): Promise<Launched> {
    const argv = [...(o.newSession ? ['setsid'] : []), file, ...args].map(shQuote).join(' ');
    const cd = o.cwd ? `cd ${shQuote(o.cwd)} && ` : '';
    let exit!: (code: number) => void;
    const exited = new Promise<number>((resolve) => { exit = resolve; });
    const pid = await new Promise<number>((resolve, reject) => {
      this.submit(++this.seq, `${cd}exec ${argv} </dev/null >>${shQuote(o.logFile)} 2>&1`, {
        ended: false,
        onStart: resolve,
        onExit: (n) => {
          if (n === -2) reject(new Error(`cannot start ${file}: the command shell went away (${this.shellErr.trim()})`));
          exit(n);
        },
      });
    });
    return { pid, exited };
  }
}

/** Directories of processes that ended without removing theirs (killed): named skiff-cmd-<pid>-*. */
function removeDeadProcessDirs(base: string): void {
  for (const name of readdirSync(base)) {
    const pid = Number(/^skiff-cmd-(\d+)-/.exec(name)?.[1] ?? 0);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') rmSync(join(base, name), { recursive: true, force: true });
    }
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

let spawner: Spawner | undefined;

/**
 * Runs a command like command.ts' run (same options, result and errors), through the spawner
 * shell. SKIFF_RUNTIME_FORK=1 runs it from the daemon directly instead (for comparison).
 */
export function hostRun(file: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  if (process.env.SKIFF_RUNTIME_FORK === '1') return forkRun(file, args, options);
  spawner ??= new Spawner();
  return spawner.run(file, args, options);
}

/** Starts a long-running command (conmon) in the background through the spawner shell. */
export function hostLaunch(file: string, args: string[], options: LaunchOptions): Promise<Launched> {
  spawner ??= new Spawner();
  return spawner.launch(file, args, options);
}
