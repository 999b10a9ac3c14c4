// The ServiceAccount admission plugin reads the server's mirror of accounts first (as
// kube-apiserver reads its lister) and the store only on a miss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod, ServiceAccount } from 'kubernetes-types/core/v1.d.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { PrefixMirror } from '../../src/apiserver/registry/prefix-mirror.ts';
import { decodeKv } from '../../src/apiserver/registry/codec.ts';
import { admitPodServiceAccount, SERVICE_ACCOUNTS_PREFIX } from '../../src/apiserver/admission/service-account.ts';
import type { Store } from '../../src/store/store.ts';

const account = (ns: string, name: string, secret: string) => JSON.stringify({ apiVersion: 'v1', kind: 'ServiceAccount',
  metadata: { name, namespace: ns, uid: `${ns}-${name}` }, imagePullSecrets: [{ name: secret }] });
const pod = (ns: string, sa?: string): Pod => ({ metadata: { name: 'p', namespace: ns }, spec: { serviceAccountName: sa, containers: [{ name: 'c', image: 'i' }] } });

test('accounts come from the mirror; a miss (a brand-new account) is read from the store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-samirror-'));
  const store = openSqliteStore(join(dir, 'state.db'));
  const mirror = new PrefixMirror<ServiceAccount>(store, SERVICE_ACCOUNTS_PREFIX, (kv) => decodeKv(kv) as ServiceAccount);
  let reads = 0;
  const counting: Store = Object.assign(Object.create(store) as Store, {
    get: (key: string, revision?: number) => { reads++; return store.get(key, revision); },
  });
  const lookup = { attempts: 1, intervalMs: () => 0 };
  try {
    await store.create(`${SERVICE_ACCOUNTS_PREFIX}team/default`, account('team', 'default', 'from-store'));
    await mirror.start();
    const a = pod('team');
    await admitPodServiceAccount(counting, a, lookup, mirror);
    assert.deepEqual(a.spec?.imagePullSecrets, [{ name: 'from-store' }]);
    assert.equal(reads, 0, 'a mirrored account costs no store read');

    // Written a moment ago, maybe not mirrored yet: the store answers.
    await store.create(`${SERVICE_ACCOUNTS_PREFIX}team/builder`, account('team', 'builder', 'builder-secret'));
    const b = pod('team', 'builder');
    await admitPodServiceAccount(counting, b, lookup, mirror);
    assert.deepEqual(b.spec?.imagePullSecrets, [{ name: 'builder-secret' }]);

    await assert.rejects(admitPodServiceAccount(counting, pod('team', 'missing'), lookup, mirror), /serviceaccount "missing" not found/);
    assert.ok(reads >= 1, 'a miss is read from the store');
  } finally {
    mirror.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
