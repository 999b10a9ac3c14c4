// Streaming attach: the container's stdio as conmon holds it. conmon listens on a SOCK_SEQPACKET
// socket, <socket dir>/<container id>/attach; each message it sends is one byte naming the pipe
// (2 stdout, 3 stderr) then the data, and what a client sends goes to the container's stdin. A
// client shutting down its writing side makes conmon close that stdin unless the container was
// started with --leave-stdin-open (stdinOnce false). Resizes go to conmon's control fifo as
// "1 <height> <width>". Node cannot open a SEQPACKET socket, so a few lines of Perl (perl-base
// is Essential in Debian) bridge it to pipes: stdout on fd 1, stderr on fd 3, its own errors on 2.
import { spawn } from 'node:child_process';
import { constants, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { StreamIO } from './remote-command.ts';

const BRIDGE = String.raw`
use strict; use Socket;
my ($path, $withStdin) = @ARGV;
socket(my $s, AF_UNIX, SOCK_SEQPACKET, 0) or die "socket: $!\n";
connect($s, pack_sockaddr_un($path)) or die "cannot connect to conmon's attach socket $path: $!\n";
open(my $err, '>&=', 3) or die "fd 3: $!\n";
binmode STDIN; binmode STDOUT; binmode $err;
my $pid = 0;
if ($withStdin) {
  $pid = fork() // die "fork: $!\n";
  if ($pid == 0) {
    my $buf;
    while (1) {
      my $n = sysread(STDIN, $buf, 8192);
      last if !defined($n) || $n == 0;
      defined(send($s, $buf, 0)) or exit 1;
    }
    shutdown($s, 1);
    exit 0;
  }
}
my $msg;
while (defined(recv($s, $msg, 65536, 0)) && length($msg) > 0) {
  my $out = ord(substr($msg, 0, 1)) == 3 ? $err : \*STDOUT;
  my ($off, $left) = (1, length($msg) - 1);
  while ($left > 0) {
    my $w = syswrite($out, $msg, $left, $off);
    exit 0 if !defined($w);
    $off += $w; $left -= $w;
  }
}
kill('TERM', $pid) if $pid;
exit 0;
`;

export interface AttachTarget {
  containerId: string;
  /** conmon's --socket-dir-path. */
  socketDir: string;
  /** The container's bundle dir, where conmon keeps its control fifo "ctl". */
  bundleDir: string;
  /** Whether the container was created with stdin open (conmon -i). */
  containerStdin: boolean;
}

/** Streams the container's output (from now on) until it exits or the client leaves. */
export async function attachContainer(t: AttachTarget, io: StreamIO): Promise<void> {
  const socketPath = join(t.socketDir, t.containerId, 'attach');
  if (Buffer.byteLength(socketPath) > 107) {
    throw new Error(`conmon's attach socket path ${socketPath} is longer than a unix socket address allows; use a shorter --root`);
  }
  const withStdin = !!io.stdin && t.containerStdin;
  const child = spawn('perl', ['-e', BRIDGE, socketPath, withStdin ? '1' : ''], {
    stdio: [withStdin ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe'],
  });
  const bridgeErr: Buffer[] = [];
  const closed = new Promise<number | null>((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`cannot run perl for attach: ${err.message}`)));
    child.once('close', (code) => resolve(code));
  });
  if (withStdin && child.stdin && io.stdin) {
    child.stdin.on('error', () => { /* the bridge ended: the container is gone */ });
    io.stdin.pipe(child.stdin);
  } else {
    io.stdin?.resume();
  }
  const pipeOut = (from: Readable | null, to: typeof io.stdout) => {
    if (!from) return;
    if (to) from.pipe(to, { end: false });
    else from.resume();
  };
  pipeOut(child.stdout, io.stdout);
  pipeOut(child.stdio[3] as Readable | null, io.tty ? io.stdout : io.stderr);
  child.stderr?.on('data', (d: Buffer) => bridgeErr.push(d));
  if (io.tty) {
    io.onResize((size) => {
      void resizeViaConmon(t.bundleDir, size.Width, size.Height).catch(() => undefined);
    });
  }
  const onAbort = () => child.kill('SIGTERM');
  io.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const code = await closed;
    if (code !== 0 && !io.signal.aborted) {
      throw new Error(Buffer.concat(bridgeErr).toString().trim() || `attach bridge exited with ${code}`);
    }
  } finally {
    io.signal.removeEventListener('abort', onAbort);
    io.stdin?.unpipe();
  }
}

/** Asks conmon to resize the container's terminal: message 1 on its control fifo. */
export async function resizeViaConmon(bundleDir: string, width: number, height: number): Promise<void> {
  if (!(width > 0 && height > 0)) return;
  const fh = await open(join(bundleDir, 'ctl'), constants.O_WRONLY | constants.O_NONBLOCK);
  try {
    await fh.write(`1 ${Math.floor(height)} ${Math.floor(width)}\n`);
  } finally {
    await fh.close();
  }
}
