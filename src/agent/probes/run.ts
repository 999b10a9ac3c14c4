// One run of a container's probe, whatever its handler: resolves the port (by number or by the
// container's named port) and the host (the probe's, else the pod IP), and retries a run that
// could not happen at all up to 3 times, as kubelet's prober does.
// https://github.com/kubernetes/kubernetes/blob/master/pkg/kubelet/prober/prober.go
import type { Container, Probe } from 'kubernetes-types/core/v1.d.ts';
import type { CriClient } from '../../cri/client.ts';
import { execProbe, expandStaticEnv } from './exec.ts';
import { grpcProbe } from './grpc.ts';
import { httpProbe } from './http.ts';
import { ProbeError, type ProbeOutcome } from './outcome.ts';
import { tcpProbe } from './tcp.ts';

export interface ProbeTarget {
  cri: CriClient;
  container: Container;
  containerId: string;
  /** Where network probes go by default: the pod IP (the host's for host-network pods). */
  podIP: string;
}

const MAX_RETRIES = 3;

/** Runs the probe; throws ProbeError when it could not run even after retries. */
export async function runProbe(probe: Probe, target: ProbeTarget, signal?: AbortSignal): Promise<ProbeOutcome> {
  let lastError: unknown;
  for (let i = 0; i < MAX_RETRIES; i++) {
    try {
      return await runOnce(probe, target, signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      lastError = err;
    }
  }
  throw lastError instanceof ProbeError ? lastError : new ProbeError((lastError as Error).message);
}

async function runOnce(probe: Probe, target: ProbeTarget, signal?: AbortSignal): Promise<ProbeOutcome> {
  const timeoutSeconds = Math.max(1, probe.timeoutSeconds ?? 1);
  if (probe.exec) {
    const command = expandStaticEnv(probe.exec.command ?? [], target.container.env);
    return execProbe(target.cri, target.containerId, command, timeoutSeconds, signal);
  }
  if (probe.httpGet) {
    const action = probe.httpGet;
    const scheme = (action.scheme ?? 'HTTP').toLowerCase();
    if (scheme !== 'http' && scheme !== 'https') throw new ProbeError(`unsupported HTTP probe scheme ${JSON.stringify(action.scheme)}`);
    return httpProbe({
      scheme,
      host: action.host || target.podIP,
      port: resolveContainerPort(action.port, target.container),
      path: action.path ?? '',
      headers: action.httpHeaders,
      timeoutMs: timeoutSeconds * 1000,
    }, signal);
  }
  if (probe.tcpSocket) {
    const port = resolveContainerPort(probe.tcpSocket.port, target.container);
    return tcpProbe(probe.tcpSocket.host || target.podIP, port, timeoutSeconds * 1000, signal);
  }
  if (probe.grpc) {
    return grpcProbe(target.podIP, checkPort(probe.grpc.port), probe.grpc.service ?? '', timeoutSeconds, signal);
  }
  throw new ProbeError(`missing probe handler for container ${JSON.stringify(target.container.name)}`);
}

/** A probe's port: a number, or the name of one of the container's ports (kubelet's ResolveContainerPort). */
export function resolveContainerPort(port: number | string, container: Container): number {
  if (typeof port === 'number') return checkPort(port);
  const named = container.ports?.find((p) => p.name === port);
  if (named) return checkPort(named.containerPort);
  // kubelet's last resort: a number written as a string.
  if (!/^[+-]?\d+$/.test(port)) throw new ProbeError(`strconv.Atoi: parsing ${JSON.stringify(port)}: invalid syntax`);
  return checkPort(Number(port));
}

function checkPort(port: number): number {
  if (Number.isInteger(port) && port > 0 && port < 65536) return port;
  throw new ProbeError(`invalid port number: ${port}`);
}
