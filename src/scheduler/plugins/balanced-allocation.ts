// NodeResourcesBalancedAllocation: prefers nodes where cpu and memory would be used in equal
// shares after placing the pod: score = (1 - std of the used fractions) * 100.
// https://kubernetes.io/docs/reference/scheduling/config/#scheduling-plugins
import { MAX_NODE_SCORE, type ScorePlugin } from '../framework.ts';

export const NAME = 'NodeResourcesBalancedAllocation';

export const balancedAllocation: ScorePlugin = {
  name: NAME,
  weight: 1,
  // Best-effort pods are skipped so they do not all pile onto one node (kubernetes#129138).
  preScore: (cycle) => (cycle.podInfo.requests.milliCPU === 0 && cycle.podInfo.requests.memory === 0 ? 'skip' : undefined),
  score(cycle, _node, at) {
    const req = cycle.podInfo.requests;
    const t = cycle.snapshot.table;
    const cpuAlloc = t.allocCpu[at];
    const memAlloc = t.allocMemory[at];
    if (cpuAlloc === 0 || memAlloc === 0) return MAX_NODE_SCORE; // one fraction or none: std is 0
    const cpu = Math.min(1, (t.reqCpu[at] + req.milliCPU) / cpuAlloc);
    const mem = Math.min(1, (t.reqMemory[at] + req.memory) / memAlloc);
    const std = Math.abs((cpu - mem) / 2);
    return Math.trunc((1 - std) * MAX_NODE_SCORE);
  },
};
