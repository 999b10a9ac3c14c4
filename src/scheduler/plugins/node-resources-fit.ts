// NodeResourcesFit: the pod's requests must fit in what the node's allocatable leaves after the
// requests of the pods already there (filter); LeastAllocated prefers emptier nodes (score).
// https://kubernetes.io/docs/concepts/scheduling-eviction/resource-bin-packing/
import { type FilterPlugin, MAX_NODE_SCORE, type ScorePlugin, type Status } from '../framework.ts';
import type { NodeInfo } from '../snapshot.ts';

export const NAME = 'NodeResourcesFit';
export const REASON_TOO_MANY_PODS = 'Too many pods';

/**
 * fitsRequest: one reason per short resource. A request larger than the node's whole allocatable
 * cannot be helped by preemption (UnschedulableAndUnresolvable); running out of pod slots can.
 */
export const nodeResourcesFitFilter: FilterPlugin = {
  name: NAME,
  filter(cycle, node, at): Status | null {
    const req = cycle.podInfo.requests;
    const t = cycle.snapshot.table;
    // The common case, every request fits, reads only the node's row and allocates nothing (this runs for ~500 nodes per pod).
    const podsShort = t.podCount[at] + 1 > t.allocPods[at];
    const cpuShort = req.milliCPU > 0 && req.milliCPU > t.allocCpu[at] - t.reqCpu[at];
    const memShort = req.memory > 0 && req.memory > t.allocMemory[at] - t.reqMemory[at];
    const storageShort = req.ephemeralStorage > 0 && req.ephemeralStorage > t.allocStorage[at] - t.reqStorage[at];
    if (!podsShort && !cpuShort && !memShort && !storageShort && req.scalar.size === 0) return null;
    return insufficient(req, node, podsShort, cpuShort, memShort, storageShort);
  },
};

/** The failure Status: one reason per short resource. */
function insufficient(req: NodeInfo['requested'], node: NodeInfo, podsShort: boolean, cpuShort: boolean, memShort: boolean,
  storageShort: boolean): Status | null {
  const alloc = node.allocatable;
  const reasons: string[] = [];
  let unresolvable = false;
  const short = (reason: string, request: number, allocatable: number) => {
    reasons.push(reason);
    if (request > allocatable) unresolvable = true;
  };
  if (podsShort) reasons.push(REASON_TOO_MANY_PODS);
  if (cpuShort) short('Insufficient cpu', req.milliCPU, alloc.milliCPU);
  if (memShort) short('Insufficient memory', req.memory, alloc.memory);
  if (storageShort) short('Insufficient ephemeral-storage', req.ephemeralStorage, alloc.ephemeralStorage);
  for (const [name, r] of req.scalar) {
    const a = alloc.scalar.get(name) ?? 0;
    if (r > 0 && r > a - (node.requested.scalar.get(name) ?? 0)) short(`Insufficient ${name}`, r, a);
  }
  if (reasons.length === 0) return null;
  return { code: unresolvable ? 'UnschedulableAndUnresolvable' : 'Unschedulable', reasons, plugin: NAME };
}

/** leastRequestedScore: the free share of a resource after placing the pod, 0..100. */
function leastRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.trunc(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

/** LeastAllocated over cpu and memory, weight 1 each, on the requests with 100m / 200Mi defaults. */
export const nodeResourcesFitScore: ScorePlugin = {
  name: NAME,
  weight: 1,
  score(cycle, _node, at) {
    const pod = cycle.podInfo.nonZero;
    const t = cycle.snapshot.table;
    const cpuAlloc = t.allocCpu[at];
    const memAlloc = t.allocMemory[at];
    let sum = 0;
    let weights = 0;
    if (cpuAlloc !== 0) {
      sum += leastRequestedScore(t.nonZeroCpu[at] + pod.milliCPU, cpuAlloc);
      weights++;
    }
    if (memAlloc !== 0) {
      sum += leastRequestedScore(t.nonZeroMemory[at] + pod.memory, memAlloc);
      weights++;
    }
    return weights === 0 ? 0 : Math.trunc(sum / weights);
  },
};
