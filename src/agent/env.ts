// The environment of a container, as kubelet computes it. SEED: literal `value` entries only;
// the full implementation (envFrom, valueFrom, service links) replaces this file.
import type { Container, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { RestClient } from '../client/rest.ts';

export interface EnvContext {
  client: RestClient;
  nodeName: string;
  /** The pod as last seen, with status.podIP(s) and status.hostIP filled once known. */
  pod: Pod;
}

export interface EnvVar {
  key: string;
  value: string;
}

/** The container's env in order; throws an Error whose message kubelet would show (CreateContainerConfigError). */
export async function containerEnv(container: Container, ctx: EnvContext): Promise<EnvVar[]> {
  return (container.env ?? []).filter((e) => e.value !== undefined).map((e) => ({ key: e.name, value: e.value ?? '' }));
}
