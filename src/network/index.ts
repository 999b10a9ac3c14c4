// The pod network (VXLAN / host-gw between nodes, the pod bridge, masquerade, safety routes);
// docs/network.md describes it.
export { DEFAULT_CLUSTER_CIDR, NetworkAgent, type NetworkAgentOptions, type NetworkStatus, startNetworkAgent } from './agent.ts';
export { teardownNetwork } from './teardown.ts';
export { type Backend, BACKENDS, isBackend } from './node-network.ts';
export { netRunner, type NetRunner } from './net-runner.ts';
export { podNetworkConflist, writePodNetworkConflist } from './cni.ts';
