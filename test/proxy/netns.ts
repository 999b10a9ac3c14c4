// A small network of namespaces for the proxy's kernel tests, all named skiff-proxytest-<pid>*:
//
//   node (skiff-proxytest-<pid>)     the proxy programs its table here; routes between the others
//     skiffbr0 10.42.0.1/24 ── veth ── ep1 10.42.0.11, ep2 10.42.0.12, ep3 10.42.0.13 (pods), cl 10.42.0.20 (client pod)
//     skv-ext 10.43.255.1/24 ── veth ── ext 10.43.255.2 (a client outside the cluster; 10.43.255.1 is the node address)
//
// Each pod namespace runs busybox httpd on :8080 whose /cgi-bin/who answers "<name> <client address>".
// Nothing is created in the machine's own namespace except the namespaces themselves.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BUSYBOX = '/bin/busybox';

export function run(cmd: string, args: string[], timeoutMs = 20_000, input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout, stderr });
    });
    child.stdin?.on('error', () => { /* a refused connection closes stdin early */ });
    child.stdin?.end(input ?? '');
  });
}

/** An HTTP/1.0 GET through busybox nc (busybox wget -T crashes on this Debian build); the body, or nc's error. */
async function httpGet(ns: string, url: string, timeoutS: number): Promise<{ ok: boolean; text: string }> {
  const u = new URL(url);
  const r = await run('ip', ['netns', 'exec', ns, BUSYBOX, 'nc', '-w', String(timeoutS), u.hostname, u.port || '80'], (timeoutS + 10) * 1000,
    `GET ${u.pathname} HTTP/1.0\r\nHost: ${u.host}\r\n\r\n`);
  // httpd passes a CGI's own "\n\n" header end through.
  const end = /\r?\n\r?\n/.exec(r.stdout);
  if (r.code === 0 && /^HTTP\/1\.[01] 200/.test(r.stdout) && end) return { ok: true, text: r.stdout.slice(end.index + end[0].length).trim() };
  return { ok: false, text: (r.stderr || r.stdout || `nc exited ${r.code}`).trim() };
}

export async function must(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

export interface TestNet {
  node: string;
  ns(name: 'ep1' | 'ep2' | 'ep3' | 'cl' | 'ext'): string;
  podIP: Record<'ep1' | 'ep2' | 'ep3' | 'cl', string>;
  nodeAddress: string;
  /** An HTTP GET from a namespace (busybox nc); resolves the body, or throws with the error and how long it took. */
  get(from: string, url: string, timeoutS?: number): Promise<string>;
  /** Like get, but never throws: {ok, body|error, ms}. */
  attempt(from: string, url: string, timeoutS?: number): Promise<{ ok: boolean; text: string; ms: number }>;
  cleanup(): Promise<void>;
}

export async function createTestNet(): Promise<TestNet> {
  const node = `skiff-proxytest-${process.pid}`;
  const names = ['ep1', 'ep2', 'ep3', 'cl', 'ext'] as const;
  const nsOf = (n: string) => `${node}-${n}`;
  const created: string[] = [];
  const procs: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'skiff-proxytest-'));
  const podIP = { ep1: '10.42.0.11', ep2: '10.42.0.12', ep3: '10.42.0.13', cl: '10.42.0.20' };
  const inNode = (args: string[]) => must('ip', ['netns', 'exec', node, ...args]);

  const cleanup = async () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await Promise.all(procs.map((p) => (p.exitCode === null && p.signalCode === null ? new Promise((r) => p.once('exit', r)) : undefined)));
    for (const ns of created.reverse()) await run('ip', ['netns', 'delete', ns]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const ns of [node, ...names.map(nsOf)]) {
      await must('ip', ['netns', 'add', ns]);
      created.push(ns);
      await must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    await inNode(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    await inNode(['ip', 'link', 'add', 'skiffbr0', 'type', 'bridge']);
    await inNode(['ip', 'addr', 'add', '10.42.0.1/24', 'dev', 'skiffbr0']);
    await inNode(['ip', 'link', 'set', 'skiffbr0', 'up']);
    for (const [name, ip] of Object.entries(podIP)) {
      const ns = nsOf(name);
      await inNode(['ip', 'link', 'add', `skv-${name}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      await inNode(['ip', 'link', 'set', `skv-${name}`, 'master', 'skiffbr0', 'up']);
      // As the CNI bridge plugin's hairpinMode: with br_netfilter loaded, a pod's DNATed
      // connection to itself is bridged back out of the port it came in on.
      await inNode(['ip', 'link', 'set', `skv-${name}`, 'type', 'bridge_slave', 'hairpin', 'on']);
      await must('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
      await must('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      await must('ip', ['-n', ns, 'route', 'add', 'default', 'via', '10.42.0.1']);
    }
    const ext = nsOf('ext');
    await inNode(['ip', 'link', 'add', 'skv-ext', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ext]);
    await inNode(['ip', 'addr', 'add', '10.43.255.1/24', 'dev', 'skv-ext']);
    await inNode(['ip', 'link', 'set', 'skv-ext', 'up']);
    await must('ip', ['-n', ext, 'addr', 'add', '10.43.255.2/24', 'dev', 'eth0']);
    await must('ip', ['-n', ext, 'link', 'set', 'eth0', 'up']);
    await must('ip', ['-n', ext, 'route', 'add', 'default', 'via', '10.43.255.1']);

    for (const name of ['ep1', 'ep2', 'ep3'] as const) {
      const root = join(dir, name);
      mkdirSync(join(root, 'cgi-bin'), { recursive: true });
      writeFileSync(join(root, 'index.html'), `${name}\n`);
      const cgi = join(root, 'cgi-bin', 'who');
      writeFileSync(cgi, `#!${BUSYBOX} sh\necho "Content-Type: text/plain"\necho\necho "${name} $REMOTE_ADDR"\n`);
      chmodSync(cgi, 0o755);
      const p = spawn('ip', ['netns', 'exec', nsOf(name), BUSYBOX, 'httpd', '-f', '-p', `${podIP[name]}:8080`, '-h', root], { stdio: 'ignore' });
      procs.push(p);
    }
    // httpd is up once it answers on its own address.
    for (const name of ['ep1', 'ep2', 'ep3'] as const) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const r = await httpGet(nsOf(name), `http://${podIP[name]}:8080/cgi-bin/who`, 2);
        if (r.ok) break;
        if (Date.now() > deadline) throw new Error(`httpd in ${name} did not answer: ${r.text}`);
        await new Promise((res) => setTimeout(res, 100));
      }
    }
  } catch (e) {
    await cleanup();
    throw e;
  }

  const attempt = async (from: string, url: string, timeoutS = 3) => {
    const t = performance.now();
    const r = await httpGet(from, url, timeoutS);
    return { ...r, ms: performance.now() - t };
  };
  return {
    node,
    ns: nsOf,
    podIP,
    nodeAddress: '10.43.255.1',
    attempt,
    async get(from, url, timeoutS) {
      const r = await attempt(from, url, timeoutS);
      if (!r.ok) throw new Error(`GET ${url} from ${from} failed after ${r.ms.toFixed(0)} ms: ${r.text}`);
      return r.text;
    },
    cleanup,
  };
}
