// A real `skiff server` (without its in-process controllers) plus the
// controllers under test, run in this process against it:
//
//   const h = await startHarness([definition]);   // or startHarness([]) then h.start(def)
//   after(() => h.stop());
//   await h.k(['create', 'namespace', 'x']);
//   await waitFor('x has a default SA', () => h.client.get(R.serviceaccounts, 'default', { namespace: 'x' }).catch(() => undefined));
import { RestClient } from '../../src/client/rest.ts';
import type { ResourceRef } from '../../src/client/resources.ts';
import type { ControllerContext, ControllerDefinition, ControllerOptions, RunningController } from '../../src/controllers/context.ts';
import { createControllerContext } from '../../src/controllers/manager.ts';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';

export interface Harness {
  server: TestServer;
  /** kubectl that must succeed (returns stdout). */
  k: TestServer['k'];
  kubectl: TestServer['kubectl'];
  client: RestClient;
  ctx: ControllerContext;
  /** Lines the controllers logged (ctx.log). */
  logs: string[];
  /** Starts more controllers (the informer factory is already running). */
  start(...definitions: ControllerDefinition[]): RunningController[];
  /** Stops the controllers, informers, client and server (and removes the data directory). */
  stop(): Promise<void>;
}

export interface HarnessOptions {
  options?: Partial<ControllerOptions>;
  /** More `skiff server` flags. */
  serverArgs?: string[];
  /** Echo controller logs to stderr (default: only with SKIFF_TEST_LOG=1). */
  verbose?: boolean;
}

export async function startHarness(definitions: ControllerDefinition[] = [], opts: HarnessOptions = {}): Promise<Harness> {
  const server = await startServer({ extraArgs: ['--disable-controllers', ...(opts.serverArgs ?? [])] });
  const client = RestClient.fromKubeconfig(server.kubeconfig, { userAgent: 'skiff-controller-test' });
  const logs: string[] = [];
  const verbose = opts.verbose ?? process.env.SKIFF_TEST_LOG === '1';
  const log = (m: string) => {
    logs.push(m);
    if (verbose) console.error(`[controllers] ${m}`);
  };
  const { ctx, close } = createControllerContext(client, { resyncPeriodMs: 0, ...opts.options }, log);
  const running: { c: RunningController; done: Promise<void> }[] = [];
  const start = (...defs: ControllerDefinition[]) => defs.map((def) => {
    const c = def.start(ctx);
    running.push({ c, done: c.run().catch((e) => log(`controller ${def.name} failed: ${(e as Error).stack ?? e}`)) });
    return c;
  });
  start(...definitions);
  ctx.informers.start();
  return {
    server, client, ctx, logs, start,
    k: server.k.bind(server),
    kubectl: server.kubectl.bind(server),
    async stop() {
      await Promise.all(running.map((r) => r.c.stop()));
      await Promise.all(running.map((r) => r.done));
      await close();
      await client.close();
      await server.cleanup();
    },
  };
}

export { waitFor } from '../helpers/wait.ts';

/** Creates a namespaced CRD `<plural>.example.com` that takes any content, waits until it is served, and returns its resource. */
export async function createOpenCrd(h: Harness, plural: string, kind: string): Promise<ResourceRef> {
  await h.k(['apply', '-f', '-'], { input: `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: ${plural}.example.com }
spec:
  group: example.com
  scope: Namespaced
  names: { plural: ${plural}, singular: ${kind.toLowerCase()}, kind: ${kind} }
  versions:
  - name: v1
    served: true
    storage: true
    schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } }
` });
  await h.k(['wait', '--for=condition=Established', `crd/${plural}.example.com`, '--timeout=15s']);
  return { group: 'example.com', version: 'v1', plural, namespaced: true, kind };
}
