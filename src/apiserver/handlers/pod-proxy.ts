// pods/log, pods/exec, pods/attach and pods/portforward: the API server finds the pod's node and
// proxies to that node's agent (kubelet API on status.daemonEndpoints.kubeletEndpoint.Port at
// its InternalIP) over HTTPS with its kubelet client certificate, as kube-apiserver does.
// The streaming protocols (WebSocket, SPDY) pass through untouched: the agent terminates them.
// https://kubernetes.io/docs/concepts/architecture/control-plane-node-communication/#api-server-to-kubelet
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Node, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { KubeObject } from '../../api/types.ts';
import { ApiError, errors } from '../errors.ts';
import { getObject } from '../registry/read.ts';
import { parseRequest, type ResourceRequest } from '../request-info.ts';
import type { UserInfo } from '../auth.ts';
import type { ResourceCall, ServerParts } from './context.ts';
import { forwardedHeaders, proxyUpgrade, writeRawResponse } from '../../agent/server/upgrade-proxy.ts';

export interface KubeletClientTls {
  cert: string;
  key: string;
}

export const POD_PROXY_SUBRESOURCES = new Set(['log', 'exec', 'attach', 'portforward']);
const UPGRADE_SUBRESOURCES = new Set(['exec', 'attach', 'portforward']);
const DEFAULT_KUBELET_PORT = 10250;
const DEFAULT_CONTAINER_ANNOTATION = 'kubectl.kubernetes.io/default-container';

/** For the server's shouldUpgradeCallback: an upgrade to pods/exec|attach|portforward. */
export function isPodStreamUpgrade(url: string | undefined): boolean {
  const info = parseRequest('GET', url ?? '/');
  return info.kind === 'resource' && info.group === '' && info.resource === 'pods' && info.name !== '' && info.namespace !== '' &&
    UPGRADE_SUBRESOURCES.has(info.subresource);
}

export function isPodProxyCall(call: ResourceCall): boolean {
  return call.r.group === '' && call.r.plural === 'pods' && POD_PROXY_SUBRESOURCES.has(call.info.subresource);
}

/** Requests through the normal handler: GET pods/log, and stream subresources without an upgrade. */
export async function handlePodProxy(call: ResourceCall, kubelet: KubeletClientTls | undefined): Promise<void> {
  const { info } = call;
  if (info.subresource !== 'log') {
    if (info.verb !== 'get' && info.verb !== 'create') throw errors.methodNotAllowed(info.verb, `pods/${info.subresource}`);
    throw errors.badRequest('Upgrade request required');
  }
  if (info.verb !== 'get') throw errors.methodNotAllowed(info.verb, 'pods/log');
  const q = info.query;
  const pod = await getPod(call.parts, info.namespace, info.name);
  const container = containerFor(pod, q.get('container') ?? '');
  const query = new URLSearchParams();
  for (const p of ['follow', 'previous', 'timestamps', 'sinceSeconds', 'sinceTime', 'tailLines', 'limitBytes']) {
    const v = q.get(p);
    if (v !== null && v !== '') query.set(p, v);
  }
  const url = await kubeletUrl(call.parts, pod, `/containerLogs/${seg(info.namespace)}/${seg(info.name)}/${seg(container)}`, query);
  const tls = requireTls(kubelet);
  const upstream = await new Promise<IncomingMessage>((resolve, reject) => {
    const r = https.request(url, { method: 'GET', agent: agentFor(tls), headers: { accept: 'text/plain, */*' } });
    r.on('response', resolve);
    r.on('error', (e) => reject(errors.internal(`Get "${url}": ${e.message}`)));
    call.res.once('close', () => r.destroy());
    r.end();
  });
  if (upstream.statusCode !== 200) throw await relayedError(upstream);
  const res = call.res;
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private' });
  res.flushHeaders();
  await new Promise<void>((resolve) => {
    upstream.pipe(res);
    upstream.on('end', resolve);
    upstream.on('error', () => {
      res.destroy();
      resolve();
    });
    res.on('close', () => {
      upstream.destroy();
      resolve();
    });
  });
}

export interface PodUpgradeContext {
  authenticate(req: IncomingMessage): Promise<UserInfo | undefined> | UserInfo | undefined;
  /** Throws (403) when the user may not do this. */
  authorize(user: UserInfo, info: ResourceRequest): Promise<void>;
  parts: ServerParts;
  kubelet: KubeletClientTls | undefined;
}

/** The server's 'upgrade' event for pods/exec|attach|portforward. */
export async function handlePodUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, ctx: PodUpgradeContext): Promise<void> {
  socket.on('error', () => socket.destroy());
  try {
    const user = await ctx.authenticate(req);
    if (!user) throw errors.unauthorized();
    const info = parseRequest(req.method ?? 'GET', req.url ?? '/');
    if (info.kind !== 'resource') throw errors.notFoundPath();
    await ctx.authorize(user, info);
    if (req.method !== 'GET' && req.method !== 'POST') throw errors.methodNotAllowed(req.method ?? '', `pods/${info.subresource}`);
    const pod = await getPod(ctx.parts, info.namespace, info.name);
    const q = info.query;
    const query = new URLSearchParams();
    let path: string;
    if (info.subresource === 'portforward') {
      for (const p of q.getAll('ports')) for (const port of p.split(',')) query.append('port', port.trim());
      path = `/portForward/${seg(info.namespace)}/${seg(info.name)}`;
    } else {
      const container = containerFor(pod, q.get('container') ?? '');
      // kubelet's names for the stdio flags (kube-apiserver's streamParams).
      const flags: [string, string][] = [['stdin', 'input'], ['stdout', 'output'], ['stderr', 'error'], ['tty', 'tty']];
      for (const [api, kubelet] of flags) if (q.get(api) === 'true' || q.get(api) === '1') query.set(kubelet, '1');
      if (info.subresource === 'exec') {
        const command = q.getAll('command');
        if (command.length === 0) throw errors.badRequest('you must specify at least 1 command');
        for (const c of command) query.append('command', c);
      }
      path = `/${info.subresource}/${seg(info.namespace)}/${seg(info.name)}/${seg(container)}`;
    }
    const url = await kubeletUrl(ctx.parts, pod, path, query);
    const tls = requireTls(ctx.kubelet);
    try {
      await proxyUpgrade(req, socket, head, {
        url,
        headers: forwardedHeaders(req.headers),
        // kube-apiserver does not verify kubelet serving certificates unless given
        // --kubelet-certificate-authority; agents serve self-signed ones.
        tls: { cert: tls.cert, key: tls.key, rejectUnauthorized: false },
      });
    } catch (e) {
      throw errors.internal(`error dialing backend: ${(e as Error).message}`);
    }
  } catch (e) {
    const err = e instanceof ApiError ? e : errors.internal((e as Error).message);
    if (!(e instanceof ApiError)) console.error('skiff: pod stream upgrade', req.url, e);
    if (socket.writable) writeRawResponse(socket, err.code, JSON.stringify(err.toStatus()));
    else socket.destroy();
  }
}

async function getPod(parts: ServerParts, namespace: string, name: string): Promise<Pod> {
  const r = parts.resources.find('', 'v1', 'pods');
  if (!r) throw errors.notFoundPath();
  return (await getObject(parts.store, r, namespace, name)) as unknown as Pod;
}

/** The container a request is about, as kube-apiserver's validateContainer picks and words it. */
export function containerFor(pod: Pod, requested: string): string {
  const name = pod.metadata?.name ?? '';
  const all = [
    ...(pod.spec?.initContainers ?? []),
    ...(pod.spec?.containers ?? []),
    ...(pod.spec?.ephemeralContainers ?? []),
  ].map((c) => c.name);
  if (requested) {
    if (!all.includes(requested)) throw errors.badRequest(`container ${requested} is not valid for pod ${name}`);
    return requested;
  }
  const containers = pod.spec?.containers ?? [];
  if (containers.length === 1) return containers[0].name;
  if (containers.length === 0) throw errors.badRequest(`pod ${name} does not have a container`);
  const preferred = pod.metadata?.annotations?.[DEFAULT_CONTAINER_ANNOTATION];
  if (preferred && all.includes(preferred)) return preferred;
  throw errors.badRequest(`a container name must be specified for pod ${name}, choose one of: [${all.join(' ')}]`);
}

/** https://<node InternalIP>:<kubelet port><path>?<query> for the pod's node. */
async function kubeletUrl(parts: ServerParts, pod: Pod, path: string, query: URLSearchParams): Promise<URL> {
  const podName = pod.metadata?.name ?? '';
  const nodeName = pod.spec?.nodeName;
  if (!nodeName) throw errors.badRequest(`pod ${podName} does not have a host assigned`);
  const nodes = parts.resources.find('', 'v1', 'nodes');
  if (!nodes) throw errors.notFoundPath();
  let node: Node;
  try {
    node = (await getObject(parts.store, nodes, '', nodeName)) as unknown as Node;
  } catch (e) {
    if (e instanceof ApiError && e.code === 404) throw errors.internal(`node "${nodeName}" of pod ${podName} does not exist`);
    throw e;
  }
  const addresses = node.status?.addresses ?? [];
  // kube-apiserver's --kubelet-preferred-address-types, with the internal address first.
  const address = ['InternalIP', 'Hostname', 'InternalDNS', 'ExternalIP', 'ExternalDNS']
    .map((t) => addresses.find((a) => a.type === t)?.address).find((a) => a);
  if (!address) throw errors.internal(`node "${nodeName}" has no address to reach its agent at`);
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port || DEFAULT_KUBELET_PORT;
  const host = address.includes(':') ? `[${address}]` : address;
  const q = query.toString();
  return new URL(`https://${host}:${port}${path}${q ? `?${q}` : ''}`);
}

function seg(s: string): string {
  return encodeURIComponent(s);
}

function requireTls(kubelet: KubeletClientTls | undefined): KubeletClientTls {
  if (!kubelet) throw errors.internal('this API server has no kubelet client certificate to reach node agents with');
  return kubelet;
}

const agents = new WeakMap<KubeletClientTls, https.Agent>();

/** One keep-alive agent per client certificate: log requests reuse connections to a node. */
function agentFor(tls: KubeletClientTls): https.Agent {
  let a = agents.get(tls);
  if (!a) {
    a = new https.Agent({ keepAlive: true, cert: tls.cert, key: tls.key, rejectUnauthorized: false });
    agents.set(tls, a);
  }
  return a;
}

/** A non-200 answer from the agent as the error kubectl should print (its Status when it sent one). */
async function relayedError(res: IncomingMessage): Promise<ApiError> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString().slice(0, 64 * 1024);
  const code = res.statusCode ?? 500;
  try {
    const status = JSON.parse(text) as KubeObject & { message?: string; reason?: string; code?: number };
    if (status.kind === 'Status' && status.message) return new ApiError(status.code ?? code, status.reason ?? 'InternalError', status.message);
  } catch {
    // not a Status: the text itself is the message
  }
  const reason = code === 400 ? 'BadRequest' : code === 404 ? 'NotFound' : code === 403 ? 'Forbidden' : 'InternalError';
  return new ApiError(code, reason, text.trim() || `the node agent answered ${code}`);
}
