// kube-apiserver's Priority admission plugin: a new pod's spec.priority (and preemptionPolicy)
// come from its PriorityClass, or from the cluster's globalDefault class when it names none;
// a class that does not exist, or a priority that contradicts the class, is refused.
// https://kubernetes.io/docs/concepts/scheduling-eviction/pod-priority-preemption/#effect-of-pod-priority-on-scheduling-order
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import type { PriorityClass } from 'kubernetes-types/scheduling/v1.d.ts';
import type { Store } from '../../store/store.ts';
import { errors } from '../errors.ts';
import { decodeKv } from '../registry/codec.ts';
import type { PrefixMirror } from '../registry/prefix-mirror.ts';

export const PRIORITY_CLASSES_PREFIX = '/registry/scheduling.k8s.io/priorityclasses/';
/** The two classes every cluster has; defaulting already resolves them (src/api/defaults/pod.ts). */
const SYSTEM_CLASSES = new Set(['system-node-critical', 'system-cluster-critical']);

function forbidden(pod: Pod, why: string) {
  const name = pod.metadata?.name ?? pod.metadata?.generateName ?? '';
  return errors.forbidden(`pods "${name}" is forbidden: ${why}`, { name, kind: 'pods' });
}

/** Where the plugin reads classes: the server's mirror while it is in sync, else the store. */
export interface PriorityClassSource {
  store: Store;
  mirror?: PrefixMirror<PriorityClass>;
}

async function classNamed(src: PriorityClassSource, name: string): Promise<PriorityClass | undefined> {
  // A miss in the mirror may be a class created a moment ago: the store decides.
  const cached = src.mirror?.synced ? src.mirror.get(name) : undefined;
  if (cached) return cached;
  const { kv } = await src.store.get(`${PRIORITY_CLASSES_PREFIX}${name}`);
  return kv ? decodeKv(kv) as PriorityClass : undefined;
}

async function globalDefault(src: PriorityClassSource): Promise<PriorityClass | undefined> {
  const classes = src.mirror?.synced ? [...src.mirror.values()]
    : (await src.store.list(PRIORITY_CLASSES_PREFIX)).kvs.map((kv) => decodeKv(kv) as PriorityClass);
  // Several globalDefault classes can only come from races; kube takes the lowest value then.
  return classes.filter((pc) => pc.globalDefault).sort((a, b) => a.value - b.value)[0];
}

/** Resolves the pod's priority in place; throws a Forbidden ApiError as kube-apiserver words it. */
export async function admitPodPriority(src: PriorityClassSource, pod: Pod): Promise<void> {
  const spec = pod.spec;
  if (!spec) return;
  let name = spec.priorityClassName ?? '';
  if (SYSTEM_CLASSES.has(name)) return;
  let pc: PriorityClass | undefined;
  if (name) {
    pc = await classNamed(src, name);
    if (!pc) throw forbidden(pod, `no PriorityClass with name ${name} was found`);
  } else {
    pc = await globalDefault(src);
    if (!pc) return; // priority 0, already defaulted
    name = pc.metadata?.name ?? '';
    // Defaulting wrote 0 for a pod that named no class; the default class replaces it.
    if (spec.priority === 0) delete spec.priority;
  }
  if (typeof spec.priority === 'number' && spec.priority !== pc.value) {
    throw forbidden(pod, `the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${pc.value} from the given PriorityClass name`);
  }
  spec.priorityClassName = name;
  spec.priority = pc.value;
  spec.preemptionPolicy ??= pc.preemptionPolicy ?? 'PreemptLowerPriority';
}
