// spec.priority from spec.priorityClassName, for pods the Priority admission plugin did not
// resolve (Skiff's admission knows only the system classes). The queue order and preemption
// read spec.priority, so the scheduler fills it in on its own copy of the pod.
// https://kubernetes.io/docs/concepts/scheduling-eviction/pod-priority-preemption/#priorityclass
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import type { PriorityClass } from 'kubernetes-types/scheduling/v1.d.ts';
import type { SharedInformer } from '../client/informer.ts';

/** The built-in classes every cluster has. */
const SYSTEM_PRIORITY_CLASSES: Record<string, number> = {
  'system-cluster-critical': 2_000_000_000,
  'system-node-critical': 2_000_001_000,
};

export class PriorityResolver {
  private readonly classes: SharedInformer<PriorityClass> | undefined;

  constructor(classes?: SharedInformer<PriorityClass>) {
    this.classes = classes;
  }

  /** The pod itself when spec.priority is set (or cannot be resolved), else a copy with it filled in. */
  resolve(pod: Pod): Pod {
    if (typeof pod.spec?.priority === 'number') return pod;
    const value = this.valueFor(pod.spec?.priorityClassName);
    if (value === undefined) return pod;
    return { ...pod, spec: { ...pod.spec!, priority: value } };
  }

  private valueFor(name: string | undefined): number | undefined {
    if (name) {
      if (name in SYSTEM_PRIORITY_CLASSES) return SYSTEM_PRIORITY_CLASSES[name];
      return this.classes?.getByName(name)?.value;
    }
    // No class named: the globalDefault class, if any (admission would have applied it).
    for (const pc of this.classes?.list() ?? []) if (pc.globalDefault) return pc.value;
    return undefined;
  }
}
