// The scheduler as one of the controller manager's controllers, so `skiff server` can run it
// in-process on the shared informers (kube runs it as its own binary: `skiff scheduler`).
import { Scheduler } from '../scheduler/scheduler.ts';
import type { ControllerDefinition } from './context.ts';

export const definition: ControllerDefinition = {
  name: 'scheduler',
  start(ctx) {
    const scheduler = new Scheduler({
      client: ctx.client,
      informers: ctx.informers,
      recorder: ctx.recorder('default-scheduler'),
      log: (m) => ctx.log(`scheduler: ${m}`),
    });
    void scheduler.run().catch((e) => ctx.log(`scheduler: stopped on an error: ${(e as Error).stack ?? e}`));
    return scheduler;
  },
};
