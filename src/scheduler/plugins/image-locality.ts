// ImageLocality: prefers nodes that already have the pod's images, weighted by image size and
// by how few nodes have them (so one node does not attract every pod of a popular image).
// https://kubernetes.io/docs/reference/scheduling/config/#scheduling-plugins
import { MAX_NODE_SCORE, type ScorePlugin } from '../framework.ts';

export const NAME = 'ImageLocality';
const MB = 1024 * 1024;
const MIN_THRESHOLD = 23 * MB;
const MAX_CONTAINER_THRESHOLD = 1000 * MB;

/**
 * Image names as the container runtime reports them in status.images: "nginx" →
 * "docker.io/library/nginx:latest", so a pod's short name finds the node's full one.
 */
export function normalizedImageName(name: string): string {
  let n = name;
  const slash = n.indexOf('/');
  const first = slash < 0 ? '' : n.slice(0, slash);
  if (slash < 0 || !(first.includes('.') || first.includes(':') || first === 'localhost')) {
    n = `docker.io/${slash < 0 ? 'library/' : ''}${n}`;
  }
  if (!n.includes('@') && n.lastIndexOf(':') <= n.lastIndexOf('/')) n += ':latest';
  return n;
}

export const imageLocality: ScorePlugin = {
  name: NAME,
  weight: 1,
  preScore(cycle) {
    if (cycle.snapshot.images.size === 0) return 'skip';
    const spec = cycle.pod.spec;
    const names = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].map((c) => normalizedImageName(c.image ?? ''));
    cycle.data.set(`PreScore${NAME}`, names);
    return undefined;
  },
  score(cycle, node) {
    const names = cycle.data.get(`PreScore${NAME}`) as string[];
    const total = cycle.snapshot.nodes.length;
    let sum = 0;
    for (const name of names) {
      if (!node.images.has(name)) continue;
      const state = cycle.snapshot.images.get(name);
      // scaledImageScore: size * (nodes having it / all nodes)
      if (state) sum += Math.trunc(state.size * (state.numNodes / total));
    }
    const max = MAX_CONTAINER_THRESHOLD * names.length;
    if (sum < MIN_THRESHOLD) sum = MIN_THRESHOLD;
    else if (sum > max) sum = max;
    return Math.trunc((MAX_NODE_SCORE * (sum - MIN_THRESHOLD)) / (max - MIN_THRESHOLD));
  },
};
