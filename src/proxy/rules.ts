// The nftables layout of the service proxy, as text for `nft -f`: a fixed skeleton
// of maps and chains, a few shared chains (one per endpoint count, per affinity
// timeout), and per Service port only *data* map elements. Lookups are hash-map hits,
// so the first and the fifty-thousandth Service cost the same per packet, and a change
// to one Service is a handful of element adds and deletes. No per-Service element is a
// verdict: adding a jump/goto element makes the kernel re-validate every element of
// the verdict map (~8 ms at 50,000 Services), adding a data element does not (~0.4 ms).
//
// Packet path (new connections only; conntrack carries the rest):
//   filter prerouting/output (priority -110): frontend (daddr . proto . dport, or a
//     NodePort on a node address) → packet mark = proxy bit | chain code | flags |
//     endpoint-set id; eTP=Local short-circuit, masquerade flag, reject/drop when the
//     set is empty.
//   nat prerouting/output (dstnat): chain code → goto endpoints-N (or affinity-N-T), which
//     DNATs to endpoints[id . numgen random mod N].
//   nat postrouting (srcnat): record ClientIP affinity, masquerade flagged and hairpin
//     traffic, clear the mark.
// Semantics follow kube-proxy's nftables mode (KEP-3866) and
// https://kubernetes.io/docs/reference/networking/virtual-ips/ ; the layout is Skiff's own.
import { isLocal, type NodeConfig, type ServicePort } from './model.ts';

export const TABLE = 'skiff-proxy';
const PROTOCOLS = ['tcp', 'udp', 'sctp'] as const;
export const FAMILY = 'ip';

/**
 * Packet-mark bits. The proxy owns the mark of the first packet of a connection to a
 * Service frontend, and bit 31 says the proxy wrote it.
 */
export const MARK = {
  /** Endpoint-set id: a Service port's number (bits 0-18) plus the LOCAL bit. */
  ID: 0x000fffff,
  /** The id names the port's node-local endpoints (Local traffic policies). */
  LOCAL: 0x00080000,
  /** Which shared chain DNATs for the set (0: the set is empty). */
  CODE: 0x1ff00000,
  /** The frontend is external (NodePort / externalIP) with externalTrafficPolicy Local. */
  EXT_LOCAL: 0x20000000,
  MASQ: 0x40000000,
  PROXY: 0x80000000,
} as const;

/** Port numbers live in bits 0-18. */
export const MAX_PORT_ID = 0x7ffff;
const CODE_SHIFT = 20;
/** Chain codes live in bits 20-28. */
export const MAX_CHAIN_CODE = 0x1ff;

export interface Element {
  map: string;
  key: string;
  /** '' for set elements. */
  value: string;
}

const hex = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

/** The maps and sets a full sync rewrites (the dynamic affinity map is kept). */
const STATIC_SETS: [kind: 'map' | 'set', name: string][] = [
  ['map', 'service-ips'], ['map', 'service-nodeports'], ['map', 'cluster-sets'], ['set', 'reject-ids'], ['set', 'drop-ids'],
  ...PROTOCOLS.map((p): ['map', string] => ['map', `endpoints-${p}`]), ['map', 'shared-chains'], ['map', 'affinity-records'],
  ['set', 'hairpin'], ['set', 'node-addresses'],
];

function declarations(cfg: NodeConfig): string[] {
  return [
    `set node-addresses { type ipv4_addr; ${cfg.nodeAddresses.length ? `elements = { ${cfg.nodeAddresses.join(', ')} }; ` : ''}}`,
    // frontend → mark (proxy | chain code | flags | set id)
    'map service-ips { type ipv4_addr . inet_proto . inet_service : mark; }',
    'map service-nodeports { type inet_proto . inet_service : mark; }',
    // eTP=Local: local set id → the mark of the cluster-wide set (for pods and the node itself)
    'map cluster-sets { type mark : mark; }',
    // empty sets: no endpoints at all (reject), or none on this node for a Local policy (drop)
    'set reject-ids { type mark; }',
    'set drop-ids { type mark; }',
    // chain code → shared chain; elements come and go with the shared chains only
    'map shared-chains { type mark : verdict; }',
    'map affinity-records { type mark : verdict; }',
    // (id . slot) → endpoint, one map per protocol: nft 1.0.6 cannot re-read a map typed
    // "ip daddr . th dport" from the kernel when adding rules later, "tcp dport" it can.
    ...PROTOCOLS.map((p) => `map endpoints-${p} { typeof meta mark . numgen random mod 1 : ip daddr . ${p} dport; }`),
    // ClientIP affinity: (id . client) → endpoint, refreshed by every new connection
    'map affinity { type mark . ipv4_addr : ipv4_addr . inet_service; flags dynamic,timeout; size 1048576; }',
    // (endpoint . endpoint): a pod that reached itself through a Service is masqueraded
    'set hairpin { type ipv4_addr . ipv4_addr; }',
  ];
}

const BASE_CHAINS = ['filter-prerouting', 'filter-output', 'frontends', 'service-checks', 'reject-chain', 'nat-prerouting', 'nat-output', 'nat-postrouting', 'masquerading'];

/** Rules of the fixed chains; hook chains carry their hook line first. */
function baseChains(cfg: NodeConfig): Record<string, { hook?: string; rules: string[] }> {
  const id = hex(MARK.ID);
  const proxy = hex(MARK.PROXY);
  const extLocal = hex(MARK.EXT_LOCAL);
  const masq = hex(MARK.MASQ);
  const code = hex(MARK.CODE);
  const nodeAddr = cfg.nodeAddresses.length ? 'ip daddr @node-addresses' : 'fib daddr type local ip daddr != 127.0.0.0/8';
  const dispatch = [`meta mark & ${proxy} == ${proxy} meta mark & ${code} vmap @shared-chains`];
  return {
    'filter-prerouting': { hook: 'type filter hook prerouting priority -110; policy accept;', rules: ['ct state new jump frontends'] },
    'filter-output': { hook: 'type filter hook output priority -110; policy accept;', rules: ['ct state new jump frontends'] },
    frontends: {
      rules: [
        'meta mark set ip daddr . meta l4proto . th dport map @service-ips goto service-checks',
        `${nodeAddr} meta mark set meta l4proto . th dport map @service-nodeports goto service-checks`,
      ],
    },
    'service-checks': {
      rules: [
        // externalTrafficPolicy Local keeps the client address, but pods and the node itself
        // use the cluster-wide endpoints (the node's own traffic masqueraded), as kube-proxy does.
        `meta mark & ${extLocal} == ${extLocal} fib saddr type local meta mark set meta mark & ${id} map @cluster-sets meta mark set meta mark | ${masq}`,
        `meta mark & ${extLocal} == ${extLocal} ip saddr ${cfg.clusterCidr} meta mark set meta mark & ${id} map @cluster-sets`,
        // Traffic from outside the pod range is masqueraded so replies come back through this node.
        `meta mark & ${extLocal} == 0 ip saddr != ${cfg.clusterCidr} meta mark set meta mark | ${masq}`,
        `meta mark & ${id} @reject-ids goto reject-chain`,
        `meta mark & ${id} @drop-ids drop`,
      ],
    },
    // No endpoints: refuse at once instead of letting the client time out.
    'reject-chain': { rules: ['meta l4proto tcp reject with tcp reset', 'reject'] },
    'nat-prerouting': { hook: 'type nat hook prerouting priority -100; policy accept;', rules: dispatch },
    'nat-output': { hook: 'type nat hook output priority -100; policy accept;', rules: dispatch },
    'nat-postrouting': { hook: 'type nat hook postrouting priority 100; policy accept;', rules: [`meta mark & ${proxy} == ${proxy} jump masquerading`] },
    masquerading: {
      rules: [
        `ct status dnat meta mark & ${code} vmap @affinity-records`,
        `ip saddr . ip daddr @hairpin meta mark set meta mark | ${hex(MARK.MASQ)}`,
        // The mark is cleared so that it does not follow the packet into an encapsulation.
        `meta mark & ${hex(MARK.MASQ)} == ${hex(MARK.MASQ)} meta mark set 0 masquerade fully-random`,
        'meta mark set 0',
      ],
    },
  };
}

/** Rules of a shared chain, by name: endpoints-N, affinity-N-T, affinity-record-T. */
export function sharedChainRules(name: string): string[] {
  const id = hex(MARK.ID);
  let m = /^endpoints-(\d+)$/.exec(name);
  if (m) {
    const n = m[1];
    return PROTOCOLS.map((p) => `meta l4proto ${p} dnat to meta mark & ${id} . numgen random mod ${n} map @endpoints-${p}`);
  }
  m = /^affinity-record-(\d+)$/.exec(name);
  if (m) return [`update @affinity { meta mark & ${id} . ip saddr timeout ${m[1]}s : ip daddr . th dport }`];
  m = /^affinity-(\d+)-(\d+)$/.exec(name);
  if (m) {
    return [
      `meta l4proto { tcp, udp, sctp } dnat to meta mark & ${id} . ip saddr map @affinity`,
      `goto endpoints-${m[1]}`,
    ];
  }
  throw new Error(`not a shared chain of the proxy: ${name}`);
}

/** The shared chains a chain depends on: affinity-N-T goes to endpoints-N, and its code records through affinity-record-T. */
export function chainDependencies(name: string): string[] {
  const m = /^affinity-(\d+)-(\d+)$/.exec(name);
  return m ? [`endpoints-${m[1]}`, `affinity-record-${m[2]}`] : [];
}

/** Whether a shared chain is a DNAT chain (and so has a code). */
export function isDnatChain(name: string): boolean {
  return /^endpoints-\d+$/.test(name) || /^affinity-\d+-\d+$/.test(name);
}

/** The verdict-map elements that make a DNAT chain reachable by its code. */
export function chainCodeElements(name: string, code: number): Element[] {
  const key = hex(code << CODE_SHIFT);
  const out: Element[] = [{ map: 'shared-chains', key, value: `goto ${name}` }];
  const m = /^affinity-\d+-(\d+)$/.exec(name);
  if (m) out.push({ map: 'affinity-records', key, value: `jump affinity-record-${m[1]}` });
  return out;
}

/** What one Service port adds to the table. */
export interface PortRules {
  elements: Element[];
  /** Shared chains its elements point to. */
  chains: string[];
  /** Endpoint addresses that may be this node's pods (hairpin candidates). */
  hairpin: string[];
}

/**
 * The map elements of one Service port, given its number (1..MAX_PORT_ID) and the code of
 * each shared DNAT chain (codeOf). Two endpoint sets at most: all ready endpoints (id)
 * and the node-local ones (id | LOCAL), the latter only when a traffic policy is Local.
 */
export function portRules(sp: ServicePort, portId: number, cfg: NodeConfig, codeOf: (chain: string) => number): PortRules {
  if (portId < 1 || portId > MAX_PORT_ID) throw new Error(`service port id ${portId} out of range`);
  const elements: Element[] = [];
  const chains = new Set<string>();
  const clusterId = portId;
  const localId = portId | MARK.LOCAL;
  const sets: [number, typeof sp.endpoints][] = [[clusterId, sp.endpoints]];
  if (sp.internalLocal || sp.externalLocal) sets.push([localId, sp.endpoints.filter((ep) => isLocal(ep, cfg.nodeName))]);
  const marks = new Map<number, number>();
  for (const [id, eps] of sets) {
    let code = 0;
    if (eps.length === 0) {
      // kube-proxy: no endpoints at all → reject; endpoints exist but none on this node
      // for a Local policy → drop.
      elements.push({ map: sp.endpoints.length === 0 ? 'reject-ids' : 'drop-ids', key: hex(id), value: '' });
    } else {
      const chain = sp.affinityTimeoutSeconds !== undefined ? `affinity-${eps.length}-${sp.affinityTimeoutSeconds}` : `endpoints-${eps.length}`;
      chains.add(chain);
      for (const dep of chainDependencies(chain)) chains.add(dep);
      code = codeOf(chain);
      eps.forEach((ep, slot) => elements.push({ map: `endpoints-${sp.protocol}`, key: `${hex(id)} . ${slot}`, value: `${ep.ip} . ${ep.port}` }));
    }
    marks.set(id, (MARK.PROXY | (code << CODE_SHIFT) | id) >>> 0);
  }
  const internal = marks.get(sp.internalLocal ? localId : clusterId)!;
  const external = sp.externalLocal ? (marks.get(localId)! | MARK.EXT_LOCAL) >>> 0 : marks.get(clusterId)!;
  for (const ip of sp.clusterIPs) elements.push({ map: 'service-ips', key: `${ip} . ${sp.protocol} . ${sp.port}`, value: hex(internal) });
  for (const ip of sp.externalIPs) elements.push({ map: 'service-ips', key: `${ip} . ${sp.protocol} . ${sp.port}`, value: hex(external) });
  if (sp.nodePort) elements.push({ map: 'service-nodeports', key: `${sp.protocol} . ${sp.nodePort}`, value: hex(external) });
  if (sp.externalLocal) elements.push({ map: 'cluster-sets', key: hex(localId), value: hex(marks.get(clusterId)!) });
  const hairpin = sp.endpoints.filter((ep) => ep.nodeName === undefined || ep.nodeName === cfg.nodeName).map((ep) => ep.ip);
  return { elements, chains: [...chains], hairpin };
}

function elementText(e: Element): string {
  return e.value ? `${e.key} : ${e.value}` : e.key;
}

/** `add element` commands for many elements, grouped by map in chunks. */
export function addElements(elements: readonly Element[], chunk = 5000): string[] {
  const byMap = new Map<string, string[]>();
  for (const e of elements) {
    let list = byMap.get(e.map);
    if (!list) byMap.set(e.map, (list = []));
    list.push(elementText(e));
  }
  const out: string[] = [];
  for (const [map, list] of byMap) {
    for (let i = 0; i < list.length; i += chunk) out.push(`add element ${FAMILY} ${TABLE} ${map} { ${list.slice(i, i + chunk).join(', ')} }`);
  }
  return out;
}

/** `delete element` commands (keys only). */
export function deleteElements(elements: readonly Element[]): string[] {
  const byMap = new Map<string, string[]>();
  for (const e of elements) {
    let list = byMap.get(e.map);
    if (!list) byMap.set(e.map, (list = []));
    list.push(e.key);
  }
  return [...byMap].map(([map, keys]) => `delete element ${FAMILY} ${TABLE} ${map} { ${keys.join(', ')} }`);
}

/** Commands that create a shared chain with its rules and, for a DNAT chain, its code elements (it must not exist yet). */
export function addChain(name: string, code: number | undefined): string[] {
  const out = [`add chain ${FAMILY} ${TABLE} ${name}`, ...sharedChainRules(name).map((r) => `add rule ${FAMILY} ${TABLE} ${name} ${r}`)];
  if (code !== undefined) out.push(...addElements(chainCodeElements(name, code)));
  return out;
}

/** Shared chains in creation order: endpoints-N and affinity-record-T before the affinity-N-T chains that use them. */
export function orderChains(names: Iterable<string>): string[] {
  const rank = (n: string) => (n.startsWith('endpoints-') ? 0 : n.startsWith('affinity-record-') ? 1 : 2);
  return [...names].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b, 'en', { numeric: true }));
}

/**
 * A whole-table script. fresh: replace the table atomically (start-up: nothing of a previous
 * run survives, including affinity entries whose ids meant other Services). Otherwise
 * (periodic resync): re-declare everything, flush and rewrite every chain and static map, keep
 * the affinity map, and delete the shared chains in staleChains. One transaction either way.
 */
export function fullScript(cfg: NodeConfig, elements: readonly Element[], chains: ReadonlyMap<string, number | undefined>,
  opts: { fresh: boolean; staleChains?: Iterable<string> }): string {
  const lines: string[] = [];
  const shared = orderChains(chains.keys());
  const base = baseChains(cfg);
  if (opts.fresh) lines.push(`add table ${FAMILY} ${TABLE}`, `delete table ${FAMILY} ${TABLE}`);
  lines.push(`table ${FAMILY} ${TABLE} {`);
  for (const d of declarations(cfg)) lines.push(`\t${d}`);
  for (const name of [...BASE_CHAINS, ...shared]) lines.push(`\tchain ${name} { ${base[name]?.hook ?? ''} }`);
  lines.push('}');
  if (!opts.fresh) {
    for (const name of [...BASE_CHAINS, ...shared]) lines.push(`flush chain ${FAMILY} ${TABLE} ${name}`);
    for (const [kind, name] of STATIC_SETS) lines.push(`flush ${kind} ${FAMILY} ${TABLE} ${name}`);
    if (cfg.nodeAddresses.length) lines.push(`add element ${FAMILY} ${TABLE} node-addresses { ${cfg.nodeAddresses.join(', ')} }`);
    // affinity-N-T goes to endpoints-N, so it is deleted first.
    for (const name of orderChains(opts.staleChains ?? []).reverse()) lines.push(`delete chain ${FAMILY} ${TABLE} ${name}`);
  }
  for (const name of shared) for (const r of sharedChainRules(name)) lines.push(`add rule ${FAMILY} ${TABLE} ${name} ${r}`);
  for (const name of BASE_CHAINS) for (const r of base[name].rules) lines.push(`add rule ${FAMILY} ${TABLE} ${name} ${r}`);
  const codes = shared.flatMap((name) => {
    const code = chains.get(name);
    return code === undefined ? [] : chainCodeElements(name, code);
  });
  lines.push(...addElements([...codes, ...elements]));
  return lines.join('\n') + '\n';
}
