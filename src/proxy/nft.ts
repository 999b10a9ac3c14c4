// Running nft scripts in the proxy's network namespace. Two ways:
// - runNft: one `nft -f -` process per script (full syncs, listings);
// - NftSession: one long-lived `nft -i` reading a script per line, so a one-Service
//   change costs a netlink transaction rather than two process start-ups. Each line is
//   one transaction (nft runs a line as one batch); after it the session writes a
//   marker line that nft rejects as a syntax error, and the echo of that marker on
//   stderr says the transaction before it is done (stdout is block-buffered on a pipe,
//   stderr is not).
import { type ChildProcess, spawn } from 'node:child_process';

export const NFT = '/usr/sbin/nft';

/** argv that runs nft in the namespace (ip netns exec), or directly. */
export function nftArgv(netns: string | undefined, args: string[]): string[] {
  return netns ? ['ip', 'netns', 'exec', netns, NFT, ...args] : [NFT, ...args];
}

export class NftError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NftError';
  }
}

/** Runs `nft <args>` with script on stdin; resolves stdout, rejects with nft's error text. */
export function runNft(netns: string | undefined, args: string[], script = ''): Promise<string> {
  const [cmd, ...rest] = nftArgv(netns, args);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, rest, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => reject(new NftError(`cannot run ${cmd}: ${e.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString());
      else reject(new NftError(`nft ${args.join(' ')} failed (exit ${code}): ${firstLines(err)}`));
    });
    child.stdin.on('error', () => { /* the exit code reports what went wrong */ });
    child.stdin.end(script);
  });
}

function firstLines(text: string, n = 6): string {
  const lines = text.trim().split('\n');
  return lines.slice(0, n).map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l)).join('\n') + (lines.length > n ? `\n(${lines.length - n} more lines)` : '');
}

/** A persistent `nft -i`; one transaction at a time. Restarted after maxCommands (libedit keeps a history). */
export class NftSession {
  private readonly netns: string | undefined;
  private readonly maxCommands: number;
  private readonly timeoutMs: number;
  private child: ChildProcess | undefined;
  private stderr = '';
  private seq = 0;
  private commands = 0;
  private waiter: { marker: string; resolve: (err: string) => void } | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(netns: string | undefined, opts: { maxCommands?: number; timeoutMs?: number } = {}) {
    this.netns = netns;
    this.maxCommands = opts.maxCommands ?? 20_000;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  private start(): ChildProcess {
    const [cmd, ...rest] = nftArgv(this.netns, ['-i']);
    const child = spawn(cmd, rest, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.stderr = '';
    this.commands = 0;
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      this.stderr += d;
      const w = this.waiter;
      if (!w) return;
      // The marker's echo is "<marker>\n<spaces>^"; everything before its error block is the transaction's.
      const at = this.stderr.indexOf(`\n${w.marker}\n`);
      if (at < 0) return;
      const end = this.stderr.indexOf('^', at);
      if (end < 0) return;
      const before = this.stderr.slice(0, this.stderr.lastIndexOf('Error:', at));
      this.stderr = this.stderr.slice(end + 1);
      this.waiter = undefined;
      w.resolve(before.trim());
    });
    child.on('error', () => { /* reported through exit */ });
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      const w = this.waiter;
      this.waiter = undefined;
      w?.resolve(`nft -i exited (${signal ?? code}): ${this.stderr.trim() || 'no output'}`);
    });
    child.stdin!.on('error', () => { /* reported through exit */ });
    this.child = child;
    return child;
  }

  /** Runs a script as one transaction; rejects with nft's message. Lines of the script are joined with ";". */
  apply(script: string): Promise<void> {
    const run = async () => {
      if (this.child && this.commands >= this.maxCommands) await this.close();
      const child = this.child && this.child.exitCode === null ? this.child : this.start();
      const line = script.split('\n').filter((l) => l.trim()).join('; ');
      const marker = `skiff-ack-${++this.seq}`;
      this.commands++;
      let timer: NodeJS.Timeout | undefined;
      const err = await new Promise<string>((resolve) => {
        this.waiter = { marker, resolve };
        // A session that stops answering is replaced; the caller falls back to a full sync.
        timer = setTimeout(() => {
          this.waiter = undefined;
          child.kill('SIGKILL');
          resolve(`nft -i did not answer within ${this.timeoutMs} ms`);
        }, this.timeoutMs);
        child.stdin!.write(`${line}\n${marker}\n`);
      });
      clearTimeout(timer);
      if (err) throw new NftError(`nft transaction failed: ${firstLines(err)}`);
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    const exited = new Promise((r) => child.once('exit', r));
    child.stdin!.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }
}
