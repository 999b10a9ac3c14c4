import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApplyConflictError, ApplyError, serverSideApply, trackUpdate } from '../../src/api/apply/index.ts';
import type { KubeObject } from '../../src/api/types.ts';
import { entryOf, nginx, opts, stored, T0, T1, T2, T3, trackOpts } from './apply-helpers.ts';

function apply(live: KubeObject | undefined, applied: KubeObject, o: ReturnType<typeof opts>): KubeObject {
  const { object } = serverSideApply(live, applied, o);
  return live ? object : stored(object);
}

function conflictOf(fn: () => unknown): ApplyConflictError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApplyConflictError) return e;
    throw e;
  }
  assert.fail('expected an apply conflict');
}

describe('serverSideApply', () => {
  it('creates the object and records the applier as Apply owner with Kubernetes’ fieldsV1 encoding', () => {
    const obj = apply(undefined, nginx({ replicas: 2, labels: { app: 'nginx' } }), opts('kubectl', T0));
    assert.equal(obj.spec.replicas, 2);
    assert.deepEqual(obj.spec.template.spec.containers, [{ name: 'nginx', image: 'nginx:1.25', ports: [{ containerPort: 80 }] }]);
    assert.deepEqual(obj.metadata?.managedFields, [{
      manager: 'kubectl', operation: 'Apply', apiVersion: 'apps/v1', time: T0, fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:metadata': { 'f:labels': { 'f:app': {} } },
        'f:spec': {
          'f:replicas': {},
          'f:selector': {},
          'f:template': {
            'f:metadata': { 'f:labels': { 'f:app': {} } },
            'f:spec': {
              'f:containers': {
                'k:{"name":"nginx"}': {
                  '.': {}, 'f:image': {}, 'f:name': {},
                  'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
                },
              },
            },
          },
        },
      },
    }]);
    // `.` comes first and fields before keys, as kube-apiserver writes it.
    const container = JSON.stringify(obj.metadata!.managedFields![0].fieldsV1).match(/"k:\{\\"name\\":\\"nginx\\"\}":\{[^]*$/)![0];
    assert.ok(container.startsWith('"k:{\\"name\\":\\"nginx\\"}":{".":{},"f:image":{},"f:name":{},"f:ports"'), container);
  });

  it('removes a field the same manager applied before and no longer applies', () => {
    const first = apply(undefined, nginx({ replicas: 2, labels: { app: 'nginx', tier: 'web' } }), opts('kubectl', T0));
    const second = apply(first, nginx({ labels: { app: 'nginx' } }), opts('kubectl', T1));
    assert.equal(second.spec.replicas, undefined);
    assert.deepEqual(second.metadata?.labels, { app: 'nginx' });
    // Everything the server set stays.
    assert.equal(second.metadata?.uid, 'a1b2c3');
    assert.equal(second.metadata?.resourceVersion, '100');
    assert.equal(second.metadata?.name, 'web');
    const fields = entryOf(second, 'kubectl')!.fieldsV1 as Record<string, Record<string, unknown>>;
    assert.equal(fields['f:spec']['f:replicas'], undefined);
    assert.deepEqual(fields['f:metadata'], { 'f:labels': { 'f:app': {} } });
    assert.equal(entryOf(second, 'kubectl')!.time, T1);
  });

  it('refuses a second manager changing an owned field, with kube-apiserver’s message and causes', () => {
    const live = apply(undefined, nginx({ replicas: 2 }), opts('kubectl', T0));
    const e = conflictOf(() => serverSideApply(live, nginx({ replicas: 5 }), opts('other', T1)));
    assert.equal(e.message, 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas');
    assert.deepEqual(e.causes, [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl"', field: '.spec.replicas' }]);
    assert.deepEqual(e.toStatus(), {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
      message: 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas',
      reason: 'Conflict', details: { causes: e.causes }, code: 409,
    });
  });

  it('lists several conflicts by manager', () => {
    const live = apply(undefined, nginx({ replicas: 2 }), opts('kubectl', T0));
    const e = conflictOf(() => serverSideApply(live, nginx({ replicas: 5, image: 'nginx:1.26' }), opts('other', T1)));
    assert.equal(e.message, 'Apply failed with 2 conflicts: conflicts with "kubectl":\n- .spec.replicas\n- .spec.template.spec.containers[name="nginx"].image');
    assert.deepEqual(e.causes.map((c) => c.field), ['.spec.replicas', '.spec.template.spec.containers[name="nginx"].image']);
  });

  it('with force, changes the value and moves ownership', () => {
    const live = apply(undefined, nginx({ replicas: 2 }), opts('kubectl', T0));
    const obj = serverSideApply(live, { ...nginx({ replicas: 5 }), spec: { replicas: 5 } }, { ...opts('other', T1), force: true }).object;
    assert.equal(obj.spec.replicas, 5);
    const kubectl = entryOf(obj, 'kubectl')!.fieldsV1 as Record<string, Record<string, unknown>>;
    assert.equal(kubectl['f:spec']['f:replicas'], undefined);
    assert.ok(kubectl['f:spec']['f:template'], 'kubectl keeps the rest');
    assert.deepEqual(entryOf(obj, 'other')!.fieldsV1, { 'f:spec': { 'f:replicas': {} } });
    // Now the first manager is the one that conflicts.
    const e = conflictOf(() => serverSideApply(obj, nginx({ replicas: 2 }), opts('kubectl', T2)));
    assert.equal(e.message, 'Apply failed with 1 conflict: conflict with "other": .spec.replicas');
  });

  it('shares a field applied with the same value; the field stays when one sharer drops it', () => {
    const live = apply(undefined, nginx({ replicas: 2 }), opts('kubectl', T0));
    const shared = serverSideApply(live, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 2 } }, opts('other', T1)).object;
    assert.deepEqual(entryOf(shared, 'other')!.fieldsV1, { 'f:spec': { 'f:replicas': {} } });
    assert.ok((entryOf(shared, 'kubectl')!.fieldsV1 as Record<string, Record<string, unknown>>)['f:spec']['f:replicas']);
    // A no-op apply does not touch the object, nor give the entry a time.
    assert.equal(entryOf(shared, 'other')!.time, undefined);

    const dropped = serverSideApply(shared, nginx(), opts('kubectl', T2)).object;
    assert.equal(dropped.spec.replicas, 2, 'still owned by "other"');
    assert.equal((entryOf(dropped, 'kubectl')!.fieldsV1 as Record<string, Record<string, unknown>>)['f:spec']['f:replicas'], undefined);
  });

  it('conflicts with an Update manager that took a field, naming it with its apiVersion', () => {
    const live = apply(undefined, nginx({ replicas: 2 }), opts('kubectl', T0));
    // `kubectl scale` writes spec.replicas through the scale subresource.
    const scaled = trackUpdate(live, { ...live, spec: { ...live.spec, replicas: 4 } }, trackOpts('kubectl', T1, { subresource: 'scale' }));
    const scale = entryOf(scaled, 'kubectl', 'Update')!;
    assert.deepEqual(scale, {
      manager: 'kubectl', operation: 'Update', apiVersion: 'apps/v1', time: T1, fieldsType: 'FieldsV1',
      fieldsV1: { 'f:spec': { 'f:replicas': {} } }, subresource: 'scale',
    });
    const e = conflictOf(() => serverSideApply(scaled, nginx({ replicas: 3 }), opts('kubectl', T2)));
    assert.equal(e.message, 'Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas');

    const patched = trackUpdate(live, { ...live, spec: { ...live.spec, replicas: 4 } }, trackOpts('kubectl-patch', T1));
    const e2 = conflictOf(() => serverSideApply(patched, nginx({ replicas: 3 }), opts('kubectl', T2)));
    assert.equal(e2.message, 'Apply failed with 1 conflict: conflict with "kubectl-patch" using apps/v1: .spec.replicas');
    // Applying the value that is there is fine.
    assert.equal(serverSideApply(patched, nginx({ replicas: 4 }), opts('kubectl', T2)).object.spec.replicas, 4);
  });

  it('merges list-map items of two managers, each owning its own container', () => {
    const live = apply(undefined, nginx(), opts('kubectl', T0));
    const sidecar = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
      spec: { template: { spec: { containers: [{ name: 'log', image: 'busybox', env: [{ name: 'LEVEL', value: 'debug' }] }] } } },
    };
    const both = serverSideApply(live, sidecar, opts('sidecar-injector', T1)).object;
    assert.deepEqual(both.spec.template.spec.containers.map((c: { name: string }) => c.name), ['nginx', 'log']);
    assert.deepEqual(entryOf(both, 'sidecar-injector')!.fieldsV1, {
      'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"log"}': {
        '.': {}, 'f:env': { 'k:{"name":"LEVEL"}': { '.': {}, 'f:name': {}, 'f:value': {} } }, 'f:image': {}, 'f:name': {},
      } } } } },
    });

    // The first manager re-applies with a new image: the sidecar is untouched.
    const bumped = serverSideApply(both, nginx({ image: 'nginx:1.26' }), opts('kubectl', T2)).object;
    assert.deepEqual(bumped.spec.template.spec.containers, [
      { name: 'nginx', image: 'nginx:1.26', ports: [{ containerPort: 80 }] },
      { name: 'log', image: 'busybox', env: [{ name: 'LEVEL', value: 'debug' }] },
    ]);

    // The injector drops its container: only that one goes.
    const empty = { ...sidecar, spec: { template: { spec: { containers: [] } } } };
    const after = serverSideApply(bumped, empty, opts('sidecar-injector', T3)).object;
    assert.deepEqual(after.spec.template.spec.containers.map((c: { name: string }) => c.name), ['nginx']);
    assert.equal(entryOf(after, 'sidecar-injector'), undefined, 'an entry that owns nothing is dropped');
  });

  it('merges set lists item by item and orders shared list items as applied', () => {
    const meta = (finalizers: string[]) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', finalizers } });
    const live = apply(undefined, meta(['a.example.com/x']), opts('one', T0));
    const both = serverSideApply(live, meta(['b.example.com/y']), opts('two', T1)).object;
    assert.deepEqual(both.metadata?.finalizers, ['a.example.com/x', 'b.example.com/y']);
    assert.deepEqual(entryOf(both, 'two')!.fieldsV1, { 'f:metadata': { 'f:finalizers': { 'v:"b.example.com/y"': {} } } });

    const three = nginx();
    three.spec.template.spec.containers = ['a', 'b', 'c'].map((name) => ({ name, image: name }));
    const l3 = apply(undefined, three, opts('kubectl', T0));
    const reordered = nginx();
    reordered.spec.template.spec.containers = ['c', 'a'].map((name) => ({ name, image: name }));
    const other = serverSideApply(l3, reordered, opts('other', T1)).object;
    assert.deepEqual(other.spec.template.spec.containers.map((c: { name: string }) => c.name), ['b', 'c', 'a']);
  });

  it('replaces atomic lists and maps whole, and keeps granular maps key by key', () => {
    const base = nginx();
    base.spec.template.spec.containers[0].args = ['a', 'b'];
    base.spec.template.spec.nodeSelector = { disk: 'ssd', zone: 'a' };
    const live = apply(undefined, base, opts('kubectl', T0));
    const other = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels: { team: 'x' } },
      spec: { template: { spec: { nodeSelector: { zone: 'b' }, containers: [{ name: 'nginx', args: ['c'] }] } } },
    };
    const obj = serverSideApply(live, other, { ...opts('other', T1), force: true }).object;
    assert.deepEqual(obj.spec.template.spec.nodeSelector, { zone: 'b' });
    assert.deepEqual(obj.spec.template.spec.containers[0].args, ['c']);
    assert.deepEqual(obj.metadata?.labels, { team: 'x' });
    const fields = entryOf(obj, 'other')!.fieldsV1 as Record<string, Record<string, Record<string, Record<string, unknown>>>>;
    assert.deepEqual(fields['f:spec']['f:template']['f:spec']['f:nodeSelector'], {});
  });

  it('does not own status when the resource has a status subresource', () => {
    const withStatus = { ...nginx({ replicas: 1 }), status: { replicas: 1 } };
    const obj = serverSideApply(undefined, withStatus, opts('kubectl', T0, { hasStatusSubresource: true })).object;
    assert.equal((entryOf(obj, 'kubectl')!.fieldsV1 as Record<string, unknown>)['f:status'], undefined);
    // Through the status subresource, only status is owned.
    const st = serverSideApply(stored(obj), { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 9 }, status: { readyReplicas: 1 } },
      opts('controller', T1, { subresource: 'status' })).object;
    assert.deepEqual(entryOf(st, 'controller')!.fieldsV1, { 'f:status': { 'f:readyReplicas': {} } });
    assert.equal(entryOf(st, 'controller')!.subresource, 'status');
  });

  it('lets kubectl take over fields from client-side apply that match last-applied-configuration', () => {
    const config = nginx({ replicas: 2 });
    const lastApplied = JSON.stringify(config);
    const created = trackUpdate(undefined, {
      ...config, metadata: { ...config.metadata, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied } },
    }, trackOpts('kubectl-client-side-apply', T0));
    const live = stored(created);
    const obj = serverSideApply(live, nginx({ replicas: 3 }), opts('kubectl', T1)).object;
    assert.equal(obj.spec.replicas, 3);
    assert.deepEqual(JSON.parse(obj.metadata!.annotations!['kubectl.kubernetes.io/last-applied-configuration']).spec.replicas, 3);
    // Another applier gets the conflict.
    const e = conflictOf(() => serverSideApply(live, nginx({ replicas: 3 }), opts('helm', T1)));
    assert.equal(e.message, 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas');
  });

  it('starts tracking an untracked object with a before-first-apply entry', () => {
    const untracked = stored(nginx({ replicas: 2 }));
    const e = conflictOf(() => serverSideApply(untracked, nginx({ replicas: 3 }), opts('kubectl', T1)));
    assert.equal(e.message, 'Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas');
  });

  it('rejects what kube-apiserver rejects', () => {
    const withManaged = nginx();
    withManaged.metadata!.managedFields = [];
    assert.throws(() => serverSideApply(undefined, withManaged, opts('kubectl', T0)),
      (e: unknown) => e instanceof ApplyError && e.code === 400 && e.message === 'metadata.managedFields must be nil');
    const dup = nginx();
    dup.spec.template.spec.containers.push({ name: 'nginx', image: 'x' });
    assert.throws(() => serverSideApply(undefined, dup, opts('kubectl', T0)), (e: unknown) =>
      e instanceof ApplyError && e.code === 500 &&
      e.message === 'failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.template.spec.containers: duplicate entries for key [name="nginx"]');
  });

  it('treats lists as atomic and maps as granular without a schema', () => {
    const cr = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { sizes: [1, 2], color: 'red' } };
    const o = { ...opts('a', T0), apiVersion: 'example.com/v1', schema: undefined, resolver: undefined };
    const live = stored(serverSideApply(undefined, cr, o).object);
    assert.deepEqual(entryOf(live, 'a')!.fieldsV1, { 'f:spec': { '.': {}, 'f:color': {}, 'f:sizes': {} } });
    const e = conflictOf(() => serverSideApply(live, { ...cr, spec: { sizes: [3] } }, { ...o, manager: 'b' }));
    assert.equal(e.message, 'Apply failed with 1 conflict: conflict with "a": .spec.sizes');
  });
});
