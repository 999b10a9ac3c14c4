// What every controller gets, and the one shape every controller file exports.
// A controller file is `src/controllers/<name>.ts` exporting `definition`; the
// manager (manager.ts) starts every definition listed in index.ts.
import type { RestClient } from '../client/rest.ts';
import type { SharedInformerFactory } from '../client/informer-factory.ts';
import type { EventRecorder } from '../client/events.ts';
import { DEFAULT_CLUSTER_CIDR } from '../network/cidr.ts';
import { DEFAULT_LOCAL_PATH_DIR } from './local-path-class.ts';

export interface ControllerOptions {
  /** Cluster pod CIDR split into per-node ranges (kube-controller-manager --cluster-cidr). */
  clusterCidr: string;
  /** Size of each node's range (--node-cidr-mask-size). */
  nodeCidrMaskSize: number;
  /** A node whose Lease is not renewed for this long becomes Ready=Unknown (--node-monitor-grace-period, 40 s). */
  nodeMonitorGracePeriodMs: number;
  /** How often node health and zone states are re-evaluated (--node-monitor-period, 5 s). */
  nodeMonitorPeriodMs: number;
  /** Nodes per second tainted NoExecute (evicted) in a healthy zone (--node-eviction-rate, 0.1). */
  nodeEvictionRate: number;
  /** ...in a partially disrupted zone of more than largeClusterSizeThreshold nodes (--secondary-node-eviction-rate, 0.01). */
  secondaryNodeEvictionRate: number;
  /** Fraction of not-Ready nodes (3 or more) that makes a zone partially disrupted (--unhealthy-zone-threshold, 0.55). */
  unhealthyZoneThreshold: number;
  /** A partially disrupted zone of at most this many nodes evicts nothing (--large-cluster-size-threshold, 50). */
  largeClusterSizeThreshold: number;
  /** Default tolerationSeconds for not-ready/unreachable taints (300 s) — admission fills it into pods. */
  defaultTolerationSeconds: number;
  /** Periodic resync of informers. */
  resyncPeriodMs: number;
  /**
   * Where local-path volumes go on nodes the ConfigMap kube-system/local-path-config does not
   * name (k3s' --default-local-storage-path: <data dir>/storage for `skiff server`).
   */
  localPathDir: string;
  /** The CA the CSR signer issues certificates with (--cluster-signing-cert-file / --cluster-signing-key-file); none: no signing. */
  clusterSigning?: { certPem: string; keyPem: string };
}

export const DEFAULT_CONTROLLER_OPTIONS: ControllerOptions = {
  clusterCidr: DEFAULT_CLUSTER_CIDR,
  nodeCidrMaskSize: 24,
  nodeMonitorGracePeriodMs: 40_000,
  nodeMonitorPeriodMs: 5000,
  nodeEvictionRate: 0.1,
  secondaryNodeEvictionRate: 0.01,
  unhealthyZoneThreshold: 0.55,
  largeClusterSizeThreshold: 50,
  defaultTolerationSeconds: 300,
  resyncPeriodMs: 10 * 60_000,
  localPathDir: DEFAULT_LOCAL_PATH_DIR,
};

export interface ControllerContext {
  client: RestClient;
  /** Shared informers: controllers share one informer per resource and selection. */
  informers: SharedInformerFactory;
  /** An event recorder reporting as `component` (e.g. 'deployment-controller'). */
  recorder(component: string): EventRecorder;
  options: ControllerOptions;
  log(message: string): void;
}

/** A running controller (src/client/controller.ts's Controller fits). */
export interface RunningController {
  run(): Promise<void>;
  stop(): Promise<void>;
}

export interface ControllerDefinition {
  /** As kube-controller-manager names it: 'deployment', 'replicaset', 'namespace', 'garbage-collector', ... */
  name: string;
  start(ctx: ControllerContext): RunningController;
}
