// Where `skiff up` keeps each part of a single-node cluster under its one data directory, so
// that `skiff down` can find everything the cluster made from the directory alone.
import { join } from 'node:path';

export interface ClusterLayout {
  /** The API server's data dir: store, PKI, tokens, kubeconfig, node-token. */
  dataDir: string;
  kubeconfig: string;
  /** The agent's data dir (logs, pod volumes, its credentials). */
  agentDir: string;
  /** The CRI runtime's root: state, bundles, images, runc state. */
  runtimeRoot: string;
  criSocket: string;
  cniConfDir: string;
  /** PID of the running `skiff up`, so `skiff down` can stop it and a second `skiff up` refuses to start. */
  pidFile: string;
}

export function clusterLayout(dataDir: string): ClusterLayout {
  const agentDir = join(dataDir, 'agent');
  return {
    dataDir,
    kubeconfig: join(dataDir, 'kubeconfig'),
    agentDir,
    runtimeRoot: join(agentDir, 'runtime'),
    criSocket: `unix://${join(agentDir, 'cri.sock')}`,
    cniConfDir: join(agentDir, 'cni', 'net.d'),
    pidFile: join(dataDir, 'skiff-up.pid'),
  };
}
