import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPatch, PatchError, type PatchSchema } from '../../src/api/patch/index.ts';
import type { KubeObject } from '../../src/api/types.ts';
import { deploymentSchema, podSchema } from './patch-fixtures.ts';

const SMP = 'application/strategic-merge-patch+json';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Applies a strategic merge patch and checks the stored object was left alone. */
function smp(original: KubeObject, patch: unknown, schema = deploymentSchema): KubeObject {
  const before = structuredClone(original);
  const result = applyPatch(SMP, original, JSON.stringify(patch), schema);
  assert.deepEqual(original, before, 'the original object must not change');
  return result;
}

function smpError(original: KubeObject, body: string, schema: PatchSchema = deploymentSchema): PatchError {
  return caught(() => applyPatch(SMP, original, body, schema));
}

function caught(fn: () => unknown): PatchError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PatchError, `expected a PatchError, got ${String(err)}`);
    return err;
  }
  assert.fail('the patch should have been refused');
}

const container = (name: string, image: string, extra: Record<string, unknown> = {}) => ({
  name,
  image,
  imagePullPolicy: 'IfNotPresent',
  terminationMessagePath: '/dev/termination-log',
  ...extra,
});

/** A Deployment as the server stores it: defaults filled in, last-applied annotation from kubectl apply. */
function liveDeployment(containers: unknown[], extraSpec: Record<string, unknown> = {}): KubeObject {
  const applied = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: { replicas: 2, template: { spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } } },
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'default',
      uid: '6b1e3c2a-0000-4000-8000-000000000001',
      resourceVersion: '41',
      labels: { app: 'web' },
      annotations: { [LAST_APPLIED]: JSON.stringify(applied) + '\n', 'deployment.kubernetes.io/revision': '1' },
    },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers, restartPolicy: 'Always', ...extraSpec },
      },
    },
  };
}

const names = (list: unknown[]) => list.map((c) => (c as { name: string }).name);

test('kubectl apply adding a container keeps the existing ones and follows $setElementOrder', () => {
  const live = liveDeployment([container('web', 'nginx:1.27', { ports: [{ containerPort: 80, protocol: 'TCP' }] })]);
  const newApplied = '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"annotations":{},"name":"web","namespace":"default"},"spec":{"template":{"spec":{"containers":[{"image":"nginx:1.27","name":"web"},{"image":"busybox:1.36","name":"sidecar"}]}}}}\n';
  // The three-way patch kubectl 1.32 sends for this change.
  const patch = {
    metadata: { annotations: { [LAST_APPLIED]: newApplied } },
    spec: {
      template: {
        spec: {
          '$setElementOrder/containers': [{ name: 'web' }, { name: 'sidecar' }],
          containers: [{ image: 'busybox:1.36', name: 'sidecar' }],
        },
      },
    },
  };
  const result = smp(live, patch);
  const containers = result.spec.template.spec.containers;
  assert.deepEqual(names(containers), ['web', 'sidecar']);
  assert.deepEqual(containers[0], live.spec.template.spec.containers[0], 'the existing container keeps its defaulted fields');
  assert.deepEqual(containers[1], { image: 'busybox:1.36', name: 'sidecar' });
  assert.equal(result.metadata?.annotations?.[LAST_APPLIED], newApplied);
  assert.equal(result.metadata?.annotations?.['deployment.kubernetes.io/revision'], '1', 'other annotations stay');
  assert.equal(result.spec.template.spec.restartPolicy, 'Always');
  assert.ok(!JSON.stringify(result).includes('$setElementOrder'), 'no directive is stored');
});

test('a container only the server knows about (injected sidecar) survives kubectl apply', () => {
  const live = liveDeployment([container('web', 'nginx:1.27'), container('istio-proxy', 'proxy:1')]);
  const result = smp(live, {
    spec: {
      template: {
        spec: {
          '$setElementOrder/containers': [{ name: 'web' }, { name: 'sidecar' }],
          containers: [{ image: 'busybox:1.36', name: 'sidecar' }],
        },
      },
    },
  });
  assert.deepEqual(names(result.spec.template.spec.containers), ['web', 'sidecar', 'istio-proxy']);
});

test('renaming a container with kubectl apply: delete + add, the new one takes the deleted one\'s place among server-only items', () => {
  const live = liveDeployment([container('web', 'nginx:1.27'), container('istio-proxy', 'proxy:1')]);
  const result = smp(live, {
    spec: {
      template: {
        spec: {
          '$setElementOrder/containers': [{ name: 'app' }],
          containers: [{ image: 'nginx:1.27', name: 'app' }, { $patch: 'delete', name: 'web' }],
        },
      },
    },
  });
  // kube-apiserver gives this order too (apimachinery's "add map and delete map from merging list").
  assert.deepEqual(names(result.spec.template.spec.containers), ['istio-proxy', 'app']);
});

test('$setElementOrder reorders a list without changing its items', () => {
  const live = liveDeployment([container('a', 'a:1'), container('b', 'b:1'), container('c', 'c:1')]);
  const result = smp(live, {
    spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'c' }, { name: 'a' }, { name: 'b' }] } } },
  });
  assert.deepEqual(names(result.spec.template.spec.containers), ['c', 'a', 'b']);
  assert.deepEqual(result.spec.template.spec.containers[0], live.spec.template.spec.containers[2]);
});

test('removing fields that were in last-applied: kubectl sends null and $patch: delete', () => {
  const live = liveDeployment([
    container('web', 'nginx:1.27', {
      args: ['--verbose'],
      env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }, { name: 'C', value: '3' }],
    }),
  ]);
  const result = smp(live, {
    spec: {
      replicas: null,
      template: {
        spec: {
          '$setElementOrder/containers': [{ name: 'web' }],
          containers: [{
            '$setElementOrder/env': [{ name: 'A' }, { name: 'C' }],
            args: null,
            env: [{ $patch: 'delete', name: 'B' }],
            name: 'web',
          }],
        },
      },
    },
  });
  assert.equal('replicas' in result.spec, false);
  const web = result.spec.template.spec.containers[0];
  assert.equal('args' in web, false);
  assert.deepEqual(web.env, [{ name: 'A', value: '1' }, { name: 'C', value: '3' }]);
  assert.equal(web.image, 'nginx:1.27');
});

test('$patch: delete removes one element of a merging list by its merge key', () => {
  const live = liveDeployment([container('web', 'nginx:1.27'), container('debug', 'busybox')]);
  const result = smp(live, { spec: { template: { spec: { containers: [{ name: 'debug', $patch: 'delete' }] } } } });
  assert.deepEqual(names(result.spec.template.spec.containers), ['web']);
});

test('$retainKeys on a volume switches its source from configMap to emptyDir', () => {
  const live = liveDeployment([container('web', 'nginx:1.27')], {
    volumes: [
      { name: 'config', configMap: { name: 'web-config', defaultMode: 420 } },
      { name: 'data', configMap: { name: 'data', defaultMode: 420 } },
    ],
  });
  const result = smp(live, {
    spec: {
      template: {
        spec: {
          '$setElementOrder/volumes': [{ name: 'config' }, { name: 'data' }],
          volumes: [{ $retainKeys: ['emptyDir', 'name'], emptyDir: {}, name: 'data' }],
        },
      },
    },
  });
  assert.deepEqual(result.spec.template.spec.volumes, [
    { name: 'config', configMap: { name: 'web-config', defaultMode: 420 } },
    { name: 'data', emptyDir: {} },
  ]);
});

test('$retainKeys on a Deployment strategy drops rollingUpdate when switching to Recreate', () => {
  const live = liveDeployment([container('web', 'nginx:1.27')]);
  const result = smp(live, { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: null, type: 'Recreate' } } });
  assert.deepEqual(result.spec.strategy, { type: 'Recreate' });
});

test('$retainKeys must list every field the patch sets', () => {
  const live = liveDeployment([container('web', 'nginx:1.27')]);
  const err = smpError(live, JSON.stringify({ spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: { maxSurge: '1' } } } }));
  assert.equal(err.code, 400);
  assert.equal(err.message, 'invalid patch format of retainKeys');
});

test('kubectl patch without $setElementOrder merges by key: env entries merge, new ones come first', () => {
  const live = liveDeployment([container('web', 'nginx:1.27', { env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] })]);
  const result = smp(live, {
    spec: { template: { spec: { containers: [{ name: 'web', env: [{ name: 'B', value: 'two' }, { name: 'Z', value: '26' }] }] } } },
  });
  const web = result.spec.template.spec.containers[0];
  assert.deepEqual(web.env, [{ name: 'A', value: '1' }, { name: 'B', value: 'two' }, { name: 'Z', value: '26' }]);
  assert.equal(web.imagePullPolicy, 'IfNotPresent');

  // Like kube-apiserver: an item the live list does not have goes before the server-only items.
  const added = smp(live, { spec: { template: { spec: { containers: [{ name: 'sidecar', image: 'busybox' }] } } } });
  assert.deepEqual(names(added.spec.template.spec.containers), ['sidecar', 'web']);
});

test('the order of the patch list wins over the live order for the items it names', () => {
  const live = liveDeployment([container('a', 'a:1'), container('b', 'b:1'), container('c', 'c:1')]);
  const result = smp(live, { spec: { template: { spec: { containers: [{ name: 'c', image: 'c:2' }, { name: 'a', image: 'a:2' }] } } } });
  assert.deepEqual(names(result.spec.template.spec.containers), ['b', 'c', 'a']);
});

test('ports merge by containerPort (a number)', () => {
  const live = liveDeployment([container('web', 'nginx:1.27', { ports: [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 443, protocol: 'TCP' }] })]);
  const result = smp(live, { spec: { template: { spec: { containers: [{ name: 'web', ports: [{ containerPort: 443, name: 'https' }] }] } } } });
  assert.deepEqual(result.spec.template.spec.containers[0].ports, [
    { containerPort: 80, protocol: 'TCP' },
    { containerPort: 443, protocol: 'TCP', name: 'https' },
  ]);
});

test('lists without a patch strategy are replaced, maps are merged, null deletes a key', () => {
  const live = liveDeployment([container('web', 'nginx:1.27', { args: ['a', 'b'] })], {
    tolerations: [{ key: 'x', operator: 'Exists' }],
    nodeSelector: { disk: 'ssd', zone: 'a' },
  });
  const result = smp(live, {
    metadata: { labels: { tier: 'frontend', app: null } },
    spec: {
      template: {
        spec: {
          containers: [{ name: 'web', args: ['c'] }],
          tolerations: [{ key: 'y', operator: 'Exists' }],
          nodeSelector: { zone: 'b' },
        },
      },
    },
  });
  assert.deepEqual(result.metadata?.labels, { tier: 'frontend' });
  assert.deepEqual(result.spec.template.spec.containers[0].args, ['c']);
  assert.deepEqual(result.spec.template.spec.tolerations, [{ key: 'y', operator: 'Exists' }]);
  assert.deepEqual(result.spec.template.spec.nodeSelector, { disk: 'ssd', zone: 'b' });
});

test('$patch: replace replaces a whole list or map', () => {
  const live = liveDeployment([container('a', 'a:1'), container('b', 'b:1')]);
  const list = smp(live, { spec: { template: { spec: { containers: [{ name: 'c', image: 'c:1' }, { $patch: 'replace' }] } } } });
  assert.deepEqual(list.spec.template.spec.containers, [{ name: 'c', image: 'c:1' }]);

  const map = smp(live, { metadata: { labels: { $patch: 'replace', only: 'this' } } });
  assert.deepEqual(map.metadata?.labels, { only: 'this' });

  const deleted = smp(live, { spec: { strategy: { $patch: 'delete' } } });
  assert.deepEqual(deleted.spec.strategy, {});
});

test('primitive lists with the merge strategy: union, dedupe and $deleteFromPrimitiveList', () => {
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', finalizers: ['example.com/a', 'example.com/b'] },
    spec: { containers: [container('c', 'busybox')] },
  };
  const union = smp(pod, { metadata: { finalizers: ['example.com/b', 'example.com/c'] } }, podSchema);
  assert.deepEqual(union.metadata?.finalizers, ['example.com/a', 'example.com/b', 'example.com/c']);

  const removed = smp(pod, { metadata: { '$deleteFromPrimitiveList/finalizers': ['example.com/a'] } }, podSchema);
  assert.deepEqual(removed.metadata?.finalizers, ['example.com/b']);

  // What kubectl apply sends when a manifest swaps one finalizer for another.
  const swapped = smp(pod, {
    metadata: {
      '$setElementOrder/finalizers': ['example.com/b', 'example.com/c'],
      '$deleteFromPrimitiveList/finalizers': ['example.com/a'],
      finalizers: ['example.com/c'],
    },
  }, podSchema);
  assert.deepEqual(swapped.metadata?.finalizers, ['example.com/b', 'example.com/c']);
});

test('new fields are taken from the patch without nulls or directives', () => {
  const live = liveDeployment([container('web', 'nginx:1.27')]);
  const result = smp(live, {
    spec: {
      template: {
        spec: {
          volumes: [{ name: 'cache', emptyDir: { medium: null } }, { name: 'gone', $patch: 'delete' }],
          containers: [{ name: 'web', resources: { limits: { cpu: '1', memory: null } } }],
        },
      },
    },
  });
  assert.deepEqual(result.spec.template.spec.volumes, [{ name: 'cache', emptyDir: {} }]);
  assert.deepEqual(result.spec.template.spec.containers[0].resources, { limits: { cpu: '1' } });
});

test('a list element without its merge key is a bad request', () => {
  const live = liveDeployment([container('web', 'nginx:1.27')]);
  const err = smpError(live, JSON.stringify({ spec: { template: { spec: { containers: [{ image: 'nginx:1.28' }] } } } }));
  assert.equal(err.code, 400);
  assert.equal(err.reason, 'BadRequest');
  assert.equal(err.message, 'map: map[image:nginx:1.28] does not contain declared merge key: name');
});

test('a $setElementOrder that contradicts the patch list is refused', () => {
  const live = liveDeployment([container('a', 'a:1'), container('b', 'b:1')]);
  const err = smpError(live, JSON.stringify({
    spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'a' }, { name: 'b' }], containers: [{ name: 'b', image: 'b:2' }, { name: 'a', image: 'a:2' }] } } },
  }));
  assert.equal(err.code, 400);
  assert.match(err.message, /doesn't match \$setElementOrder list/);
});

test('unknown $patch values and list merge directives are refused like kube-apiserver', () => {
  const live = liveDeployment([container('web', 'nginx:1.27')]);
  const unknown = smpError(live, JSON.stringify({ metadata: { labels: { $patch: 'bogus' } } }));
  assert.equal(unknown.code, 400);
  assert.equal(unknown.message, 'unknown patch type: bogus in map: map[$patch:bogus]');
  const merge = smpError(live, JSON.stringify({ spec: { template: { spec: { containers: [{ $patch: 'merge' }] } } } }));
  assert.equal(merge.message, 'merging lists cannot yet be specified in the patch');
});

test('lists of lists are unprocessable', () => {
  const pod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', finalizers: [] } };
  const err = smpError(pod, JSON.stringify({ metadata: { finalizers: [['x']] } }), podSchema);
  assert.equal(err.code, 422);
  assert.equal(err.reason, 'Invalid');
  assert.equal(err.detail, 'lists of lists are not supported');

  const mixed = smpError({ ...pod, metadata: { name: 'p', finalizers: ['a'] } }, JSON.stringify({ metadata: { finalizers: [['x']] } }), podSchema);
  assert.equal(mixed.code, 400);
  assert.equal(mixed.message, 'list element types are not identical: [[a] [[x]]]');
});

test('strategic merge patch of a custom resource is an unsupported media type', () => {
  const cr: KubeObject = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { size: 1 } };
  // No schema: what the API server passes for a custom resource.
  const err = caught(() => applyPatch(SMP, cr, '{"spec":{"size":2}}', undefined));
  assert.equal(err.code, 415);
  assert.equal(err.reason, 'UnsupportedMediaType');
  assert.equal(err.message, 'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml');
});

test('malformed strategic merge patch bodies are bad requests', () => {
  const live = liveDeployment([container('web', 'nginx:1.27')]);
  const syntax = smpError(live, '{"spec": ');
  assert.equal(syntax.code, 400);
  assert.equal(syntax.message, 'unexpected end of JSON input');
  const array = smpError(live, '[{"op":"add"}]');
  assert.equal(array.code, 400);
  assert.equal(array.message, 'json: cannot unmarshal array into Go value of type map[string]interface {}');
});

test('fields the schema does not describe still merge as maps and replace as lists', () => {
  const live = liveDeployment([container('web', 'nginx:1.27')]);
  live.spec.extra = { keep: 1, list: [1, 2] };
  const result = smp(live, { spec: { extra: { list: [3], added: true } } });
  assert.deepEqual(result.spec.extra, { keep: 1, list: [3], added: true });
});
