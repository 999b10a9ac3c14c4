// CREATE and UPDATE with Kubernetes' semantics: defaulting, validation, field
// validation, managed fields, optimistic concurrency, generation, finalizers.
import type { KubeObject, ResourceInfo } from '../../api/types.ts';
import { apiVersionOf } from '../../api/types.ts';
import type { Store } from '../../store/store.ts';
import { errors } from '../errors.ts';
import type { Admission, UserAdmission } from './admission.ts';
import type { UserInfo } from '../auth.ts';
import { decodeKv, encodeObject, storageKey } from './codec.ts';
import { prepareForCreate, prepareForUpdate, sameObject } from './lifecycle.ts';
import { getObject, storeError } from './read.ts';
import { trackManagedFields } from './managed-fields.ts';
import type { NamespaceCache } from './namespace-cache.ts';

export interface WriteContext {
  store: Store;
  admission: Admission;
  now: () => Date;
  /** Checks that depend on who writes (opts.user); see UserAdmission. */
  userAdmission?: UserAdmission;
  /** Watch-fed namespaces (etcd): an Active hit skips the store read of ensureNamespaceAccepts. */
  namespaces?: NamespaceCache;
}

export interface WriteOptions {
  dryRun: boolean;
  fieldManager: string;
  /** Ignore | Warn | Strict */
  fieldValidation: string;
  /** Filled with warnings for the response's Warning headers. */
  warnings: string[];
  /** The object's managedFields are already computed (server-side apply). */
  skipManagedFields?: boolean;
  /** Who writes (absent for the server's own writes). */
  user?: UserInfo;
}

/** Checks the body's apiVersion/kind against the endpoint and fills them when absent. */
export function checkTypeMeta(r: ResourceInfo, obj: unknown, expectKind = r.kind, expectApiVersion = apiVersionOf(r)): KubeObject {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw errors.badRequest(`the body of the request must be a JSON or YAML object, got ${Array.isArray(obj) ? 'an array' : typeof obj}`);
  }
  const o = obj as KubeObject;
  if (o.apiVersion !== undefined && o.apiVersion !== expectApiVersion) {
    throw errors.badRequest(`the API version in the data (${o.apiVersion}) does not match the expected API version (${expectApiVersion})`);
  }
  if (o.kind !== undefined && o.kind !== expectKind) {
    throw errors.badRequest(`the kind in the data (${o.kind}) does not match the expected kind (${expectKind}) for ${expectApiVersion} ${r.plural}`);
  }
  if (o.metadata !== undefined && (o.metadata === null || typeof o.metadata !== 'object' || Array.isArray(o.metadata))) {
    throw errors.badRequest('metadata must be an object');
  }
  o.apiVersion = expectApiVersion;
  o.kind = expectKind;
  return o;
}

/** The request's namespace decides; a different one in the body is an error. */
export function checkNamespace(r: ResourceInfo, obj: KubeObject, namespace: string): void {
  const meta = (obj.metadata ??= {});
  if (!r.namespaced) {
    delete meta.namespace;
    return;
  }
  if (meta.namespace && namespace && meta.namespace !== namespace) {
    throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  meta.namespace = namespace || meta.namespace;
}

export async function ensureNamespaceAccepts(ctx: WriteContext, r: ResourceInfo, namespace: string): Promise<void> {
  if (!r.namespaced) return;
  if (!namespace) throw errors.badRequest('a namespace must be specified for a namespaced resource');
  // As kube's NamespaceLifecycle admission, an existing namespace is answered from the watch-fed
  // cache when there is one; anything else is read from the store. Without a cache, it may be read
  // stale (on etcd: from the nearest member, without a quorum round); a miss is confirmed.
  if (ctx.namespaces?.isActive(namespace)) return;
  const key = `/registry/core/namespaces/${namespace}`;
  const kv = ctx.namespaces ? (await ctx.store.get(key)).kv
    : (await ctx.store.get(key, undefined, { stale: true })).kv ?? (await ctx.store.get(key)).kv;
  if (!kv) throw errors.notFound('', 'namespaces', namespace);
  const ns = decodeKv(kv);
  if (ns.metadata?.deletionTimestamp) {
    throw errors.forbidden(`${r.plural} "${''}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
      { causes: [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }] });
  }
}

function admit(ctx: WriteContext, r: ResourceInfo, obj: KubeObject, old: KubeObject | undefined, opts: WriteOptions): void {
  const unknown = ctx.admission.unknownFields(r, obj);
  if (unknown.length > 0) {
    if (opts.fieldValidation === 'Strict') {
      // kube-apiserver's wording: '<Kind> in version "<v>" cannot be handled as a <Kind>: strict decoding error: ...'
      throw errors.badRequest(`${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: strict decoding error: ` +
        unknown.map((f) => `unknown field "${f.replace(/^\./, '')}"`).join(', '));
    }
    if (opts.fieldValidation !== 'Ignore') for (const f of unknown) opts.warnings.push(`unknown field "${f.replace(/^\./, '')}"`);
  }
  ctx.admission.default(r, obj);
  const causes = ctx.admission.validate(r, obj, old);
  if (causes.length > 0) throw errors.invalid(r.group, r.kind, obj.metadata?.name ?? '', causes);
}

export async function createObject(ctx: WriteContext, r: ResourceInfo, namespace: string, body: unknown, opts: WriteOptions): Promise<KubeObject> {
  const obj = checkTypeMeta(r, body);
  checkNamespace(r, obj, namespace);
  const meta = obj.metadata!;
  if (meta.resourceVersion) throw errors.badRequest('resourceVersion should not be set on objects to be created');
  if (!meta.name && !meta.generateName) {
    throw errors.invalid(r.group, r.kind, '', [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }]);
  }
  await ensureNamespaceAccepts(ctx, r, meta.namespace ?? '');
  prepareForCreate(r, obj, ctx.now());
  if (opts.user) ctx.userAdmission?.({ operation: 'create', r, obj, subresource: '', user: opts.user });
  admit(ctx, r, obj, undefined, opts);
  // Allocation (a Service's clusterIP) answers AlreadyExists itself before allocating anything.
  if (ctx.admission.allocate) await ctx.admission.allocate(r, obj);
  const tracked = opts.skipManagedFields ? obj : trackManagedFields(ctx, r, undefined, obj, opts.fieldManager, '');
  if (opts.dryRun) return tracked;
  const res = await ctx.store.create(storageKey(r, meta.namespace ?? '', meta.name!), encodeObject(tracked)).catch(storeError);
  if (!res.ok) throw errors.alreadyExists(r.group, r.plural, meta.name!);
  tracked.metadata!.resourceVersion = String(res.revision);
  return tracked;
}

export interface UpdateResult {
  object: KubeObject;
  created: boolean;
  /** true when the object was removed from the store (last finalizer gone on a deleting object). */
  deleted?: boolean;
}

/**
 * Writes `next` over the stored object. When `next` carries a resourceVersion it must match
 * (409 otherwise); without one the update is unconditional.
 */
export async function updateObject(ctx: WriteContext, r: ResourceInfo, namespace: string, name: string, body: unknown,
  subresource: string, opts: WriteOptions, allowCreate = false): Promise<UpdateResult> {
  const obj = checkTypeMeta(r, body);
  checkNamespace(r, obj, namespace);
  const meta = obj.metadata!;
  if (meta.name !== undefined && meta.name !== name) {
    throw errors.badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);
  }
  meta.name = name;
  const key = storageKey(r, namespace, name);
  const { kv } = await ctx.store.get(key).catch(storeError);
  if (!kv) {
    if (!allowCreate || subresource) throw errors.notFound(r.group, r.plural, name);
    if (meta.resourceVersion) throw errors.notFound(r.group, r.plural, name);
    return { object: await createObject(ctx, r, namespace, obj, opts), created: true };
  }
  const old = decodeKv(kv);
  if (meta.resourceVersion && meta.resourceVersion !== old.metadata!.resourceVersion) {
    throw errors.conflict(r.group, r.plural, name, 'the object has been modified; please apply your changes to the latest version and try again');
  }
  return writeUpdate(ctx, r, old, kv.modRevision, obj, subresource, opts);
}

/** Applies update rules to `obj` (the desired object) over `old` and stores it if anything changed. */
export async function writeUpdate(ctx: WriteContext, r: ResourceInfo, old: KubeObject, oldRevision: number, obj: KubeObject,
  subresource: string, opts: WriteOptions): Promise<UpdateResult> {
  const name = old.metadata!.name!;
  const next = prepareForUpdate(r, obj, old, subresource);
  if (opts.user) ctx.userAdmission?.({ operation: 'update', r, obj: next, old, subresource, user: opts.user });
  if (subresource === '') admit(ctx, r, next, old, opts);
  else {
    const causes = ctx.admission.validate(r, next, old);
    if (causes.length > 0) throw errors.invalid(r.group, r.kind, name, causes);
  }
  if (ctx.admission.allocate && subresource === '') await ctx.admission.allocate(r, next, old);
  const tracked = opts.skipManagedFields ? next : trackManagedFields(ctx, r, old, next, opts.fieldManager, subresource);
  // An object being deleted goes away when its last finalizer is removed.
  const finishing = !!tracked.metadata?.deletionTimestamp && (tracked.metadata.finalizers ?? []).length === 0 &&
    !(r.kind === 'Namespace' && (tracked.spec?.finalizers ?? []).length > 0) && !isGracefulPod(r, tracked);
  if (sameObject(tracked, old) && !finishing) return { object: old, created: false };
  if (opts.dryRun) return { object: tracked, created: false };
  const key = storageKey(r, old.metadata!.namespace ?? '', name);
  if (finishing) {
    const res = await ctx.store.delete(key, oldRevision).catch(storeError);
    if (!res.ok) throw errors.conflict(r.group, r.plural, name, 'the object has been modified; please apply your changes to the latest version and try again');
    tracked.metadata!.resourceVersion = String(res.revision);
    await ctx.admission.release?.(r, tracked);
    return { object: tracked, created: false, deleted: true };
  }
  const res = await ctx.store.update(key, encodeObject(tracked), oldRevision).catch(storeError);
  if (!res.ok) {
    if (!res.kv) throw errors.notFound(r.group, r.plural, name);
    throw errors.conflict(r.group, r.plural, name, 'the object has been modified; please apply your changes to the latest version and try again');
  }
  tracked.metadata!.resourceVersion = String(res.revision);
  return { object: tracked, created: false };
}

/** A pod on a node waits for its kubelet to confirm termination (a delete with grace 0). */
export function isGracefulPod(r: ResourceInfo, obj: KubeObject): boolean {
  return r.group === '' && r.kind === 'Pod' && !!obj.spec?.nodeName && (obj.metadata?.deletionGracePeriodSeconds ?? 0) > 0 &&
    !['Succeeded', 'Failed'].includes(obj.status?.phase);
}

export { getObject };
