// The downward API's values: pod fields (fieldRef) and container resources (resourceFieldRef),
// shared by downwardAPI volumes, projected volumes and env (valueFrom).
// https://kubernetes.io/docs/concepts/workloads/pods/downward-api/
import type { Container, Node, ObjectFieldSelector, Pod, ResourceFieldSelector } from 'kubernetes-types/core/v1.d.ts';
import { parseQuantity } from '../../api/validation/quantity.ts';
import type { RestClient } from '../../client/rest.ts';
import { R } from '../../client/resources.ts';

/** Labels and annotations as one file: `key="value"` lines sorted by key (Go's %q quoting). */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {}).sort().map((k) => `${k}=${JSON.stringify(m![k])}`).join('\n');
}

/**
 * The metadata fields every consumer may read (kubelet's fieldpath.ExtractFieldPathAsString):
 * metadata.name, namespace, uid, labels, annotations, labels['k'], annotations['k'].
 */
export function podMetadataField(pod: Pod, fieldPath: string): string {
  const md = pod.metadata ?? {};
  const sub = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(fieldPath);
  if (sub) return (sub[1] === 'labels' ? md.labels : md.annotations)?.[sub[2]] ?? '';
  switch (fieldPath) {
    case 'metadata.name': return md.name ?? '';
    case 'metadata.namespace': return md.namespace ?? '';
    case 'metadata.uid': return md.uid ?? '';
    case 'metadata.labels': return formatMap(md.labels);
    case 'metadata.annotations': return formatMap(md.annotations);
  }
  throw new Error(`unsupported fieldPath: ${fieldPath}`);
}

export interface PodRuntimeFields {
  nodeName: string;
  /** The node's addresses, for status.hostIP(s) before the pod's status has them. */
  hostIPs: () => Promise<string[]>;
}

/** A fieldRef value for env: metadata fields plus the spec and status fields env may read. */
export async function podFieldValue(pod: Pod, ref: ObjectFieldSelector, rt: PodRuntimeFields): Promise<string> {
  if (ref.apiVersion && ref.apiVersion !== 'v1') throw new Error(`unsupported pod version: ${ref.apiVersion}`);
  const status = pod.status ?? {};
  switch (ref.fieldPath) {
    case 'spec.nodeName': return pod.spec?.nodeName ?? rt.nodeName;
    case 'spec.serviceAccountName': return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP': return status.hostIP ?? (await rt.hostIPs())[0] ?? '';
    case 'status.hostIPs': return status.hostIPs?.length ? status.hostIPs.map((i) => i.ip).join(',') : (await rt.hostIPs()).join(',');
    case 'status.podIP': return status.podIP ?? '';
    case 'status.podIPs': return (status.podIPs ?? (status.podIP ? [{ ip: status.podIP }] : [])).map((i) => i.ip).join(',');
  }
  return podMetadataField(pod, ref.fieldPath);
}

/** The node's allocatable resources, which stand in for limits a container does not set. */
export async function nodeAllocatable(client: RestClient, nodeName: string): Promise<Record<string, string>> {
  const node = await client.get<Node>(R.nodes, nodeName);
  return node.status?.allocatable ?? node.status?.capacity ?? {};
}

/** Node addresses, InternalIP first (kubelet's host IPs). */
export async function nodeHostIPs(client: RestClient, nodeName: string): Promise<string[]> {
  const node = await client.get<Node>(R.nodes, nodeName);
  const addrs = node.status?.addresses ?? [];
  const ips = [...addrs.filter((a) => a.type === 'InternalIP'), ...addrs.filter((a) => a.type === 'ExternalIP')].map((a) => a.address);
  return [...new Set(ips)];
}

const RESOURCES = new Set(['limits.cpu', 'limits.memory', 'limits.ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.ephemeral-storage']);

/**
 * A resourceFieldRef value (kubelet's containerResourceRuntimeValue): cpu rounded up to whole
 * divisors (default 1 core), memory and ephemeral-storage likewise in bytes; an unset limit is
 * the node's allocatable amount. `allocatable` is only called when a limit is unset.
 */
export async function containerResourceValue(ref: ResourceFieldSelector, container: Container,
  allocatable: () => Promise<Record<string, string>>): Promise<string> {
  const resource = ref.resource;
  if (!RESOURCES.has(resource) && !/^(limits|requests)\.hugepages-/.test(resource)) throw new Error(`unsupported container resource : ${resource}`);
  const [kind, name] = [resource.slice(0, resource.indexOf('.')), resource.slice(resource.indexOf('.') + 1)];
  let quantity = (kind === 'limits' ? container.resources?.limits : container.resources?.requests)?.[name];
  if (quantity === undefined && kind === 'limits' && !name.startsWith('hugepages-')) quantity = (await allocatable())[name];
  const value = parseQuantity(quantity ?? '0') ?? 0;
  const divisor = parseQuantity(ref.divisor ?? '1');
  if (!divisor) throw new Error(`invalid divisor ${ref.divisor} for ${resource}`);
  if (name === 'cpu') {
    // In milli-cores, as kubelet divides MilliValue()s; at least 1 for a non-zero request.
    const milli = Math.ceil(value * 1000 - 1e-6);
    const divMilli = Math.ceil(divisor * 1000 - 1e-6);
    return String(Math.ceil(milli / divMilli - 1e-9));
  }
  return String(Math.ceil(value / divisor - 1e-9));
}

/** The container a volume's resourceFieldRef names (containerName is required there). */
export function containerNamed(pod: Pod, name: string | undefined): Container {
  const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  const c = name ? all.find((x) => x.name === name) : all.length === 1 ? all[0] : undefined;
  if (!c) throw new Error(`container ${name ?? ''} not found in pod ${pod.metadata?.namespace}/${pod.metadata?.name}`);
  return c;
}
