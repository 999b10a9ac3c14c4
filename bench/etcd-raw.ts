// Raw etcd write rates, for `npm run bench:api -- --store etcd`: what the etcd cluster itself
// gives on this machine through the same etcd3 client the API server uses, with the same
// payloads and concurrency as the API benchmark. Three shapes:
// - put: a plain Put, the library's way (each call to a member picked at random; etcd's own
//   `benchmark put` spreads its clients over the endpoints too);
// - put to one member: the raft leader, found and pinned as the API server's store does
//   (src/store/etcd/pinned-member.ts);
// - create txn to that member: the compare-and-create transaction EtcdStore.create sends for each
//   object (the namespace check is answered from the server's cache, so that is all a create costs etcd).
import { Etcd3 } from 'etcd3';
import { PinnedMember } from '../src/store/etcd/pinned-member.ts';

export interface RawEtcdRates {
  puts: number;
  pinnedPuts: number;
  createTxns: number;
}

async function rate(n: number, clients: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t = performance.now();
  await Promise.all(Array.from({ length: clients }, async () => {
    for (let i = next++; i < n; i = next++) await op(i);
  }));
  return n / ((performance.now() - t) / 1000);
}

let calls = 0;

export async function rawEtcdRates(endpoints: string[], n: number, clients: number, payload: (i: number) => string): Promise<RawEtcdRates> {
  const client = new Etcd3({ hosts: endpoints });
  const member = new PinnedMember({ hosts: endpoints }, endpoints, client);
  const root = `/bench-raw-${process.pid}-${calls++}`;
  try {
    if (endpoints.length > 1 && !await member.pinLeader()) throw new Error('no etcd member says it is the leader');
    const pinned = member.kv(member.index);
    const create = (key: Buffer, value: string) => pinned.txn({
      compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }],
      success: [{ request_put: { key, value: Buffer.from(value) } }],
      failure: [{ request_range: { key } }],
    });
    const puts = await rate(n, clients, (i) => client.put(`${root}/put/cm-${i}`).value(payload(i)).exec());
    const pinnedPuts = await rate(n, clients, (i) => pinned.put({ key: Buffer.from(`${root}/pinned-put/cm-${i}`), value: Buffer.from(payload(i)) }));
    const createTxns = await rate(n, clients, (i) => create(Buffer.from(`${root}/txn/cm-${i}`), payload(i)));
    // The keys stay (the cluster goes with the benchmark): deleting 15,000 keys at once leaves
    // compare-transactions, which every API create is, at half speed or less for the rest of the
    // run (etcd 3.4 here), and the API run comes right after.
    return { puts, pinnedPuts, createTxns };
  } finally {
    member.close();
    client.close();
  }
}
