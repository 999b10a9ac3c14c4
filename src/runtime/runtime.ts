// Skiff's CRI RuntimeService: pod sandboxes and their containers on runc under conmon, with
// everything it knows kept on disk under its root so a restart picks up where it left off.
// Exec/Attach/PortForward validate the request and answer a one-time URL on the streaming
// server (streaming/server.ts) that the runtime runs on loopback while it is started.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CriHandlers, RuntimeServiceHandlers } from '../cri/server.ts';
import { Code, CriError } from '../cri/errors.ts';
import type * as T from '../cri/types.ts';
import type { ImageSource } from './image-source.ts';
import { DEFAULT_CNI_BIN_DIRS, DEFAULT_CNI_CONF_DIR, loadCniNetwork } from './cni.ts';
import {
  createContainer, execSync, newId, nowNs, refreshContainer, removeContainer, reopenLog, startContainer,
  stopContainer, updateResources, type ContainerContext,
} from './containers.ts';
import { availableHandlers, defaultHandlers, resolveHandler, type HandlerMap } from './handlers.ts';
import { OciRuntime } from './oci-runtime.ts';
import { detachNetwork, setupSandbox, teardownSandbox, type NetworkOptions } from './sandbox.ts';
import { StateStore, type ContainerRecord, type SandboxRecord } from './state.ts';
import { cgroupUsage, removeCgroup } from './stats.ts';
import { mustBeRunning, streamingBackend, validateExec, validatePortForward, validateStreamRequest } from './streaming/backend.ts';
import { StreamingServer } from './streaming/server.ts';
import { containerItem, containerMatches, containerStatus, labelsMatch, sandboxItem, sandboxMatches, sandboxStatus } from './views.ts';

export const RUNTIME_NAME = 'skiff';
export const RUNTIME_VERSION = '0.1.0';

export interface RuntimeOptions {
  /** Where state, bundles, exit files and runc's state live. */
  root: string;
  images: ImageSource;
  handlers?: HandlerMap;
  conmon?: string;
  cniConfDir?: string;
  cniBinDirs?: string[];
  /** host:port of the streaming server (Exec/Attach/PortForward URLs); default 127.0.0.1:0. */
  streamAddress?: string;
}

type Req<K extends keyof RuntimeServiceHandlers> = Parameters<RuntimeServiceHandlers[K]>[0];

/** Serializes operations on one sandbox or container id. */
class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();
  run<R>(key: string, fn: () => Promise<R>): Promise<R> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    this.tails.set(key, next);
    void next.catch(() => undefined).finally(() => { if (this.tails.get(key) === next) this.tails.delete(key); });
    return next;
  }
}

export class Runtime {
  readonly root: string;
  readonly store: StateStore;
  private readonly images: ImageSource;
  private readonly handlerMap: HandlerMap;
  private readonly net: NetworkOptions;
  private readonly ctx: ContainerContext;
  private readonly sandboxes = new Map<string, SandboxRecord>();
  private readonly containers = new Map<string, ContainerRecord>();
  private readonly lock = new KeyedLock();
  private podCidr = '';
  private readonly streamAddress: string | undefined;
  private streaming: StreamingServer | undefined;

  constructor(options: RuntimeOptions) {
    this.root = options.root;
    this.store = new StateStore(options.root);
    this.images = options.images;
    this.streamAddress = options.streamAddress;
    this.handlerMap = options.handlers ?? defaultHandlers();
    this.net = { cniConfDir: options.cniConfDir ?? DEFAULT_CNI_CONF_DIR, cniBinDirs: options.cniBinDirs ?? DEFAULT_CNI_BIN_DIRS };
    const oci = new Map<string, OciRuntime>();
    this.ctx = {
      store: this.store, images: this.images, exitDir: join(this.root, 'exits'), socketDir: join(this.root, 's'),
      conmon: options.conmon ?? '/usr/bin/conmon',
      ociFor: (sandbox) => {
        let r = oci.get(sandbox.runtimeHandler);
        if (!r) {
          const h = resolveHandler(this.handlerMap, sandbox.runtimeHandler);
          r = new OciRuntime(h.binary, join(this.root, h.name), options.conmon ?? '/usr/bin/conmon', h.args);
          oci.set(sandbox.runtimeHandler, r);
        }
        return r;
      },
      podPidHolder: (sandboxId) => [...this.containers.values()].find((c) => c.sandboxId === sandboxId && c.state === 'CONTAINER_RUNNING' && c.pid > 0),
    };
  }

  /** Loads the state on disk and reconciles running containers with runc and the exit files. */
  async start(): Promise<void> {
    await this.store.init();
    for (const d of [this.ctx.exitDir, this.ctx.socketDir]) await mkdir(d, { recursive: true, mode: 0o700 });
    for (const s of await this.store.loadSandboxes()) this.sandboxes.set(s.id, s);
    for (const c of await this.store.loadContainers()) {
      this.containers.set(c.id, c);
      await refreshContainer(this.ctx, this.sandboxes.get(c.sandboxId), c, true);
    }
    this.streaming = await StreamingServer.start(
      streamingBackend({ ctx: this.ctx, containers: this.containers, sandboxes: this.sandboxes }), { address: this.streamAddress });
  }

  /** Stops the streaming server (cutting streams in progress); containers keep running. */
  async stop(): Promise<void> {
    await this.streaming?.close();
    this.streaming = undefined;
  }

  /** The streaming server's base URL (http://127.0.0.1:PORT) while started. */
  get streamingUrl(): string | undefined { return this.streaming?.baseUrl; }

  private streamingServer(rpc: string): StreamingServer {
    if (!this.streaming) throw new CriError(Code.UNAVAILABLE, `${rpc}: the runtime's streaming server is not running`);
    return this.streaming;
  }

  /** The RuntimeService handlers, for serveCri. */
  handlers(): CriHandlers {
    const h: Partial<RuntimeServiceHandlers> = {
      version: () => ({ version: '0.1.0', runtime_name: RUNTIME_NAME, runtime_version: RUNTIME_VERSION, runtime_api_version: 'v1' }),
      status: (req) => this.status(req),
      updateRuntimeConfig: (req) => { this.podCidr = req.runtime_config?.network_config?.pod_cidr ?? ''; return {}; },
      runtimeConfig: () => ({ linux: { cgroup_driver: 'CGROUPFS' } }),
      runPodSandbox: (req) => this.runPodSandbox(req),
      stopPodSandbox: (req) => this.withSandbox(req.pod_sandbox_id, (s) => this.stopPodSandbox(s)),
      removePodSandbox: (req) => this.removePodSandbox(req),
      podSandboxStatus: (req) => this.podSandboxStatus(req),
      listPodSandbox: (req) => ({ items: [...this.sandboxes.values()].filter((s) => sandboxMatches(s, req.filter)).map(sandboxItem) }),
      createContainer: (req) => this.withSandbox(req.pod_sandbox_id, async (s) => {
        if (s.state !== 'SANDBOX_READY') throw new CriError(Code.FAILED_PRECONDITION, `sandbox ${s.id} is not ready`);
        const c = await createContainer(this.ctx, s, req);
        this.containers.set(c.id, c);
        return { container_id: c.id };
      }),
      startContainer: (req) => this.withContainer(req.container_id, async (c, s) => { await startContainer(this.ctx, this.mustSandbox(s, c), c); return {}; }),
      stopContainer: (req) => this.withContainer(req.container_id, async (c, s) => {
        await stopContainer(this.ctx, this.mustSandbox(s, c), c, Number(req.timeout ?? 0));
        return {};
      }),
      removeContainer: (req) => this.removeContainer(req),
      listContainers: (req) => this.listContainers(req),
      containerStatus: (req) => this.withContainer(req.container_id, async (c, s) => {
        await refreshContainer(this.ctx, s, c);
        return { status: containerStatus(c), info: {} };
      }),
      execSync: (req) => this.withContainer(req.container_id, async (c, s) => {
        await refreshContainer(this.ctx, s, c);
        return execSync(this.ctx, this.mustSandbox(s, c), c, req.cmd ?? [], Number(req.timeout ?? 0));
      }),
      // The URL is handed out under the container's lock, after its state is refreshed.
      exec: (req) => this.withContainer(req.container_id, async (c, s) => {
        validateExec(req);
        await refreshContainer(this.ctx, s, c);
        mustBeRunning('Exec', c);
        return this.streamingServer('Exec').getExec({ ...req, container_id: c.id });
      }),
      attach: (req) => this.withContainer(req.container_id, async (c, s) => {
        validateStreamRequest('Attach', req);
        await refreshContainer(this.ctx, s, c);
        mustBeRunning('Attach', c);
        return this.streamingServer('Attach').getAttach({ ...req, container_id: c.id });
      }),
      portForward: (req) => this.withSandbox(req.pod_sandbox_id, async (s) => {
        validatePortForward(req);
        if (s.state !== 'SANDBOX_READY') throw new CriError(Code.FAILED_PRECONDITION, `PortForward: pod sandbox ${s.id} is not ready`);
        return this.streamingServer('PortForward').getPortForward({ ...req, pod_sandbox_id: s.id });
      }),
      updateContainerResources: (req) => this.withContainer(req.container_id, async (c, s) => {
        if (req.linux) await updateResources(this.ctx, this.mustSandbox(s, c), c, req.linux);
        return {};
      }),
      reopenContainerLog: (req) => this.withContainer(req.container_id, async (c) => { await reopenLog(this.ctx, c); return {}; }),
      containerStats: (req) => this.withContainer(req.container_id, async (c) => ({ stats: await this.containerStats(c) })),
      listContainerStats: async (req) => {
        const f = req.filter;
        const list = [...this.containers.values()].filter((c) => c.state === 'CONTAINER_RUNNING'
          && (!f?.id || c.id.startsWith(f.id)) && (!f?.pod_sandbox_id || c.sandboxId.startsWith(f.pod_sandbox_id))
          && labelsMatch(c.config.labels, f?.label_selector));
        return { stats: await Promise.all(list.map((c) => this.containerStats(c))) };
      },
      podSandboxStats: (req) => this.withSandbox(req.pod_sandbox_id, async (s) => ({ stats: await this.podSandboxStats(s) })),
      listPodSandboxStats: async (req) => {
        const f = req.filter;
        const list = [...this.sandboxes.values()].filter((s) => s.state === 'SANDBOX_READY'
          && (!f?.id || s.id.startsWith(f.id)) && labelsMatch(s.config.labels, f?.label_selector));
        return { stats: await Promise.all(list.map((s) => this.podSandboxStats(s))) };
      },
    };
    return h;
  }

  private async status(req: Req<'status'>): Promise<T.DeepPartial<T.StatusResponse>> {
    const network = await loadCniNetwork(this.net.cniConfDir).then(
      (n) => ({ ok: true, message: n ? `CNI network ${n.name} (${n.file})` : 'no CNI config: pods get loopback only' }),
      (err: Error) => ({ ok: false, message: err.message }));
    return {
      status: {
        conditions: [
          { type: 'RuntimeReady', status: true, reason: '', message: '' },
          { type: 'NetworkReady', status: network.ok, reason: network.ok ? '' : 'NetworkPluginNotReady', message: network.ok ? '' : network.message },
        ],
      },
      info: req.verbose ? { config: JSON.stringify({ root: this.root, podCidr: this.podCidr, network: network.message }) } : {},
      runtime_handlers: availableHandlers(this.handlerMap).map((name) => ({ name, features: { recursive_read_only_mounts: false, user_namespaces: false } })),
      features: { supplemental_groups_policy: false, user_namespaces_host_network: false, mount_options: false },
    };
  }

  /** The pod CIDR kubelet gave with UpdateRuntimeConfig ('' until then). */
  get podCIDR(): string { return this.podCidr; }

  private find<R extends { id: string }>(map: Map<string, R>, id: string | null | undefined, what: string): R {
    if (!id) throw new CriError(Code.INVALID_ARGUMENT, `${what} id is required`);
    const exact = map.get(id);
    if (exact) return exact;
    const matches = [...map.values()].filter((r) => r.id.startsWith(id));
    if (matches.length === 1) return matches[0];
    if (matches.length > 1) throw new CriError(Code.INVALID_ARGUMENT, `${what} id prefix "${id}" is ambiguous`);
    throw new CriError(Code.NOT_FOUND, `${what} "${id}" not found`);
  }

  private withSandbox<R>(id: string | null | undefined, fn: (s: SandboxRecord) => Promise<R>): Promise<R> {
    const s = this.find(this.sandboxes, id, 'pod sandbox');
    return this.lock.run(s.id, () => fn(s));
  }

  private withContainer<R>(id: string | null | undefined, fn: (c: ContainerRecord, s: SandboxRecord | undefined) => Promise<R>): Promise<R> {
    const c = this.find(this.containers, id, 'container');
    return this.lock.run(c.id, () => fn(c, this.sandboxes.get(c.sandboxId)));
  }

  private mustSandbox(s: SandboxRecord | undefined, c: ContainerRecord): SandboxRecord {
    if (!s) throw new CriError(Code.FAILED_PRECONDITION, `container ${c.id}'s pod sandbox ${c.sandboxId} is gone`);
    return s;
  }

  private async runPodSandbox(req: Req<'runPodSandbox'>): Promise<{ pod_sandbox_id: string }> {
    const config: T.DeepPartial<T.PodSandboxConfig> = req.config ?? {};
    if (!config.metadata?.name) throw new CriError(Code.INVALID_ARGUMENT, 'RunPodSandbox: config.metadata.name is required');
    const handler = resolveHandler(this.handlerMap, req.runtime_handler ?? '');
    const id = newId();
    const record: SandboxRecord = {
      id, config, runtimeHandler: handler.name, state: 'SANDBOX_READY', createdAt: nowNs(),
      netnsPath: '', netnsName: '', ipcPath: '', utsPath: '', ips: [],
      cgroupParent: config.linux?.cgroup_parent || `/skiff/${id}`,
    };
    const dir = this.store.sandboxDir(id);
    try {
      await setupSandbox(record, dir, this.net);
      await this.store.saveSandbox(record);
    } catch (err) {
      await this.store.removeSandbox(id);
      throw new CriError(Code.UNKNOWN, `RunPodSandbox ${config.metadata.namespace ?? ''}/${config.metadata.name}: ${(err as Error).message}`);
    }
    this.sandboxes.set(id, record);
    return { pod_sandbox_id: id };
  }

  private podContainers(sandboxId: string): ContainerRecord[] {
    return [...this.containers.values()].filter((c) => c.sandboxId === sandboxId);
  }

  /** Kills the pod's containers and detaches its network; idempotent. */
  private async stopPodSandbox(s: SandboxRecord): Promise<T.DeepPartial<T.StopPodSandboxResponse>> {
    for (const c of this.podContainers(s.id)) {
      await this.lock.run(c.id, () => stopContainer(this.ctx, s, c, 0));
    }
    await detachNetwork(s, this.store.sandboxDir(s.id), this.net);
    s.state = 'SANDBOX_NOTREADY';
    await this.store.saveSandbox(s);
    return {};
  }

  private async removePodSandbox(req: Req<'removePodSandbox'>): Promise<T.DeepPartial<T.RemovePodSandboxResponse>> {
    // Removing what is already gone succeeds: kubelet retries removals.
    const s = [...this.sandboxes.values()].find((r) => req.pod_sandbox_id && r.id.startsWith(req.pod_sandbox_id));
    if (!s) return {};
    await this.lock.run(s.id, async () => {
      for (const c of this.podContainers(s.id)) {
        await this.lock.run(c.id, () => removeContainer(this.ctx, s, c));
        this.containers.delete(c.id);
      }
      await teardownSandbox(s, this.store.sandboxDir(s.id), this.net);
      if (s.cgroupParent === `/skiff/${s.id}`) await removeCgroup(s.cgroupParent);
      await this.store.removeSandbox(s.id);
      this.sandboxes.delete(s.id);
    });
    return {};
  }

  private async podSandboxStatus(req: Req<'podSandboxStatus'>): Promise<T.DeepPartial<T.PodSandboxStatusResponse>> {
    const s = this.find(this.sandboxes, req.pod_sandbox_id, 'pod sandbox');
    const containers = this.podContainers(s.id);
    for (const c of containers) await this.lock.run(c.id, () => refreshContainer(this.ctx, s, c));
    return {
      status: sandboxStatus(s),
      info: req.verbose ? { netns: s.netnsPath, ipc: s.ipcPath, uts: s.utsPath, cgroupParent: s.cgroupParent } : {},
      containers_statuses: containers.map(containerStatus),
      timestamp: nowNs(),
    };
  }

  private async removeContainer(req: Req<'removeContainer'>): Promise<T.DeepPartial<T.RemoveContainerResponse>> {
    const c = [...this.containers.values()].find((r) => req.container_id && r.id.startsWith(req.container_id));
    if (!c) return {};
    await this.lock.run(c.id, () => removeContainer(this.ctx, this.sandboxes.get(c.sandboxId), c));
    this.containers.delete(c.id);
    return {};
  }

  private async listContainers(req: Req<'listContainers'>): Promise<T.DeepPartial<T.ListContainersResponse>> {
    const all = [...this.containers.values()];
    for (const c of all) await this.lock.run(c.id, () => refreshContainer(this.ctx, this.sandboxes.get(c.sandboxId), c));
    return { containers: all.filter((c) => containerMatches(c, req.filter)).map(containerItem) };
  }

  private async containerStats(c: ContainerRecord): Promise<T.DeepPartial<T.ContainerStats>> {
    const usage = await cgroupUsage(c.cgroupsPath);
    return {
      attributes: { id: c.id, metadata: c.config.metadata ?? null, labels: c.config.labels ?? {}, annotations: c.config.annotations ?? {} },
      cpu: usage.cpu, memory: usage.memory, writable_layer: null,
    };
  }

  private async podSandboxStats(s: SandboxRecord): Promise<T.DeepPartial<T.PodSandboxStats>> {
    const usage = await cgroupUsage(s.cgroupParent);
    const containers = this.podContainers(s.id).filter((c) => c.state === 'CONTAINER_RUNNING');
    return {
      attributes: { id: s.id, metadata: s.config.metadata ?? null, labels: s.config.labels ?? {}, annotations: s.config.annotations ?? {} },
      linux: {
        cpu: usage.cpu, memory: usage.memory,
        containers: await Promise.all(containers.map((c) => this.containerStats(c))),
      },
    };
  }
}
