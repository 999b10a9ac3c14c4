// The proxy's memory of what it wants in the kernel and what it last put there, per
// Service, so that a change to one Service becomes a transaction touching only that
// Service's elements. No kernel access here: plans are nft scripts, committed into
// the applied state only after the caller has run them successfully.
import type { NodeConfig, ServicePort } from './model.ts';
import { addChain, addElements, deleteElements, type Element, FAMILY, fullScript, isDnatChain, MAX_CHAIN_CODE, MAX_PORT_ID, orderChains, portRules, TABLE } from './rules.ts';

// Plain arrays: at 50,000 Services a Map per Service costs more in garbage collection than
// everything else the proxy computes.
interface ServiceRules {
  elements: Element[];
  chains: string[];
  hairpin: string[];
  /** Affinity endpoint-set ids → their endpoints ("ip . port"), for purging stale affinity entries. */
  affinity?: Map<number, Set<string>>;
}

export interface Plan {
  /** The nft script ('' when nothing changed). */
  script: string;
  /** Number of Services the plan touches. */
  services: number;
  /** Affinity ids whose entries may now point at endpoints that are gone: id → valid endpoints. */
  affinityPurge: Map<number, Set<string>>;
  /** Call after the script ran successfully. */
  commit(): void;
}

const EMPTY: ServiceRules = { elements: [], chains: [], hairpin: [] };
const byId = (elements: readonly Element[]) => new Map(elements.map((e) => [`${e.map} ${e.key}`, e]));

export class ProxyState {
  readonly cfg: NodeConfig;
  private readonly desired = new Map<string, ServiceRules>();
  private readonly applied = new Map<string, ServiceRules>();
  private readonly dirty = new Set<string>();
  /** Service port key → port number; numbers are not reused until they wrap, so stale affinity entries cannot meet a new Service. */
  private readonly portIds = new Map<string, number>();
  /** Service key → its port keys, to release the numbers of ports that went away. */
  private readonly servicePortKeys = new Map<string, Set<string>>();
  private readonly idsInUse = new Set<number>();
  private nextId = 1;
  private readonly hairpinCount = new Map<string, number>();
  private readonly chainsApplied = new Set<string>();
  /** DNAT chain → its code in the mark; released when a full sync drops the chain. */
  private readonly chainCodes = new Map<string, number>();
  private readonly codeOf = (chain: string): number => {
    let code = this.chainCodes.get(chain);
    if (code !== undefined) return code;
    const used = new Set(this.chainCodes.values());
    for (let c = 1; c <= MAX_CHAIN_CODE; c++) {
      if (!used.has(c)) {
        code = c;
        break;
      }
    }
    if (code === undefined) throw new Error(`more than ${MAX_CHAIN_CODE} distinct endpoint counts and affinity timeouts: the proxy's mark layout cannot number their chains`);
    this.chainCodes.set(chain, code);
    return code;
  };

  constructor(cfg: NodeConfig) {
    this.cfg = cfg;
  }

  get serviceCount(): number {
    return this.desired.size;
  }

  get pendingCount(): number {
    return this.dirty.size;
  }

  /** Sets what one Service ("namespace/name") should look like; an empty list removes it. */
  setService(serviceKey: string, ports: readonly ServicePort[]): void {
    let rules: ServiceRules = EMPTY;
    const keep = new Set<string>();
    for (const sp of ports) {
      keep.add(sp.key);
      const r = portRules(sp, this.portId(sp.key), this.cfg, this.codeOf);
      if (ports.length === 1) rules = { elements: r.elements, chains: r.chains, hairpin: r.hairpin };
      else {
        if (rules === EMPTY) rules = { elements: [], chains: [], hairpin: [] };
        rules.elements.push(...r.elements);
        for (const c of r.chains) if (!rules.chains.includes(c)) rules.chains.push(c);
        rules.hairpin.push(...r.hairpin);
      }
      if (sp.affinityTimeoutSeconds !== undefined) {
        rules.affinity ??= new Map();
        for (const e of r.elements) {
          if (!e.map.startsWith('endpoints-')) continue;
          const id = Number(e.key.split(' . ')[0]);
          let set = rules.affinity.get(id);
          if (!set) rules.affinity.set(id, (set = new Set()));
          set.add(e.value);
        }
      }
    }
    for (const key of this.servicePortKeys.get(serviceKey) ?? []) if (!keep.has(key)) this.releasePort(key);
    if (keep.size) this.servicePortKeys.set(serviceKey, keep);
    else this.servicePortKeys.delete(serviceKey);
    if (ports.length === 0) this.desired.delete(serviceKey);
    else this.desired.set(serviceKey, rules);
    this.dirty.add(serviceKey);
  }

  private portId(key: string): number {
    let id = this.portIds.get(key);
    if (id !== undefined) return id;
    for (let tries = 0; tries <= MAX_PORT_ID; tries++) {
      const candidate = this.nextId;
      this.nextId = candidate >= MAX_PORT_ID ? 1 : candidate + 1;
      if (!this.idsInUse.has(candidate)) {
        id = candidate;
        break;
      }
    }
    if (id === undefined) throw new Error(`more than ${MAX_PORT_ID} Service ports: the proxy's mark layout cannot number them`);
    this.portIds.set(key, id);
    this.idsInUse.add(id);
    return id;
  }

  private releasePort(key: string): void {
    const id = this.portIds.get(key)!;
    this.portIds.delete(key);
    // The counter only moves forward, so the number comes back only after every other one
    // has been handed out: by then its elements are long deleted and its affinity expired.
    this.idsInUse.delete(id);
  }

  /** The incremental transaction for every Service changed since the last commit. */
  planIncremental(): Plan {
    const keys = [...this.dirty];
    const snapshot = new Map(keys.map((k) => [k, this.desired.get(k)]));
    const adds: Element[] = [];
    const dels: Element[] = [];
    const newChains = new Set<string>();
    const hairpinDelta = new Map<string, number>();
    const affinityPurge = new Map<number, Set<string>>();
    for (const key of keys) {
      const before = this.applied.get(key) ?? EMPTY;
      const after = snapshot.get(key) ?? EMPTY;
      const beforeById = byId(before.elements), afterById = byId(after.elements);
      for (const [id, e] of beforeById) {
        const now = afterById.get(id);
        if (!now || now.value !== e.value) dels.push(e);
      }
      for (const [id, e] of afterById) {
        const was = beforeById.get(id);
        if (!was || was.value !== e.value) adds.push(e);
      }
      for (const c of after.chains) if (!this.chainsApplied.has(c)) newChains.add(c);
      for (const ip of before.hairpin) hairpinDelta.set(ip, (hairpinDelta.get(ip) ?? 0) - 1);
      for (const ip of after.hairpin) hairpinDelta.set(ip, (hairpinDelta.get(ip) ?? 0) + 1);
      for (const [id, eps] of before.affinity ?? []) {
        const still = after.affinity?.get(id) ?? new Set<string>();
        if ([...eps].some((ep) => !still.has(ep))) affinityPurge.set(id, still);
      }
    }
    for (const [ip, d] of hairpinDelta) {
      const was = this.hairpinCount.get(ip) ?? 0;
      if (was === 0 && was + d > 0) adds.push({ map: 'hairpin', key: `${ip} . ${ip}`, value: '' });
      if (was > 0 && was + d <= 0) dels.push({ map: 'hairpin', key: `${ip} . ${ip}`, value: '' });
    }
    const lines: string[] = [];
    for (const c of orderChains(newChains)) lines.push(...addChain(c, isDnatChain(c) ? this.codeOf(c) : undefined));
    if (dels.length) lines.push(...deleteElements(dels));
    if (adds.length) lines.push(...addElements(adds));
    return {
      script: lines.length ? lines.join('\n') + '\n' : '',
      services: keys.length,
      affinityPurge,
      commit: () => {
        for (const key of keys) {
          const after = snapshot.get(key);
          if (after) this.applied.set(key, after);
          else this.applied.delete(key);
          // A Service that changed again while this plan ran stays dirty.
          if (this.desired.get(key) === after) this.dirty.delete(key);
        }
        for (const c of newChains) this.chainsApplied.add(c);
        for (const [ip, d] of hairpinDelta) {
          const n = (this.hairpinCount.get(ip) ?? 0) + d;
          if (n > 0) this.hairpinCount.set(ip, n);
          else this.hairpinCount.delete(ip);
        }
      },
    };
  }

  /**
   * The whole table from the desired state. fresh: replace the table (start-up); otherwise
   * rewrite chains and static maps in place, keeping affinity entries.
   */
  planFull(fresh: boolean): Plan {
    const snapshot = new Map(this.desired);
    const elements: Element[] = [];
    const chains = new Set<string>();
    const hairpin = new Map<string, number>();
    const affinityValid = new Map<number, Set<string>>();
    for (const r of snapshot.values()) {
      for (const e of r.elements) elements.push(e);
      for (const c of r.chains) chains.add(c);
      for (const ip of r.hairpin) hairpin.set(ip, (hairpin.get(ip) ?? 0) + 1);
      for (const [id, eps] of r.affinity ?? []) affinityValid.set(id, eps);
    }
    for (const ip of hairpin.keys()) elements.push({ map: 'hairpin', key: `${ip} . ${ip}`, value: '' });
    const stale = [...this.chainsApplied].filter((c) => !chains.has(c));
    const dirtyNow = [...this.dirty];
    return {
      script: fullScript(this.cfg, elements, new Map([...chains].map((c) => [c, isDnatChain(c) ? this.codeOf(c) : undefined])), { fresh, staleChains: fresh ? [] : stale }),
      services: snapshot.size,
      // A full sync purges every affinity entry that is not an id → endpoint we program now.
      affinityPurge: affinityValid,
      commit: () => {
        this.applied.clear();
        for (const [k, r] of snapshot) this.applied.set(k, r);
        for (const k of dirtyNow) if (this.desired.get(k) === snapshot.get(k)) this.dirty.delete(k);
        this.chainsApplied.clear();
        for (const c of chains) this.chainsApplied.add(c);
        // Codes of dropped chains are free again, unless a Service changed since wants the chain back.
        for (const c of [...this.chainCodes.keys()]) if (!chains.has(c) && ![...this.desired.values()].some((r) => r.chains.includes(c))) this.chainCodes.delete(c);
        this.hairpinCount.clear();
        for (const [ip, n] of hairpin) this.hairpinCount.set(ip, n);
      },
    };
  }
}

/** `delete element` for affinity entries, given the map's current entries (client, id, endpoint). */
export function affinityPurgeScript(entries: readonly { client: string; id: number; endpoint: string }[],
  purge: ReadonlyMap<number, ReadonlySet<string>>, all: boolean): string {
  const stale = entries.filter((e) => {
    const valid = purge.get(e.id);
    return valid ? !valid.has(e.endpoint) : all;
  });
  if (stale.length === 0) return '';
  const keys = stale.map((e) => `0x${e.id.toString(16).padStart(8, '0')} . ${e.client}`);
  return `delete element ${FAMILY} ${TABLE} affinity { ${keys.join(', ')} }\n`;
}
