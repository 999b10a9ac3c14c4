// The CRI shapes of our records: PodSandboxStatus, ContainerStatus, list items, and filters.
import type {
  Container, ContainerFilter, ContainerStatus, DeepPartial, NamespaceMode, PodSandbox, PodSandboxFilter,
  PodSandboxStatus, Signal,
} from '../cri/types.ts';
import type { ContainerRecord, SandboxRecord } from './state.ts';

export function labelsMatch(labels: Record<string, string | null | undefined> | null | undefined, selector: Record<string, string> | null | undefined): boolean {
  for (const [k, v] of Object.entries(selector ?? {})) if ((labels ?? {})[k] !== v) return false;
  return true;
}

function cleanMap(m: Record<string, string | null | undefined> | null | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(m ?? {}).map(([k, v]) => [k, v ?? '']));
}

function namespaceMode(v: NamespaceMode | null | undefined, fallback: NamespaceMode): NamespaceMode {
  return v ?? fallback;
}

export function sandboxStatus(s: SandboxRecord): DeepPartial<PodSandboxStatus> {
  const ns = s.config.linux?.security_context?.namespace_options;
  return {
    id: s.id,
    metadata: s.config.metadata ?? null,
    state: s.state,
    created_at: s.createdAt,
    network: { ip: s.ips[0] ?? '', additional_ips: s.ips.slice(1).map((ip) => ({ ip })) },
    linux: {
      namespaces: {
        options: {
          network: namespaceMode(ns?.network, 'POD'),
          pid: namespaceMode(ns?.pid, 'CONTAINER'),
          ipc: namespaceMode(ns?.ipc, 'POD'),
          target_id: ns?.target_id ?? '',
        },
      },
    },
    labels: cleanMap(s.config.labels),
    annotations: cleanMap(s.config.annotations),
    runtime_handler: s.runtimeHandler,
  };
}

export function sandboxItem(s: SandboxRecord): DeepPartial<PodSandbox> {
  return {
    id: s.id, metadata: s.config.metadata ?? null, state: s.state, created_at: s.createdAt,
    labels: cleanMap(s.config.labels), annotations: cleanMap(s.config.annotations), runtime_handler: s.runtimeHandler,
  };
}

export function sandboxMatches(s: SandboxRecord, f: DeepPartial<PodSandboxFilter> | null | undefined): boolean {
  if (!f) return true;
  if (f.id && !s.id.startsWith(f.id)) return false;
  if (f.state?.state && f.state.state !== s.state) return false;
  return labelsMatch(s.config.labels, f.label_selector as Record<string, string> | undefined);
}

export function containerItem(c: ContainerRecord): DeepPartial<Container> {
  return {
    id: c.id, pod_sandbox_id: c.sandboxId, metadata: c.config.metadata ?? null,
    image: { image: c.config.image?.image ?? '', annotations: {}, user_specified_image: c.config.image?.user_specified_image ?? '' },
    image_ref: c.imageRef, image_id: c.imageRef, state: c.state, created_at: c.createdAt,
    labels: cleanMap(c.config.labels), annotations: cleanMap(c.config.annotations),
  };
}

export function containerMatches(c: ContainerRecord, f: DeepPartial<ContainerFilter> | null | undefined): boolean {
  if (!f) return true;
  if (f.id && !c.id.startsWith(f.id)) return false;
  if (f.pod_sandbox_id && !c.sandboxId.startsWith(f.pod_sandbox_id)) return false;
  if (f.state?.state && f.state.state !== c.state) return false;
  return labelsMatch(c.config.labels, f.label_selector as Record<string, string> | undefined);
}

export function containerStatus(c: ContainerRecord): DeepPartial<ContainerStatus> {
  return {
    id: c.id,
    metadata: c.config.metadata ?? null,
    state: c.state,
    created_at: c.createdAt,
    started_at: c.startedAt,
    finished_at: c.finishedAt,
    exit_code: c.exitCode,
    image: { image: c.config.image?.image ?? '', annotations: {}, user_specified_image: c.config.image?.user_specified_image ?? '' },
    image_ref: c.imageRef,
    image_id: c.imageRef,
    reason: c.reason,
    message: c.message,
    labels: cleanMap(c.config.labels),
    annotations: cleanMap(c.config.annotations),
    mounts: c.config.mounts ?? [],
    log_path: c.logPath,
    resources: c.config.linux?.resources ? { linux: c.config.linux.resources } : null,
    stop_signal: (c.config.stop_signal ?? 'SIGNAL_RUNTIME_DEFAULT') as Signal,
  };
}

/** 'SIGNAL_SIGTERM' (CRI) or 'SIGTERM'/'TERM'/'15' (image StopSignal) as runc's signal name. */
export function signalName(criSignal: string | null | undefined, imageSignal: string | undefined): string {
  const fromCri = criSignal && criSignal !== 'SIGNAL_RUNTIME_DEFAULT' ? criSignal.replace(/^SIGNAL_/, '') : '';
  const s = (fromCri || imageSignal || 'SIGTERM').toUpperCase();
  if (/^\d+$/.test(s)) return s;
  return s.startsWith('SIG') ? s : `SIG${s}`;
}
