// Shared by the client tests: polling with a deadline and cache-vs-server comparison.
import type { SharedInformer } from '../../src/client/informer.ts';
import type { RestClient } from '../../src/client/rest.ts';
import type { ResourceRef } from '../../src/client/resources.ts';

export { freePort, until, within } from '../helpers/wait.ts';


/** name -> resourceVersion, from the server and from the informer's cache. */
export async function cacheMatchesServer(c: RestClient, r: ResourceRef, informer: SharedInformer, namespace: string): Promise<boolean> {
  const server = await c.listAll(r, { namespace });
  const cached = informer.list(namespace);
  if (server.items.length !== cached.length) return false;
  const rv = new Map(cached.map((o) => [o.metadata!.name!, o.metadata!.resourceVersion]));
  return server.items.every((o) => rv.get(o.metadata!.name!) === o.metadata!.resourceVersion);
}




