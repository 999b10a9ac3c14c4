// The controller machinery in one import: REST client, informers, work queue,
// controller loop, events and leader election (see each file's header).
export * from './errors.ts';
export * from './kubeconfig.ts';
export * from './resources.ts';
export * from './rest.ts';
export * from './cache.ts';
export * from './informer.ts';
export * from './informer-factory.ts';
export * from './rate-limiter.ts';
export * from './workqueue.ts';
export * from './controller.ts';
export * from './discovery.ts';
export * from './written-objects.ts';
export * from './events.ts';
export * from './leader.ts';
