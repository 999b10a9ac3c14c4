// The pod network (VXLAN / host-gw between nodes, the pod bridge, masquerade, safety routes);
// docs/network.md describes it.
export { DEFAULT_CLUSTER_CIDR, NetworkAgent, type NetworkAgentOptions, type NetworkStatus, startNetworkAgent } from './agent.ts';
export { teardownNetwork } from './teardown.ts';
export { type Backend, BACKENDS, isBackend } from './node-network.ts';
export { netRunner, type NetRunner } from './net-runner.ts';
export { CONFLIST_FILE, podNetworkConflist, writePodNetworkConflist } from './cni.ts';
export { ensureSafetyRoutes } from './safety-routes.ts';
export { DEFAULT_SERVICE_CIDR } from './cidr.ts';
