// Skiff's service proxy (kube-proxy on nftables): see docs/proxy.md.
export { startProxy, deleteProxyTable, type Proxy, type ProxyOptions, type ProxyStats } from './proxy.ts';
export { servicePorts, readyEndpoints, isProxied, sliceServiceKey, type NodeConfig, type ServicePort, type Endpoint, type Protocol } from './model.ts';
export { portRules, fullScript, sharedChainRules, MARK, TABLE, FAMILY, type Element, type PortRules } from './rules.ts';
export { ProxyState, type Plan } from './state.ts';
export { runNft, NftSession, NftError } from './nft.ts';
