// Plays the life of every pod bound to a hollow node, as kwok's stages do:
// bound → Running and Ready after the ready delay; a Job's pod (or one with the
// `skiff.io/hollow-run-time` annotation) → Succeeded after its run time; a pod
// being deleted → gone (the kubelet's final delete with grace 0, which confirms
// the containers stopped). One informer on bound pods for the whole process.
// https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/
import type { Node, Pod } from 'kubernetes-types/core/v1.d.ts';
import { Controller } from '../client/controller.ts';
import { isConflict, isNotFound } from '../client/errors.ts';
import type { SharedInformerFactory } from '../client/informer-factory.ts';
import { R } from '../client/resources.ts';
import type { RestClient } from '../client/rest.ts';
import { formatIpv4, hostAddress, type Ipv4Cidr, parseIpv4, parseIpv4Cidr } from '../network/cidr.ts';
import type { Limiter } from './limit.ts';
import { runningStatus, succeededStatus } from './pod-status.ts';
import { parseGoDuration } from '../api/time.ts';

/** Pods with this annotation finish (Succeeded) this long after they start, e.g. "3s". */
export const RUN_TIME_ANNOTATION = 'skiff.io/hollow-run-time';

const POD_NODE_INDEX = 'hollow:spec.nodeName';

export interface HollowNodeInfo {
  index: number;
  hostIP: string;
}

export interface PodPlayerOptions {
  client: RestClient;
  informers: SharedInformerFactory;
  limiter: Limiter;
  /** The nodes this process plays, by name. */
  nodes: Map<string, HollowNodeInfo>;
  readyDelayMs: number;
  /** How long a Job's pod runs before it succeeds. */
  jobRunTimeMs: number;
  workers: number;
  log(message: string): void;
}

/** A Go duration ("3s", "1m30s", "500ms") in ms, or undefined when it is not a non-negative one. */
export function parseDuration(s: string): number | undefined {
  const ns = parseGoDuration(s);
  return ns === undefined || ns < 0 ? undefined : ns / 1e6;
}

/** Pod IPs handed out per node: a pod keeps its IP until it is deleted. */
class PodIps {
  private readonly byNode = new Map<string, Map<string, string>>(); // node -> ip -> pod uid
  private readonly byPod = new Map<string, { node: string; ip: string }>();

  /** Records that uid uses ip (an IP the pod already has, e.g. from before a restart). */
  hold(node: string, uid: string, ip: string): void {
    if (this.byPod.has(uid)) return;
    let ips = this.byNode.get(node);
    if (!ips) this.byNode.set(node, (ips = new Map()));
    if (ips.has(ip)) return;
    ips.set(ip, uid);
    this.byPod.set(uid, { node, ip });
  }

  /** The pod's IP: the one it holds, else the lowest free address of range (from .2: .1 is the gateway). */
  allocate(node: string, uid: string, range: Ipv4Cidr): string {
    const held = this.byPod.get(uid);
    if (held) return held.ip;
    const ips = this.byNode.get(node) ?? new Map<string, string>();
    for (let offset = 2; ; offset++) {
      const ip = hostAddress(range, offset);
      if (!ip) throw new Error(`node ${node}: no free pod IP left in ${formatIpv4(range.base)}/${range.prefix}`);
      if (!ips.has(ip)) {
        this.hold(node, uid, ip);
        return ip;
      }
    }
  }

  release(uid: string): void {
    const held = this.byPod.get(uid);
    if (!held) return;
    this.byPod.delete(uid);
    this.byNode.get(held.node)?.delete(held.ip);
  }
}

/** Without a spec.podCIDR the index-th node hands out IPs from 10.128.0.0/9, a /24 each (fake, never routed). */
function fallbackRange(index: number): Ipv4Cidr {
  return { base: parseIpv4('10.128.0.0') + (index % 32_768) * 256, prefix: 24 };
}

export function startPodPlayer(opts: PodPlayerOptions): Controller {
  const { client, limiter, nodes } = opts;
  const pods = opts.informers.informerFor<Pod>(R.pods, { fieldSelector: 'spec.nodeName!=' });
  const nodeInformer = opts.informers.informerFor<Node>(R.nodes);
  const ips = new PodIps();
  const boundAt = new Map<string, number>(); // pod uid -> when we first saw it on our node
  const runningAt = new Map<string, number>(); // pod uid -> when we made it Running

  const forget = (uid: string) => {
    ips.release(uid);
    boundAt.delete(uid);
    runningAt.delete(uid);
  };

  const runTimeOf = (pod: Pod): number | undefined => {
    const a = pod.metadata?.annotations?.[RUN_TIME_ANNOTATION];
    if (a !== undefined) {
      const ms = parseDuration(a);
      if (ms !== undefined) return ms;
      opts.log(`pod ${pod.metadata?.namespace}/${pod.metadata?.name}: annotation ${RUN_TIME_ANNOTATION}="${a}" is not a duration like 3s; ignoring it`);
    }
    return pod.metadata?.ownerReferences?.some((r) => r.kind === 'Job' && r.controller) ? opts.jobRunTimeMs : undefined;
  };

  const podRange = (nodeName: string, info: HollowNodeInfo): Ipv4Cidr => {
    const cidr = nodeInformer.get(nodeName)?.spec?.podCIDR;
    if (cidr) {
      try {
        return parseIpv4Cidr(cidr);
      } catch (e) {
        opts.log(`node ${nodeName}: podCIDR ${cidr} unusable (${(e as Error).message}); using a fake range`);
      }
    }
    return fallbackRange(info.index);
  };

  const sync = async (key: string): Promise<void> => {
    const pod = pods.get(key);
    if (!pod) return;
    const nodeName = pod.spec?.nodeName ?? '';
    const info = nodes.get(nodeName);
    if (!info) return; // someone else's node
    const { name, namespace, uid } = pod.metadata as { name: string; namespace: string; uid: string };
    if (pod.metadata?.deletionTimestamp) {
      // The containers "stopped" at once: confirm, as the kubelet does when termination finishes.
      try {
        await limiter.run(() => client.delete(R.pods, name, { namespace, gracePeriodSeconds: 0, preconditions: { uid } }));
      } catch (e) {
        if (!isNotFound(e) && !isConflict(e)) throw e;
      }
      forget(uid);
      return;
    }
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return;
    const now = Date.now();
    if (pod.status?.podIP && (phase === 'Running' || phase === 'Pending')) ips.hold(nodeName, uid, pod.status.podIP);
    if (phase !== 'Running') {
      if (!boundAt.has(uid)) boundAt.set(uid, now);
      const wait = boundAt.get(uid)! + opts.readyDelayMs - now;
      if (wait > 0) return c.enqueueAfter(key, wait);
      const podIP = pod.spec?.hostNetwork ? info.hostIP : ips.allocate(nodeName, uid, podRange(nodeName, info));
      await limiter.run(() => client.patch(R.pods, name, { status: runningStatus(pod, new Date(), info.hostIP, podIP) },
        { namespace, subresource: 'status', type: 'merge' }));
      runningAt.set(uid, Date.now());
      const runTime = runTimeOf(pod);
      if (runTime !== undefined) c.enqueueAfter(key, runTime);
      return;
    }
    const ready = pod.status?.conditions?.find((c) => c.type === 'Ready')?.status;
    const nodeReady = nodeInformer.get(nodeName)?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    if (ready !== 'True' && nodeReady && pod.status?.podIP) {
      // Marked not ready while the node was unreachable: a live kubelet reports its running pods ready again.
      ips.hold(nodeName, uid, pod.status.podIP);
      await limiter.run(() => client.patch(R.pods, name, { status: runningStatus(pod, new Date(), info.hostIP, pod.status!.podIP!) },
        { namespace, subresource: 'status', type: 'merge' }));
    }
    const runTime = runTimeOf(pod);
    if (runTime === undefined) return;
    const started = runningAt.get(uid) ?? Date.parse(pod.status?.startTime ?? '');
    const wait = (Number.isNaN(started) ? now : started) + runTime - now;
    if (wait > 0) return c.enqueueAfter(key, wait);
    await limiter.run(() => client.patch(R.pods, name, { status: succeededStatus(pod, new Date()) },
      { namespace, subresource: 'status', type: 'merge' }));
  };

  const c = new Controller('hollow-pods', [pods, nodeInformer], sync, opts.workers);
  // A node of ours changing (Ready again, a podCIDR assigned) is news for the pods on it.
  pods.addIndexer(POD_NODE_INDEX, (p) => (p.spec?.nodeName && nodes.has(p.spec.nodeName) ? [p.spec.nodeName] : []));
  c.watch(nodeInformer, (n) => (nodes.has(n.metadata?.name ?? '') ? pods.indexKeys(POD_NODE_INDEX, n.metadata!.name!) : []));
  pods.addEventHandler({ onDelete: (p) => forget(p.metadata?.uid ?? '') });
  return c;
}
