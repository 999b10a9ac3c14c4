// Every `ip`, `bridge`, `nft` and `sysctl` the pod network runs goes through one runner that can
// aim at a network namespace (`ip -n <ns>`, `bridge -n <ns>`, `ip netns exec <ns> nft ...`), so
// the same agent programs the host in production and a node namespace in tests.
import { run, type RunOptions } from '../runtime/command.ts';

const IP = '/usr/sbin/ip';
const BRIDGE = '/usr/sbin/bridge';
const NFT = '/usr/sbin/nft';
const SYSCTL = '/usr/sbin/sysctl';

export interface NetRunner {
  /** The namespace commands run in; undefined for the caller's own. */
  readonly netns: string | undefined;
  /** `ip <args>`; stdout. Throws (with what ip said) on a non-zero exit. */
  ip(args: string[], opts?: RunOptions): Promise<string>;
  /** `ip -j <args>` parsed; [] when ip prints nothing. */
  ipJson<T>(args: string[]): Promise<T[]>;
  /** `ip -batch -` with one command a line; -force runs every line even after a failure (the error then names the failed lines). */
  ipBatch(lines: string[]): Promise<void>;
  bridge(args: string[], opts?: RunOptions): Promise<string>;
  bridgeJson<T>(args: string[]): Promise<T[]>;
  bridgeBatch(lines: string[]): Promise<void>;
  /** `nft <args>`, with input on stdin (e.g. `nft -f -`). */
  nft(args: string[], input?: string): Promise<string>;
  /** Sets a sysctl inside the namespace (net.* sysctls are per namespace). */
  sysctl(key: string, value: string): Promise<void>;
  /** Any program, run inside the namespace (`ip netns exec`). */
  exec(file: string, args: string[], opts?: RunOptions): Promise<string>;
}

export function netRunner(netns?: string): NetRunner {
  const nsArgs = netns ? ['-n', netns] : [];
  const inNs = (file: string, args: string[]): [string, string[]] => (netns ? [IP, ['netns', 'exec', netns, file, ...args]] : [file, args]);
  const out = async (file: string, args: string[], opts?: RunOptions) => (await run(file, args, opts)).stdout.toString();
  const json = <T>(text: string): T[] => (text.trim() ? (JSON.parse(text) as T[]) : []);
  const runner: NetRunner = {
    netns,
    ip: (args, opts) => out(IP, [...nsArgs, ...args], opts),
    ipJson: async <T>(args: string[]) => json<T>(await out(IP, [...nsArgs, '-j', ...args])),
    async ipBatch(lines) {
      if (lines.length) await run(IP, [...nsArgs, '-force', '-batch', '-'], { input: `${lines.join('\n')}\n` });
    },
    bridge: (args, opts) => out(BRIDGE, [...nsArgs, ...args], opts),
    bridgeJson: async <T>(args: string[]) => json<T>(await out(BRIDGE, [...nsArgs, '-j', ...args])),
    async bridgeBatch(lines) {
      if (lines.length) await run(BRIDGE, [...nsArgs, '-force', '-batch', '-'], { input: `${lines.join('\n')}\n` });
    },
    nft: (args, input) => out(...inNs(NFT, args), input === undefined ? undefined : { input }),
    async sysctl(key, value) {
      await run(...inNs(SYSCTL, ['-q', '-w', `${key}=${value}`]));
    },
    exec: (file, args, opts) => out(...inNs(file, args), opts),
  };
  return runner;
}

/** true when err is ip/bridge saying the thing is not there (deleting what is already gone). */
export function isNotFoundError(err: unknown): boolean {
  return /Cannot find device|No such process|No such file or directory|does not exist|Object not found/i.test((err as Error)?.message ?? '');
}
