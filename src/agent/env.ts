// The environment of a container, as kubelet computes it (makeEnvironmentVariables):
//   1. envFrom sources in order (configMapRef / secretRef, with prefix; keys that are not valid
//      variable names are skipped),
//   2. env in order: `value` with $(VAR) expanded from what is defined so far and the service
//      variables, or valueFrom (fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef),
//   3. the service link variables not set above.
// https://kubernetes.io/docs/tasks/inject-data-application/define-interdependent-environment-variables/
// https://kubernetes.io/docs/concepts/services-networking/service/#environment-variables
import type { Container, Pod, Service } from 'kubernetes-types/core/v1.d.ts';
import type { RestClient } from '../client/rest.ts';
import { R } from '../client/resources.ts';
import { isNotFound } from '../client/errors.ts';
import { containerResourceValue, nodeAllocatable, nodeHostIPs, podFieldValue } from './volumes/field-ref.ts';
import { configMapData, getConfigMap, getSecret, secretData } from './volumes/objects.ts';

export interface EnvContext {
  client: RestClient;
  nodeName: string;
  /** The pod as last seen, with status.podIP(s) and status.hostIP filled once known. */
  pod: Pod;
  /** Told about things kubelet reports as Warning events (reason, message), e.g. skipped envFrom keys. */
  onWarning?: (reason: string, message: string) => void;
}

export interface EnvVar {
  key: string;
  value: string;
}

/** kubelet's check of envFrom keys (IsEnvVarName): letters, digits, '_', '-', '.', not starting with a digit. */
const ENV_VAR_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/**
 * Kubernetes' $(VAR) expansion: `$(NAME)` becomes the value when lookup knows NAME and stays as
 * written otherwise; `$$` is an escaped `$`; any other `$` is kept.
 */
export function expandVars(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (ch !== '$' || i + 1 >= input.length) {
      out += ch;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += '$(';
        i++;
      } else {
        const name = input.slice(i + 2, close);
        out += lookup(name) ?? `$(${name})`;
        i = close;
      }
    } else {
      out += `$${next}`;
      i++;
    }
  }
  return out;
}

/** The container's env in order; throws an Error whose message kubelet would show (CreateContainerConfigError). */
export async function containerEnv(container: Container, ctx: EnvContext): Promise<EnvVar[]> {
  const { client, pod } = ctx;
  const namespace = pod.metadata?.namespace ?? 'default';
  const serviceEnv = await serviceLinkEnv(client, namespace, pod.spec?.enableServiceLinks !== false);
  // A Map keeps the order of first definition; redefining a name keeps its place.
  const env = new Map<string, string>();
  const configMaps = new Map<string, Map<string, Buffer> | undefined>();
  const secrets = new Map<string, Map<string, Buffer> | undefined>();
  const configMap = async (name: string, optional: boolean) => {
    if (!configMaps.has(name)) {
      const cm = await getConfigMap(client, namespace, name, optional);
      if (!cm) return undefined; // optional and missing: not cached, the same name may be required elsewhere
      configMaps.set(name, configMapData(cm));
    }
    return configMaps.get(name);
  };
  const secret = async (name: string, optional: boolean) => {
    if (!secrets.has(name)) {
      const s = await getSecret(client, namespace, name, optional);
      if (!s) return undefined;
      secrets.set(name, secretData(s));
    }
    return secrets.get(name);
  };

  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    if (!ref) continue;
    const kind = from.configMapRef ? 'configMap' : 'secret';
    const name = ref.name ?? '';
    const data = kind === 'configMap' ? await configMap(name, ref.optional ?? false) : await secret(name, ref.optional ?? false);
    if (!data) continue;
    const invalid: string[] = [];
    for (const [k, v] of [...data].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const key = (from.prefix ?? '') + k;
      if (!ENV_VAR_NAME.test(key)) {
        invalid.push(key);
        continue;
      }
      env.set(key, v.toString('utf8'));
    }
    if (invalid.length > 0) {
      ctx.onWarning?.('InvalidEnvironmentVariableNames', `Keys [${invalid.sort().join(', ')}] from the EnvFrom ${kind} ${namespace}/${name} ` +
        'were skipped since they are considered invalid environment variable names.');
    }
  }

  let allocatable: Promise<Record<string, string>> | undefined;
  let hostIPs: Promise<string[]> | undefined;
  const lookup = (name: string) => env.get(name) ?? serviceEnv.get(name);
  for (const e of container.env ?? []) {
    let value = e.value ?? '';
    if (value !== '') {
      value = expandVars(value, lookup);
    } else if (e.valueFrom) {
      const vf = e.valueFrom;
      if (vf.fieldRef) {
        value = await podFieldValue(pod, vf.fieldRef, {
          nodeName: ctx.nodeName,
          hostIPs: () => (hostIPs ??= nodeHostIPs(client, ctx.nodeName)),
        });
      } else if (vf.resourceFieldRef) {
        const ref = vf.resourceFieldRef;
        const target = ref.containerName ? [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) => c.name === ref.containerName) : container;
        if (!target) throw new Error(`container ${ref.containerName} not found in pod ${namespace}/${pod.metadata?.name}`);
        value = await containerResourceValue(ref, target, () => (allocatable ??= nodeAllocatable(client, ctx.nodeName)));
      } else if (vf.configMapKeyRef) {
        const ref = vf.configMapKeyRef;
        const optional = ref.optional ?? false;
        const data = await configMap(ref.name ?? '', optional);
        if (!data) continue;
        const v = data.get(ref.key);
        if (v === undefined) {
          if (optional) continue;
          throw new Error(`couldn't find key ${ref.key} in ConfigMap ${namespace}/${ref.name}`);
        }
        value = v.toString('utf8');
      } else if (vf.secretKeyRef) {
        const ref = vf.secretKeyRef;
        const optional = ref.optional ?? false;
        const data = await secret(ref.name ?? '', optional);
        if (!data) continue;
        const v = data.get(ref.key);
        if (v === undefined) {
          if (optional) continue;
          throw new Error(`couldn't find key ${ref.key} in Secret ${namespace}/${ref.name}`);
        }
        value = v.toString('utf8');
      }
    }
    env.set(e.name, value);
  }
  for (const [k, v] of serviceEnv) if (!env.has(k)) env.set(k, v);
  return [...env].map(([key, value]) => ({ key, value }));
}

/**
 * Docker-link-style variables for services (kubelet's getServiceEnvVarMap): those of the pod's
 * namespace when enableServiceLinks is not false, and always the `kubernetes` service of
 * `default`, so a pod can find the API server.
 */
export async function serviceLinkEnv(client: RestClient, namespace: string, enableServiceLinks: boolean): Promise<Map<string, string>> {
  const services: Service[] = [];
  if (enableServiceLinks) {
    services.push(...(await client.listAll<Service>(R.services, { namespace })).items);
  }
  if (!enableServiceLinks || namespace !== 'default') {
    try {
      services.push(await client.get<Service>(R.services, 'kubernetes', { namespace: 'default' }));
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
  const out = new Map<string, string>();
  // Sorted by name so the order does not depend on the listing.
  for (const svc of services.sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1))) {
    const ip = svc.spec?.clusterIP;
    if (!ip || ip === 'None' || !svc.metadata?.name) continue;
    if (svc.metadata.namespace !== namespace && !(svc.metadata.namespace === 'default' && svc.metadata.name === 'kubernetes')) continue;
    for (const [k, v] of serviceVars(svc, ip)) out.set(k, v);
  }
  return out;
}

/** FOO_SERVICE_HOST, FOO_SERVICE_PORT[_NAME] and the FOO_PORT_* variables of one service. */
function serviceVars(svc: Service, ip: string): [string, string][] {
  const prefix = svc.metadata!.name!.toUpperCase().replaceAll('-', '_');
  const ports = svc.spec?.ports ?? [];
  const vars: [string, string][] = [[`${prefix}_SERVICE_HOST`, ip]];
  if (ports.length === 0) return vars;
  vars.push([`${prefix}_SERVICE_PORT`, String(ports[0].port)]);
  for (const p of ports) {
    if (p.name) vars.push([`${prefix}_SERVICE_PORT_${p.name.toUpperCase().replaceAll('-', '_')}`, String(p.port)]);
  }
  // Docker link variables: the first port as FOO_PORT, then every port by number and protocol.
  const host = ip.includes(':') ? `[${ip}]` : ip;
  const first = ports[0];
  vars.push([`${prefix}_PORT`, `${(first.protocol ?? 'TCP').toLowerCase()}://${host}:${first.port}`]);
  for (const p of ports) {
    const protocol = p.protocol ?? 'TCP';
    const base = `${prefix}_PORT_${p.port}_${protocol.toUpperCase()}`;
    vars.push([base, `${protocol.toLowerCase()}://${host}:${p.port}`]);
    vars.push([`${base}_PROTO`, protocol.toLowerCase()]);
    vars.push([`${base}_PORT`, String(p.port)]);
    vars.push([`${base}_ADDR`, ip]);
  }
  return vars;
}
