// An in-memory CRI runtime: enough state (sandboxes, containers, events) to drive the
// pod lifecycle kubelet runs, with the NotFound / FailedPrecondition answers a real runtime gives.
import { randomBytes } from 'node:crypto';
import { Code, CriError } from '../../src/cri/errors.ts';
import type { CriHandlers } from '../../src/cri/server.ts';
import type {
  ContainerConfig, ContainerEventResponse, ContainerEventType, ContainerState, ContainerStatus,
  DeepPartial, PodSandboxConfig, PodSandboxState,
} from '../../src/cri/types.ts';

interface Sandbox { id: string; config: PodSandboxConfig; state: PodSandboxState; createdAt: number; handler: string }
interface Ctr {
  id: string; sandboxId: string; config: ContainerConfig; state: ContainerState;
  createdAt: number; startedAt: number; finishedAt: number; exitCode: number;
}

const nowNanos = (): number => Date.now() * 1e6;
const newId = (): string => randomBytes(32).toString('hex');

function matchesLabels(labels: Record<string, string>, selector: Record<string, string> | undefined): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

export function fakeRuntime(): CriHandlers & { events: DeepPartial<ContainerEventResponse>[] } {
  const sandboxes = new Map<string, Sandbox>();
  const containers = new Map<string, Ctr>();
  const events: DeepPartial<ContainerEventResponse>[] = [];
  const listeners = new Set<() => void>();

  const sandboxOf = (id: string): Sandbox => {
    const s = sandboxes.get(id);
    if (!s) throw new CriError(Code.NOT_FOUND, `pod sandbox ${JSON.stringify(id)} not found`);
    return s;
  };
  const containerOf = (id: string): Ctr => {
    const c = containers.get(id);
    if (!c) throw new CriError(Code.NOT_FOUND, `container ${JSON.stringify(id)} not found`);
    return c;
  };
  const statusOf = (c: Ctr): DeepPartial<ContainerStatus> => ({
    id: c.id, metadata: c.config.metadata, state: c.state, created_at: c.createdAt,
    started_at: c.startedAt, finished_at: c.finishedAt, exit_code: c.exitCode,
    image: c.config.image, image_ref: c.config.image?.image ?? '', labels: c.config.labels,
    annotations: c.config.annotations, log_path: c.config.log_path,
    reason: c.state === 'CONTAINER_EXITED' ? (c.exitCode === 0 ? 'Completed' : 'Error') : '',
  });
  const emit = (c: Ctr, type: ContainerEventType): void => {
    events.push({ container_id: c.id, container_event_type: type, created_at: nowNanos(), containers_statuses: [statusOf(c)] });
    for (const wake of listeners) wake();
  };

  return {
    events,
    version: () => ({ version: '0.1.0', runtime_name: 'fake', runtime_version: '0.0.1', runtime_api_version: 'v1' }),
    status: () => ({
      status: { conditions: [{ type: 'RuntimeReady', status: true }, { type: 'NetworkReady', status: true }] },
    }),
    runPodSandbox: (req) => {
      if (!req.config?.metadata?.name) throw new CriError(Code.INVALID_ARGUMENT, 'config.metadata.name is required');
      const sandbox: Sandbox = { id: newId(), config: req.config, state: 'SANDBOX_READY', createdAt: nowNanos(), handler: req.runtime_handler };
      sandboxes.set(sandbox.id, sandbox);
      return { pod_sandbox_id: sandbox.id };
    },
    stopPodSandbox: (req) => {
      const s = sandboxOf(req.pod_sandbox_id);
      for (const c of containers.values()) {
        if (c.sandboxId === s.id && c.state === 'CONTAINER_RUNNING') {
          Object.assign(c, { state: 'CONTAINER_EXITED', finishedAt: nowNanos(), exitCode: 137 });
        }
      }
      s.state = 'SANDBOX_NOTREADY';
      return {};
    },
    removePodSandbox: (req) => {
      // Like containerd, removing an already-removed sandbox is not an error.
      const s = sandboxes.get(req.pod_sandbox_id);
      if (!s) return {};
      if (s.state === 'SANDBOX_READY') throw new CriError(Code.FAILED_PRECONDITION, `pod sandbox ${s.id} is still running; stop it first`);
      for (const c of containers.values()) if (c.sandboxId === s.id) containers.delete(c.id);
      sandboxes.delete(s.id);
      return {};
    },
    podSandboxStatus: (req) => {
      const s = sandboxOf(req.pod_sandbox_id);
      return {
        status: {
          id: s.id, metadata: s.config.metadata, state: s.state, created_at: s.createdAt,
          network: { ip: '10.88.0.2' }, labels: s.config.labels, annotations: s.config.annotations, runtime_handler: s.handler,
        },
        info: req.verbose ? { pid: '4242' } : {},
      };
    },
    listPodSandbox: (req) => ({
      items: [...sandboxes.values()]
        .filter((s) => (!req.filter?.id || s.id.startsWith(req.filter.id))
          && (!req.filter?.state || s.state === req.filter.state.state)
          && matchesLabels(s.config.labels, req.filter?.label_selector))
        .map((s) => ({
          id: s.id, metadata: s.config.metadata, state: s.state, created_at: s.createdAt,
          labels: s.config.labels, annotations: s.config.annotations, runtime_handler: s.handler,
        })),
    }),
    createContainer: (req) => {
      const s = sandboxOf(req.pod_sandbox_id);
      if (s.state !== 'SANDBOX_READY') throw new CriError(Code.FAILED_PRECONDITION, `pod sandbox ${s.id} is not ready`);
      if (!req.config) throw new CriError(Code.INVALID_ARGUMENT, 'config is required');
      const c: Ctr = { id: newId(), sandboxId: s.id, config: req.config, state: 'CONTAINER_CREATED', createdAt: nowNanos(), startedAt: 0, finishedAt: 0, exitCode: 0 };
      containers.set(c.id, c);
      emit(c, 'CONTAINER_CREATED_EVENT');
      return { container_id: c.id };
    },
    startContainer: (req) => {
      const c = containerOf(req.container_id);
      if (c.state !== 'CONTAINER_CREATED') throw new CriError(Code.FAILED_PRECONDITION, `container ${c.id} is in state ${c.state}, not created`);
      Object.assign(c, { state: 'CONTAINER_RUNNING', startedAt: nowNanos() });
      emit(c, 'CONTAINER_STARTED_EVENT');
      return {};
    },
    stopContainer: (req) => {
      const c = containerOf(req.container_id);
      if (c.state === 'CONTAINER_RUNNING') {
        Object.assign(c, { state: 'CONTAINER_EXITED', finishedAt: nowNanos(), exitCode: req.timeout === 0 ? 137 : 0 });
        emit(c, 'CONTAINER_STOPPED_EVENT');
      }
      return {};
    },
    removeContainer: (req) => {
      const c = containers.get(req.container_id);
      if (c) { containers.delete(c.id); emit(c, 'CONTAINER_DELETED_EVENT'); }
      return {};
    },
    listContainers: (req) => ({
      containers: [...containers.values()]
        .filter((c) => (!req.filter?.id || c.id.startsWith(req.filter.id))
          && (!req.filter?.pod_sandbox_id || c.sandboxId === req.filter.pod_sandbox_id)
          && (!req.filter?.state || c.state === req.filter.state.state)
          && matchesLabels(c.config.labels, req.filter?.label_selector))
        .map((c) => ({
          id: c.id, pod_sandbox_id: c.sandboxId, metadata: c.config.metadata, image: c.config.image,
          image_ref: c.config.image?.image ?? '', state: c.state, created_at: c.createdAt,
          labels: c.config.labels, annotations: c.config.annotations,
        })),
    }),
    containerStatus: (req) => ({ status: statusOf(containerOf(req.container_id)) }),
    execSync: (req) => {
      const c = containerOf(req.container_id);
      if (c.state !== 'CONTAINER_RUNNING') throw new CriError(Code.FAILED_PRECONDITION, `container ${c.id} is not running`);
      return { stdout: Buffer.from(req.cmd.join(' ') + '\n'), stderr: Buffer.alloc(0), exit_code: 0 };
    },
    listImages: () => ({ images: [{ id: 'sha256:' + '1'.repeat(64), repo_tags: ['docker.io/library/busybox:1.36'], size: 4_300_000 }] }),
    imageFsInfo: () => ({
      image_filesystems: [{ timestamp: nowNanos(), fs_id: { mountpoint: '/var/lib/fake' }, used_bytes: { value: 4_300_000 }, inodes_used: { value: 12 } }],
    }),
    async *getContainerEvents(_req, { signal }) {
      let next = 0;
      while (!signal.aborted) {
        while (next < events.length) yield events[next++]!;
        await new Promise<void>((wake) => {
          const done = () => { listeners.delete(done); signal.removeEventListener('abort', done); wake(); };
          listeners.add(done);
          signal.addEventListener('abort', done);
        });
      }
    },
  };
}
