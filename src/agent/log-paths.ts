// Where container logs live on a node, laid out as kubelet lays them out so that tools that
// read /var/log/pods work unchanged: <root>/<namespace>_<pod>_<uid>/<container>/<restartCount>.log
// https://kubernetes.io/docs/concepts/cluster-administration/logging/#log-location-node
import { join } from 'node:path';

export interface PodIdentity {
  namespace: string;
  name: string;
  uid: string;
}

/** The pod's log directory (the sandbox's log_directory in CRI). */
export function podLogDir(logRoot: string, pod: PodIdentity): string {
  return join(logRoot, `${pod.namespace}_${pod.name}_${pod.uid}`);
}

/** A container's log path relative to its pod's log directory (the container's log_path in CRI). */
export function containerLogPath(containerName: string, restartCount: number): string {
  return join(containerName, `${restartCount}.log`);
}
