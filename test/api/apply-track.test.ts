import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { trackUpdate } from '../../src/api/apply/index.ts';
import type { KubeObject } from '../../src/api/types.ts';
import { entryOf, nginx, stored, T0, T1, T2, trackOpts } from './apply-helpers.ts';

type Fields = Record<string, Record<string, Record<string, unknown>>>;

function withReplicas(obj: KubeObject, replicas: number): KubeObject {
  return { ...obj, spec: { ...obj.spec, replicas } };
}

describe('trackUpdate', () => {
  it('gives a create’s fields to its manager as kubectl create shows them', () => {
    const created = trackUpdate(undefined, nginx({ replicas: 2, labels: { app: 'nginx' } }), trackOpts('kubectl-create', T0));
    assert.deepEqual(created.metadata?.managedFields, [{
      manager: 'kubectl-create', operation: 'Update', apiVersion: 'apps/v1', time: T0, fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
        'f:spec': {
          'f:replicas': {},
          'f:selector': {},
          'f:template': {
            'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
            'f:spec': {
              'f:containers': {
                'k:{"name":"nginx"}': {
                  '.': {}, 'f:image': {}, 'f:name': {},
                  'f:ports': { '.': {}, 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
                },
              },
            },
          },
        },
      },
    }]);
  });

  it('moves changed fields to the updating manager and leaves the rest with their owners', () => {
    const live = stored(trackUpdate(undefined, nginx({ replicas: 2 }), trackOpts('kubectl-create', T0)));
    const scaled = trackUpdate(live, withReplicas(live, 5), trackOpts('hpa', T1));
    assert.deepEqual(entryOf(scaled, 'hpa', 'Update')!.fieldsV1, { 'f:spec': { 'f:replicas': {} } });
    assert.equal(entryOf(scaled, 'hpa', 'Update')!.time, T1);
    const creator = entryOf(scaled, 'kubectl-create', 'Update')!;
    assert.equal((creator.fieldsV1 as Fields)['f:spec']['f:replicas'], undefined);
    assert.equal(creator.time, T0, 'an entry that only lost fields keeps its time');
    // Entries are sorted oldest first.
    assert.deepEqual(scaled.metadata!.managedFields!.map((e) => e.manager), ['kubectl-create', 'hpa']);

    // The same manager again merges into its entry; a no-op write changes nothing.
    const again = trackUpdate(scaled, withReplicas(scaled, 6), trackOpts('hpa', T2));
    assert.equal(again.metadata!.managedFields!.filter((e) => e.manager === 'hpa').length, 1);
    assert.equal(entryOf(again, 'hpa', 'Update')!.time, T2);
    const noop = trackUpdate(again, again, trackOpts('hpa', '2030-01-01T00:00:00Z'));
    assert.deepEqual(noop.metadata!.managedFields, again.metadata!.managedFields);
  });

  it('keeps one entry per apiVersion and per subresource', () => {
    const live = stored(trackUpdate(undefined, nginx({ replicas: 2 }), trackOpts('ctl', T0)));
    const v1beta = trackUpdate(live, withReplicas(live, 3), trackOpts('ctl', T1, { apiVersion: 'apps/v1beta2' }));
    const entries = v1beta.metadata!.managedFields!.filter((e) => e.manager === 'ctl');
    assert.deepEqual(entries.map((e) => e.apiVersion), ['apps/v1', 'apps/v1beta2']);
    const status = trackUpdate(live, { ...live, status: { replicas: 2 } }, trackOpts('ctl', T1, { subresource: 'status' }));
    assert.deepEqual(status.metadata!.managedFields!.map((e) => [e.manager, e.subresource]), [['ctl', undefined], ['ctl', 'status']]);
  });

  it('drops the fields an update removes from every owner', () => {
    const live = stored(trackUpdate(undefined, nginx({ replicas: 2, labels: { app: 'nginx', tier: 'web' } }), trackOpts('kubectl-create', T0)));
    const edited = structuredClone(live);
    delete edited.metadata!.labels!.tier;
    const out = trackUpdate(live, edited, trackOpts('kubectl-edit', T1));
    assert.deepEqual((entryOf(out, 'kubectl-create', 'Update')!.fieldsV1 as Fields)['f:metadata'], { 'f:labels': { '.': {}, 'f:app': {} } });
    assert.equal(entryOf(out, 'kubectl-edit', 'Update'), undefined, 'removing is not owning');
  });

  it('honours managedFields in the request body, and [] resets them', () => {
    const live = stored(trackUpdate(undefined, nginx({ replicas: 2 }), trackOpts('kubectl-create', T0)));
    const explicit = {
      ...withReplicas(live, 3),
      metadata: { ...live.metadata, managedFields: [{ manager: 'mine', operation: 'Update', apiVersion: 'apps/v1', time: T0, fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:replicas': {} } } }] },
    };
    const out = trackUpdate(live, explicit, trackOpts('writer', T1));
    assert.deepEqual(out.metadata!.managedFields!.map((e) => e.manager), ['writer'], '"mine" lost its only field to the writer');

    const reset = trackUpdate(live, { ...live, metadata: { ...live.metadata, managedFields: [] } }, trackOpts('writer', T1));
    assert.equal(reset.metadata!.managedFields, undefined);
    // Once cleared, plain updates don't start tracking again.
    const later = trackUpdate(reset, withReplicas(reset, 4), trackOpts('writer', T2));
    assert.equal(later.metadata!.managedFields, undefined);

    // A request without managedFields keeps the stored ones; invalid ones are ignored too.
    const bogus = { ...withReplicas(live, 3), metadata: { ...live.metadata, managedFields: [{ manager: 'x', operation: 'Delete' }] } };
    const kept = trackUpdate(live, bogus as KubeObject, trackOpts('writer', T1));
    assert.deepEqual(kept.metadata!.managedFields!.map((e) => e.manager), ['kubectl-create', 'writer']);
  });

  it('ignores managedFields sent to a subresource', () => {
    const live = stored(trackUpdate(undefined, nginx({ replicas: 2 }), trackOpts('kubectl-create', T0)));
    const body = { ...live, status: { replicas: 2 }, metadata: { ...live.metadata, managedFields: [] } };
    const out = trackUpdate(live, body, trackOpts('controller', T1, { subresource: 'status' }));
    assert.deepEqual(out.metadata!.managedFields!.map((e) => e.manager), ['kubectl-create', 'controller']);
    assert.deepEqual(entryOf(out, 'controller', 'Update')!.fieldsV1, { 'f:status': { '.': {}, 'f:replicas': {} } });
  });

  it('caps Update entries at ten, folding the oldest into ancient-changes', () => {
    let live = stored(trackUpdate(undefined, nginx({ replicas: 0 }), trackOpts('m0', '2024-05-01T10:00:00Z')));
    for (let i = 1; i <= 11; i++) {
      const obj = { ...live, metadata: { ...live.metadata, labels: { ...live.metadata?.labels, [`l${i}`]: 'x' } } };
      live = trackUpdate(live, obj, trackOpts(`m${i}`, `2024-05-01T10:${String(i).padStart(2, '0')}:00Z`));
    }
    const managers = live.metadata!.managedFields!.map((e) => e.manager);
    assert.equal(managers.length, 10);
    assert.ok(managers.includes('ancient-changes'));
    assert.ok(!managers.includes('m0') && !managers.includes('m1') && !managers.includes('m2'));
    const ancient = entryOf(live, 'ancient-changes', 'Update')!.fieldsV1 as Fields;
    assert.ok(ancient['f:spec'], 'keeps m0’s fields');
    assert.ok(ancient['f:metadata']['f:labels']['f:l2'] !== undefined, 'and m2’s');
  });
});
