// Every controller the controller manager can run, in start order. Adding one is
// an import and an entry in CONTROLLERS.
import type { ControllerDefinition } from './context.ts';
import { definition as cronjob } from './cronjob.ts';
import { definition as csrApproving } from './csr-approving.ts';
import { definition as csrSigning } from './csr-signing.ts';
import { definition as daemonset } from './daemonset.ts';
import { definition as deployment } from './deployment.ts';
import { definition as disruption } from './disruption.ts';
import { definition as endpoint } from './endpoints.ts';
import { definition as endpointslice } from './endpointslice.ts';
import { definition as garbageCollector } from './garbage-collector.ts';
import { definition as job } from './job.ts';
import { definition as localPathProvisioner } from './local-path-provisioner.ts';
import { definition as namespace } from './namespace.ts';
import { definition as nodeIpam } from './node-ipam.ts';
import { definition as nodeLifecycle } from './node-lifecycle.ts';
import { definition as persistentVolumeBinder } from './persistentvolume-binder.ts';
import { definition as replicaset } from './replicaset.ts';
import { definition as scheduler } from './scheduler.ts';
import { definition as serviceaccount, rootCaCertPublisher } from './serviceaccount.ts';
import { definition as statefulset } from './statefulset.ts';
import { definition as ttlAfterFinished } from './ttl-after-finished.ts';

export const CONTROLLERS: readonly ControllerDefinition[] = [
  namespace,
  garbageCollector,
  serviceaccount,
  rootCaCertPublisher,
  nodeIpam,
  nodeLifecycle,
  replicaset,
  deployment,
  statefulset,
  daemonset,
  job,
  ttlAfterFinished,
  cronjob,
  disruption,
  endpoint,
  endpointslice,
  persistentVolumeBinder,
  localPathProvisioner,
  scheduler,
  csrApproving,
  csrSigning,
];
