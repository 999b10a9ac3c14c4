// The event recorder writes core/v1 Events that kubectl shows, and folds repeats
// of the same event into one Event with a growing count.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMap, Event } from 'kubernetes-types/core/v1.d.ts';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { RestClient } from '../../src/client/rest.ts';
import { R } from '../../src/client/resources.ts';
import { EventRecorder } from '../../src/client/events.ts';

describe('EventRecorder', () => {
  let s: TestServer;
  let c: RestClient;
  let cm: ConfigMap;
  const ns = 'ev';
  before(async () => {
    s = await startServer({ extraArgs: ['--disable-controllers'] }); // these tests run their own components
    c = RestClient.fromKubeconfig(s.kubeconfig);
    await c.create(R.namespaces, { metadata: { name: ns } });
    cm = await c.create<ConfigMap>(R.configmaps, { metadata: { name: 'target', namespace: ns } });
  });
  after(async () => {
    await c?.close();
    await s?.cleanup();
  });
  const eventsAbout = async (name: string) =>
    (await c.list<Event>(R.events, { namespace: ns, fieldSelector: `involvedObject.name=${name}` })).items;

  it('writes an Event with reason, message, type, source and involvedObject', async () => {
    const rec = new EventRecorder(c, { component: 'test-controller', host: 'node-1' });
    rec.event(cm, 'Warning', 'FailedThing', 'the thing failed: disk full');
    await rec.flush();
    const [ev, ...rest] = await eventsAbout('target');
    assert.equal(rest.length, 0);
    assert.equal(ev.reason, 'FailedThing');
    assert.equal(ev.message, 'the thing failed: disk full');
    assert.equal(ev.type, 'Warning');
    assert.equal(ev.count, 1);
    assert.deepEqual(ev.source, { component: 'test-controller', host: 'node-1' });
    assert.equal(ev.involvedObject.kind, 'ConfigMap');
    assert.equal(ev.involvedObject.uid, cm.metadata?.uid);
    assert.match(ev.metadata?.name ?? '', /^target\.[0-9a-f]+$/);
    assert.ok(ev.firstTimestamp && ev.lastTimestamp);

    const out = await s.k(['get', 'events', '-n', ns]);
    assert.match(out, /Warning\s+FailedThing\s+configmap\/target\s+the thing failed: disk full/);
  });

  it('counts a repeated event on one Event instead of writing another', async () => {
    const other = await c.create<ConfigMap>(R.configmaps, { metadata: { name: 'repeat', namespace: ns } });
    const rec = new EventRecorder(c, { component: 'test-controller' });
    rec.event(other, 'Normal', 'Synced', 'synced ok');
    await rec.flush();
    const [first] = await eventsAbout('repeat');
    assert.equal(first.count, 1);
    await new Promise((r) => setTimeout(r, 1100)); // timestamps have second precision
    rec.event(other, 'Normal', 'Synced', 'synced ok');
    await rec.flush();
    let events = await eventsAbout('repeat');
    assert.equal(events.length, 1);
    assert.equal(events[0].count, 2);
    assert.equal(events[0].metadata?.name, first.metadata?.name);
    assert.equal(events[0].firstTimestamp, first.firstTimestamp);
    assert.ok(events[0].lastTimestamp! > first.lastTimestamp!, 'lastTimestamp moved');

    // Repeats recorded in a burst, and a different message, which is a different event.
    for (let i = 0; i < 5; i++) rec.event(other, 'Normal', 'Synced', 'synced ok');
    rec.event(other, 'Normal', 'Synced', 'synced with changes');
    await rec.flush();
    events = await eventsAbout('repeat');
    assert.deepEqual(events.map((e) => `${e.message}:${e.count}`).sort(), ['synced ok:7', 'synced with changes:1']);
    const described = await s.k(['describe', 'configmap', 'repeat', '-n', ns]);
    assert.match(described, /Normal\s+Synced\s+.*\(x7 over .*\)\s+test-controller\s+synced ok/);
  });

  it('does not block or throw when the server is unreachable; it reports the failure', async () => {
    const dead = new RestClient({ server: 'https://127.0.0.1:1', token: 'x', ca: s.ca }, { timeoutMs: 2000 });
    const logged: string[] = [];
    const rec = new EventRecorder(dead, { component: 'c', log: (m) => logged.push(m) });
    const t = Date.now();
    rec.event(cm, 'Normal', 'R', 'm');
    assert.ok(Date.now() - t < 50, 'event() returns at once');
    await rec.flush();
    assert.equal(logged.length, 1);
    assert.match(logged[0], /could not write event R for ConfigMap ev\/target/);
    await dead.close();
  });
});
