// `skiff agent`: the node agent (Skiff's kubelet) for one node.
import { readFileSync } from 'node:fs';
import { access, constants, mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { RestClient } from '../client/rest.ts';
import { Agent, DEFAULT_DATA_DIR, DEFAULT_KUBELET_PORT } from '../agent/agent.ts';
import { NETWORK_BACKENDS, type NetworkBackend } from '../agent/node-network.ts';
import { DEFAULT_CLUSTER_CIDR, DEFAULT_SERVICE_CIDR, parseIpv4Cidr } from '../network/cidr.ts';
import { bootstrapNodeCredentials } from '../agent/bootstrap.ts';
import { JOIN_TOKEN_VERSION } from '../apiserver/bootstrap-join-token.ts';
import { CliError } from './errors.ts';
import { intFlag, parseFlags } from './flags.ts';

export const AGENT_FLAGS = {
  server: { type: 'string', default: '', help: 'API server URL (with --token), e.g. https://10.0.0.1:6443' },
  token: { type: 'string', default: '', help: "the server's join token (<data-dir>/node-token: bootstraps this node's credentials) or a bearer token" },
  'certificate-authority': { type: 'string', default: '', help: "PEM file of the API server's CA (with --server; without it the server's certificate is not verified)" },
  kubeconfig: { type: 'string', default: '', help: 'kubeconfig to reach the API server with (instead of --server/--token)' },
  'node-name': { type: 'string', default: '', help: "the Node's name (default: this host's name)" },
  'node-ip': { type: 'string', default: '127.0.0.1', help: "the Node's InternalIP" },
  'data-dir': { type: 'string', default: DEFAULT_DATA_DIR, help: 'where pod dirs, logs and the in-process runtime live' },
  'container-runtime-endpoint': { type: 'string', default: '', help: 'CRI endpoint (unix:///run/containerd/containerd.sock); default: run the Skiff runtime in-process on <data-dir>/cri.sock' },
  'kubelet-port': { type: 'string', default: String(DEFAULT_KUBELET_PORT), help: "the agent's HTTPS port for logs/exec/port-forward (0 picks a free one)" },
  'pod-manifest-path': { type: 'string', default: '', help: 'directory of static pod manifests to run (mirrored into the API)' },
  'cluster-dns': { type: 'string', default: '', help: 'cluster DNS server IPs for ClusterFirst pods, comma-separated (default: the node-local DNS server on <podCIDR>.1)' },
  'cluster-domain': { type: 'string', default: 'cluster.local', help: 'the cluster\'s DNS domain' },
  'cni-conf-dir': { type: 'string', default: '', help: 'CNI config dir of the in-process runtime (default <data-dir>/cni/net.d)' },
  'flannel-backend': { type: 'string', default: 'vxlan', help: `pod network between nodes: ${NETWORK_BACKENDS.join(', ')} (none: this node's bridge alone; a loopback --node-ip implies none)` },
  'cluster-cidr': { type: 'string', default: DEFAULT_CLUSTER_CIDR, help: 'the pod range the control plane splits into node leases' },
  'service-cidr': { type: 'string', default: DEFAULT_SERVICE_CIDR, help: 'the Service ClusterIP range (never routed off the node)' },
  'disable-proxy': { type: 'boolean', default: false, help: 'do not run the service proxy (nftables table ip skiff-proxy)' },
  'disable-dns': { type: 'boolean', default: false, help: 'do not run the node-local cluster DNS server' },
} as const;

export async function runAgent(args: string[]): Promise<void> {
  const f = parseFlags('agent', 'Runs the node agent: registers this node and runs the pods bound to it through CRI.', AGENT_FLAGS, args);
  if (process.getuid?.() !== 0) throw new CliError('skiff agent must run as root (it mounts, makes network namespaces and runs runc)');
  const nodeName = (f['node-name'] || hostname()).toLowerCase();
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(nodeName)) throw new CliError(`--node-name "${nodeName}" is not a valid DNS subdomain name`);
  if (!isIP(f['node-ip'])) throw new CliError(`--node-ip must be an IP address, got "${f['node-ip']}"`);
  const clusterDns = f['cluster-dns'].split(',').map((s) => s.trim()).filter(Boolean);
  for (const ip of clusterDns) if (!isIP(ip)) throw new CliError(`--cluster-dns must be IP addresses, got "${ip}"`);
  const kubeletPort = intFlag('kubelet-port', f['kubelet-port'], 0, 65535);
  const backend = f['flannel-backend'] as NetworkBackend;
  if (!NETWORK_BACKENDS.includes(backend)) throw new CliError(`--flannel-backend must be one of ${NETWORK_BACKENDS.join(', ')}, got "${backend}"`);
  for (const flag of ['cluster-cidr', 'service-cidr'] as const) {
    try {
      parseIpv4Cidr(f[flag]);
    } catch (e) {
      throw new CliError(`--${flag}: ${(e as Error).message}`);
    }
  }
  const endpoint = f['container-runtime-endpoint'];
  if (endpoint && !endpoint.startsWith('unix:///')) throw new CliError(`--container-runtime-endpoint must be unix:///path/to.sock, got "${endpoint}"`);
  const dataDir = f['data-dir'];
  try {
    await mkdir(dataDir, { recursive: true });
    await access(dataDir, constants.W_OK);
  } catch (e) {
    throw new CliError(`--data-dir ${dataDir} is not writable: ${(e as Error).message}`);
  }
  const client = await connect(f, nodeName, dataDir);
  let agent: Agent;
  try {
    agent = await Agent.start({
      client, nodeName, nodeIp: f['node-ip'], dataDir, containerRuntimeEndpoint: endpoint || undefined, kubeletPort,
      clusterDns, clusterDomain: f['cluster-domain'],
      network: {
        backend, clusterCidr: f['cluster-cidr'], serviceCidr: f['service-cidr'], proxy: !f['disable-proxy'], dns: !f['disable-dns'],
      },
      cniConfDir: f['cni-conf-dir'] || undefined, podManifestPath: f['pod-manifest-path'] || undefined,
      log: (line) => console.error(`skiff agent: ${line}`),
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') throw new CliError(`--kubelet-port ${kubeletPort} is in use (pick another, or 0 for any free port)`);
    throw e;
  }
  console.log(`skiff: agent for node ${nodeName} running (kubelet port ${agent.kubeletPort}, runtime ${endpoint || `in-process on ${dataDir}/cri.sock`})`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    // Like kubelet: containers keep running; the next agent adopts them.
    console.log(`skiff: ${signal}: stopping the agent (containers keep running)`);
    await agent.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

async function connect(f: { server: string; token: string; kubeconfig: string; 'certificate-authority': string }, nodeName: string, dataDir: string): Promise<RestClient> {
  const opts = { userAgent: 'skiff-agent/0.1' };
  if (f.kubeconfig) {
    try {
      return RestClient.fromKubeconfig(f.kubeconfig, opts);
    } catch (e) {
      throw new CliError(`--kubeconfig ${f.kubeconfig}: ${(e as Error).message}`);
    }
  }
  if (!f.server || !f.token) throw new CliError('give --kubeconfig, or --server and --token');
  if (f.token.startsWith(`${JOIN_TOKEN_VERSION}.`)) {
    // A join token (the server's <data-dir>/node-token): trade it for this node's own credentials.
    let path: string;
    try {
      path = await bootstrapNodeCredentials({
        server: f.server, joinToken: f.token, nodeName, dir: dataDir, log: (line) => console.error(`skiff agent: ${line}`),
      });
    } catch (e) {
      throw new CliError(`node bootstrap with --token failed: ${(e as Error).message}`);
    }
    return RestClient.fromKubeconfig(path, opts);
  }
  // Any other token is a bearer token, used as it is (e.g. an admin token).
  let ca: string | undefined;
  if (f['certificate-authority']) {
    try {
      ca = readFileSync(f['certificate-authority'], 'utf8');
    } catch (e) {
      throw new CliError(`--certificate-authority: ${(e as Error).message}`);
    }
  }
  return new RestClient({ server: f.server.replace(/\/+$/, ''), token: f.token, ca, insecureSkipTLSVerify: !ca }, opts);
}
