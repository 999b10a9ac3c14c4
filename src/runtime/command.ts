// Running the host tools the runtime drives (runc, ip, CNI plugins, mount) with a deadline, and
// failing with what they said.
import { spawn } from 'node:child_process';

export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  /** Kill the command (SIGKILL) after this long; default 30 s. */
  timeoutMs?: number;
  /** Don't throw on a non-zero exit. */
  allowFailure?: boolean;
  signal?: AbortSignal;
}

export interface RunResult {
  stdout: Buffer;
  stderr: Buffer;
  /** Exit code, or 128+signal when killed; -1 when the command timed out. */
  code: number;
  timedOut: boolean;
}

export class CommandError extends Error {
  readonly result: RunResult;
  constructor(message: string, result: RunResult) {
    super(message);
    this.name = 'CommandError';
    this.result = result;
  }
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGSEGV: 11, SIGABRT: 6, SIGPIPE: 13 };

export function run(file: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, options.timeoutMs ?? 30_000);
    const abort = () => child.kill('SIGKILL');
    options.signal?.addEventListener('abort', abort, { once: true });
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => { /* the command may exit without reading its input; its exit says why */ });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${file}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', abort);
      const result: RunResult = {
        stdout: Buffer.concat(out), stderr: Buffer.concat(err),
        code: timedOut ? -1 : code ?? 128 + (SIGNALS[signal ?? ''] ?? 0), timedOut,
      };
      if (result.code === 0 || options.allowFailure) return resolve(result);
      const said = (result.stderr.toString().trim() || result.stdout.toString().trim()).slice(0, 2000);
      reject(new CommandError(`${file} ${args.join(' ')} ${timedOut ? 'timed out' : `exited with ${result.code}`}${said ? `: ${said}` : ''}`, result));
    });
    child.stdin.end(options.input ?? '');
  });
}
