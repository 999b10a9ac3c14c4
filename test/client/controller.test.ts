// A toy controller built from the parts (factory, Controller, sync, events),
// run against the real server: it stamps each ConfigMap with the value it saw,
// retries a failing key, follows a secondary informer, and stops cleanly.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMap, Event, Secret } from 'kubernetes-types/core/v1.d.ts';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { RestClient } from '../../src/client/rest.ts';
import { R } from '../../src/client/resources.ts';
import { SharedInformerFactory } from '../../src/client/informer-factory.ts';
import { Controller } from '../../src/client/controller.ts';
import { splitKey } from '../../src/client/cache.ts';
import { EventRecorder } from '../../src/client/events.ts';
import { until, within } from './helpers.ts';

describe('Controller', () => {
  let s: TestServer;
  let c: RestClient;
  before(async () => {
    s = await startServer({ extraArgs: ['--disable-controllers'] }); // these tests run their own components
    c = RestClient.fromKubeconfig(s.kubeconfig);
    await c.create(R.namespaces, { metadata: { name: 'ctl' } });
  });
  after(async () => {
    await c?.close();
    await s?.cleanup();
  });

  it('reconciles every key, retries failures, follows secondary resources and records events', async () => {
    const ns = 'ctl';
    await c.create(R.configmaps, { metadata: { name: 'before', namespace: ns }, data: { v: 'b' } });
    const factory = new SharedInformerFactory(c, { namespace: ns });
    const configmaps = factory.informerFor<ConfigMap>(R.configmaps);
    const secrets = factory.informerFor<Secret>(R.secrets);
    const recorder = new EventRecorder(c, { component: 'stamp-controller' });
    const attempts = new Map<string, number>();
    let concurrent = 0;
    let maxConcurrent = 0;

    // The one sync of this controller: level-triggered, reads only caches, idempotent.
    const sync = async (key: string) => {
      attempts.set(key, (attempts.get(key) ?? 0) + 1);
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      try {
        const cm = configmaps.get(key);
        if (!cm) return; // deleted: nothing to do
        if (cm.metadata?.name === 'flaky' && attempts.get(key)! < 3) throw new Error('flaky fails twice');
        const { name } = splitKey(key);
        const secret = secrets.getByName(name, ns);
        const want = `${cm.data?.v ?? ''}/${secret ? 'secret' : 'nosecret'}`;
        if (cm.metadata?.annotations?.stamp === want) return;
        await c.patch(R.configmaps, name, { metadata: { annotations: { stamp: want } } }, { namespace: ns });
        recorder.event(cm, 'Normal', 'Stamped', `stamped ${want}`);
      } finally {
        concurrent--;
      }
    };
    const controller = new Controller('stamp', [configmaps], sync, 3, { log: () => {} });
    // A Secret named like a ConfigMap wakes that ConfigMap.
    controller.watch(secrets, (o) => [`${o.metadata!.namespace}/${o.metadata!.name}`]);
    factory.start();
    const running = controller.run();

    const stamp = (name: string) => configmaps.getByName(name, ns)?.metadata?.annotations?.stamp;
    await until('existing object reconciled', () => stamp('before') === 'b/nosecret');
    await c.create(R.configmaps, { metadata: { name: 'after', namespace: ns }, data: { v: 'a' } });
    await c.create(R.configmaps, { metadata: { name: 'flaky', namespace: ns }, data: { v: 'f' } });
    await until('new objects reconciled', () => stamp('after') === 'a/nosecret');
    await until('flaky reconciled after retries', () => stamp('flaky') === 'f/nosecret');
    assert.equal(attempts.get(`${ns}/flaky`)! >= 3, true);
    assert.equal(controller.queue.numRequeues(`${ns}/flaky`), 0, 'backoff forgotten after success');

    await c.create(R.secrets, { metadata: { name: 'after', namespace: ns }, stringData: { x: 'y' } });
    await until('secondary change reconciled', () => stamp('after') === 'a/secret');
    await c.patch(R.configmaps, 'after', { data: { v: 'a2' } }, { namespace: ns });
    await until('update reconciled', () => stamp('after') === 'a2/secret');
    assert.ok(maxConcurrent <= 3);

    await recorder.flush();
    const events = await c.list<Event>(R.events, { namespace: ns, fieldSelector: 'involvedObject.name=after' });
    assert.deepEqual(events.items.map((e) => e.message).sort(), ['stamped a/nosecret', 'stamped a/secret', 'stamped a2/secret']);

    await controller.stop();
    await within('run() resolves after stop()', running, 5000);
    await factory.stop();
  });
});
