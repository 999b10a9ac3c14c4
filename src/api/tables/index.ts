// Server-side printing: objects to a meta.k8s.io/v1 Table, with the columns
// kube-apiserver prints for each kind. kube-apiserver always renders the wide
// columns and lets kubectl hide those with priority > 0 unless `-o wide`.
// https://kubernetes.io/docs/reference/using-api/api-concepts/#receiving-resources-as-tables
import type { KubeObject, ResourceInfo } from '../types.ts';
import { certificateSigningRequestPrinter } from './certificates.ts';
import { endpointSlicePrinter, leasePrinter, priorityClassPrinter, runtimeClassPrinter } from './cluster.ts';
import {
  configMapPrinter, endpointsPrinter, namespacePrinter, nodePrinter, persistentVolumeClaimPrinter, persistentVolumePrinter,
  resourceQuotaPrinter, secretPrinter, serviceAccountPrinter, servicePrinter,
} from './core.ts';
import { customResourcePrinter, defaultPrinter } from './custom.ts';
import { eventPrinter } from './events.ts';
import { podPrinter } from './pod.ts';
import { podDisruptionBudgetPrinter } from './policy.ts';
import { storageClassPrinter } from './storage.ts';
import type { PrinterColumn, Printer, Table, TableRow } from './types.ts';
import {
  controllerRevisionPrinter, cronJobPrinter, daemonSetPrinter, deploymentPrinter, jobPrinter, replicaSetPrinter, statefulSetPrinter,
} from './workloads.ts';

export type { PrinterColumn, Table, TableColumnDefinition, TableRow, TableRowCondition } from './types.ts';
export { humanDuration } from './duration.ts';

/** Printers by `<group>/<Kind>`. */
const PRINTERS: Record<string, Printer> = {
  '/Pod': podPrinter,
  '/Service': servicePrinter,
  '/Endpoints': endpointsPrinter,
  '/Node': nodePrinter,
  '/Namespace': namespacePrinter,
  '/ConfigMap': configMapPrinter,
  '/Secret': secretPrinter,
  '/ServiceAccount': serviceAccountPrinter,
  '/Event': eventPrinter,
  '/PersistentVolume': persistentVolumePrinter,
  '/PersistentVolumeClaim': persistentVolumeClaimPrinter,
  '/ResourceQuota': resourceQuotaPrinter,
  'apps/Deployment': deploymentPrinter,
  'apps/ReplicaSet': replicaSetPrinter,
  'apps/StatefulSet': statefulSetPrinter,
  'apps/DaemonSet': daemonSetPrinter,
  'apps/ControllerRevision': controllerRevisionPrinter,
  'batch/Job': jobPrinter,
  'batch/CronJob': cronJobPrinter,
  'certificates.k8s.io/CertificateSigningRequest': certificateSigningRequestPrinter,
  'coordination.k8s.io/Lease': leasePrinter,
  'discovery.k8s.io/EndpointSlice': endpointSlicePrinter,
  'policy/PodDisruptionBudget': podDisruptionBudgetPrinter,
  'events.k8s.io/Event': eventPrinter,
  'scheduling.k8s.io/PriorityClass': priorityClassPrinter,
  'node.k8s.io/RuntimeClass': runtimeClassPrinter,
  'storage.k8s.io/StorageClass': storageClassPrinter,
};

export interface ToTableOptions {
  /** What each row's `object` holds: PartialObjectMetadata (kubectl's default), the whole object, or nothing. */
  includeObject?: 'None' | 'Metadata' | 'Object';
  /** The clock ages are measured against (default: now). */
  now?: Date;
  /** Include the priority > 0 (`-o wide`) columns; kube-apiserver always does (default true). */
  wide?: boolean;
  /** Leave out columnDefinitions (`?includeObject=...&noHeaders` style TableOptions). */
  noHeaders?: boolean;
  /** For a custom resource: its version's additionalPrinterColumns. */
  printerColumns?: PrinterColumn[];
}

/** The printer kube-apiserver uses for this resource. */
export function printerFor(resource: ResourceInfo, printerColumns?: PrinterColumn[]): Printer {
  if (resource.custom) return customResourcePrinter(printerColumns);
  return PRINTERS[`${resource.group}/${resource.kind}`] ?? defaultPrinter;
}

function rowObject(obj: KubeObject, includeObject: ToTableOptions['includeObject']): unknown {
  switch (includeObject ?? 'Metadata') {
    case 'Object': return obj;
    case 'None': return undefined;
    default: return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata ?? {} };
  }
}

/**
 * Renders objects as a meta.k8s.io/v1 Table with the columns kube-apiserver prints for the
 * resource. metadata is left empty: for lists the caller sets resourceVersion and continue.
 */
export function toTable(resource: ResourceInfo, objects: KubeObject[], opts: ToTableOptions = {}): Table {
  const printer = printerFor(resource, opts.printerColumns);
  const ctx = { now: opts.now ?? new Date() };
  const wide = opts.wide ?? true;
  const keep = printer.columns.map((c) => wide || c.priority === 0);
  const rows = objects.map((obj): TableRow => {
    const printed = printer.row(obj, ctx);
    const row: TableRow = { cells: printed.cells.filter((_, i) => keep[i]) };
    if (printed.conditions) row.conditions = printed.conditions;
    const object = rowObject(obj, opts.includeObject);
    if (object !== undefined) row.object = object;
    return row;
  });
  const columnDefinitions = opts.noHeaders ? undefined : printer.columns.filter((_, i) => keep[i]);
  // Keys in the order kube-apiserver serializes them.
  return { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: {}, ...(columnDefinitions && { columnDefinitions }), rows };
}
