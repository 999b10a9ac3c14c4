// The API server's /metrics: kube-apiserver's names, labels and buckets, so dashboards and alerts
// written for Kubernetes work unchanged (https://kubernetes.io/docs/reference/instrumentation/metrics/).
// Everything lives in a registry of its own, never prom-client's global one.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What kube-apiserver reports in the component label for requests it serves itself. */
export const APISERVER_COMPONENT = 'apiserver';

/** kube-apiserver's apiserver_request_duration_seconds buckets (tuned for its latency SLOs). */
export const REQUEST_DURATION_BUCKETS = [
  0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60,
];

export interface RequestLabels {
  /**
   * Either kube-apiserver's reported verb (GET, LIST, WATCH, POST, PUT, PATCH, APPLY, DELETE, CONNECT) or a
   * Kubernetes API verb (get, list, watch, create, update, patch, delete, deletecollection, proxy), which is
   * translated; see metricsVerb.
   */
  verb: string;
  /** The dryRun query values, sorted and comma-joined ('All'); '' when not a dry run. */
  dryRun?: string;
  group?: string;
  version?: string;
  resource?: string;
  subresource?: string;
  /** 'resource' | 'namespace' | 'cluster' | '' (non-resource); see metricsScope. */
  scope?: string;
  component?: string;
  code: number | string;
}

export interface LongRunningLabels {
  verb: string;
  group?: string;
  version?: string;
  resource?: string;
  subresource?: string;
  scope?: string;
  component?: string;
}

export interface WatchLabels {
  group?: string;
  version?: string;
  resource: string;
  /** The kind, for apiserver_registered_watchers; defaults to the resource. */
  kind?: string;
  scope?: string;
  component?: string;
}

type MaybePromise<T> = T | Promise<T>;
/** Object counts per resource, e.g. { pods: 12, 'deployments.apps': 3 } (kube-apiserver's resource label is `<resource>.<group>`). */
export type StorageObjectsSource = () => MaybePromise<Record<string, number> | Map<string, number>>;
export type StorageSizeSource = () => MaybePromise<number>;

export interface ApiMetrics {
  registry: Registry;
  /** The Content-Type for metricsText()'s output. */
  contentType: string;
  observeRequest(labels: RequestLabels, seconds: number): void;
  longRunningStarted(labels: LongRunningLabels): void;
  longRunningEnded(labels: LongRunningLabels): void;
  watchStarted(watch: WatchLabels | string): void;
  watchEnded(watch: WatchLabels | string): void;
  setStorageObjectsSource(source: StorageObjectsSource | undefined): void;
  setStorageSizeSource(source: StorageSizeSource | undefined): void;
  metricsText(): Promise<string>;
}

export interface ApiMetricsOptions {
  storageObjects?: StorageObjectsSource;
  storageSize?: StorageSizeSource;
  /** Value of apiserver_storage_size_bytes' storage_cluster_id label (kube-apiserver uses the etcd cluster ID). */
  storageClusterId?: string;
  /** Include prom-client's process_* and nodejs_* metrics (default true). */
  processMetrics?: boolean;
}

const REPORTED_VERBS = new Set(['GET', 'LIST', 'WATCH', 'POST', 'PUT', 'PATCH', 'APPLY', 'DELETE', 'CONNECT', 'PROXY', 'HEAD', 'OPTIONS']);
const API_VERB_TO_REPORTED: Record<string, string> = {
  get: 'GET',
  list: 'LIST',
  watch: 'WATCH',
  watchlist: 'WATCH',
  create: 'POST',
  update: 'PUT',
  patch: 'PATCH',
  apply: 'APPLY',
  delete: 'DELETE',
  deletecollection: 'DELETE',
  proxy: 'PROXY',
  connect: 'CONNECT',
};

/**
 * The verb label kube-apiserver reports: the HTTP method, with GET on a collection as LIST, ?watch as WATCH,
 * a server-side-apply PATCH as APPLY, and anything unknown as 'other' (to bound cardinality).
 */
export function metricsVerb(verb: string, opts: { apply?: boolean } = {}): string {
  let reported = API_VERB_TO_REPORTED[verb] ?? verb.toUpperCase();
  if (reported === 'WATCHLIST') reported = 'WATCH';
  if (reported === 'PATCH' && opts.apply) reported = 'APPLY';
  return REPORTED_VERBS.has(reported) ? reported : 'other';
}

/** kube-apiserver's scope label: 'resource' for a named object or a create, then 'namespace', 'cluster', or '' for non-resource requests. */
export function metricsScope(req: { name?: string; namespace?: string; verb?: string; isResourceRequest: boolean }): string {
  if (req.name || req.verb === 'create') return 'resource';
  if (req.namespace) return 'namespace';
  return req.isResourceRequest ? 'cluster' : '';
}

export function createApiMetrics(opts: ApiMetricsOptions = {}): ApiMetrics {
  const registry = new Registry();
  const registers = [registry];
  let storageObjects = opts.storageObjects;
  let storageSize = opts.storageSize;
  const storageClusterId = opts.storageClusterId ?? 'skiff';

  const requestTotal = new Counter({
    name: 'apiserver_request_total',
    help: 'Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.',
    labelNames: ['verb', 'dry_run', 'group', 'version', 'resource', 'subresource', 'scope', 'component', 'code'] as const,
    registers,
  });
  const requestDuration = new Histogram({
    name: 'apiserver_request_duration_seconds',
    help: 'Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.',
    labelNames: ['verb', 'dry_run', 'group', 'version', 'resource', 'subresource', 'scope', 'component'] as const,
    buckets: REQUEST_DURATION_BUCKETS,
    registers,
  });
  const longRunning = new Gauge({
    name: 'apiserver_longrunning_requests',
    help: 'Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component. Not all requests are tracked this way.',
    labelNames: ['verb', 'group', 'version', 'resource', 'subresource', 'scope', 'component'] as const,
    registers,
  });
  // Removed from kube-apiserver in 1.25 (apiserver_longrunning_requests{verb="WATCH"} replaces it); kept for older dashboards.
  const registeredWatchers = new Gauge({
    name: 'apiserver_registered_watchers',
    help: 'Number of currently registered watchers for a given resources',
    labelNames: ['group', 'version', 'kind'] as const,
    registers,
  });
  const knownResources = new Set<string>();
  new Gauge({
    name: 'apiserver_storage_objects',
    help: 'Number of stored objects at the time of last check split by kind. In case of a fetching error, the value will be -1.',
    labelNames: ['resource'] as const,
    registers,
    async collect() {
      if (!storageObjects) return;
      let counts: [string, number][];
      try {
        const got = await storageObjects();
        counts = got instanceof Map ? [...got] : Object.entries(got);
      } catch (err) {
        // kube-apiserver reports -1 for the resources it could not count, and logs why.
        console.error(`apiserver_storage_objects: counting stored objects failed: ${(err as Error).message}`);
        for (const resource of knownResources) this.set({ resource }, -1);
        return;
      }
      this.reset();
      knownResources.clear();
      for (const [resource, n] of counts) {
        knownResources.add(resource);
        this.set({ resource }, n);
      }
    },
  });
  new Gauge({
    name: 'apiserver_storage_size_bytes',
    help: 'Size of the storage database file physically allocated in bytes.',
    labelNames: ['storage_cluster_id'] as const,
    registers,
    async collect() {
      this.reset();
      if (!storageSize) return;
      try {
        this.set({ storage_cluster_id: storageClusterId }, await storageSize());
      } catch (err) {
        // Leave the series out rather than fail the whole scrape.
        console.error(`apiserver_storage_size_bytes: reading the store size failed: ${(err as Error).message}`);
      }
    },
  });
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  const longRunningLabels = (l: LongRunningLabels) => ({
    verb: metricsVerb(l.verb),
    group: l.group ?? '',
    version: l.version ?? '',
    resource: l.resource ?? '',
    subresource: l.subresource ?? '',
    scope: l.scope ?? '',
    component: l.component ?? APISERVER_COMPONENT,
  });
  const watchParts = (w: WatchLabels | string): WatchLabels => (typeof w === 'string' ? { resource: w } : w);
  const watcherLabels = (w: WatchLabels) => ({ group: w.group ?? '', version: w.version ?? '', kind: w.kind ?? w.resource });

  return {
    registry,
    contentType: registry.contentType,
    observeRequest(l, seconds) {
      const labels = {
        verb: metricsVerb(l.verb),
        dry_run: l.dryRun ?? '',
        group: l.group ?? '',
        version: l.version ?? '',
        resource: l.resource ?? '',
        subresource: l.subresource ?? '',
        scope: l.scope ?? '',
        component: l.component ?? APISERVER_COMPONENT,
      };
      requestTotal.inc({ ...labels, code: String(l.code) });
      requestDuration.observe(labels, seconds);
    },
    longRunningStarted: (l) => longRunning.inc(longRunningLabels(l)),
    longRunningEnded: (l) => longRunning.dec(longRunningLabels(l)),
    watchStarted(w) {
      const watch = watchParts(w);
      longRunning.inc(longRunningLabels({ ...watch, verb: 'WATCH' }));
      registeredWatchers.inc(watcherLabels(watch));
    },
    watchEnded(w) {
      const watch = watchParts(w);
      longRunning.dec(longRunningLabels({ ...watch, verb: 'WATCH' }));
      registeredWatchers.dec(watcherLabels(watch));
    },
    setStorageObjectsSource(source) {
      storageObjects = source;
    },
    setStorageSizeSource(source) {
      storageSize = source;
    },
    metricsText: () => registry.metrics(),
  };
}
