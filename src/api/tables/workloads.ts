// Printers for the workload controllers: Deployment, ReplicaSet, StatefulSet,
// DaemonSet, Job, CronJob and ControllerRevision (kubernetes/pkg/printers/internalversion).
import type { KubeObject } from '../types.ts';
import { formatLabelSelector, formatLabels, labelSelectorFromMeta, labelSelectorString } from '../selectors/labels.ts';
import { SelectorError } from '../selectors/errors.ts';
import { humanDuration, parseTime, since } from './duration.ts';
import { boolPtr, containerCells, hasCondition, int } from './format.ts';
import { AGE_COLUMN, CONTAINERS_COLUMN, IMAGES_COLUMN, NAME_COLUMN, type Printer, column } from './types.ts';

const selectorColumn = (description: string) => column('Selector', 'string', description, 1);
const age = (o: KubeObject, now: Date) => since(o.metadata?.creationTimestamp, now);
/** spec.replicas, which the API defaults to 1. */
const replicas = (o: KubeObject) => (typeof o.spec?.replicas === 'number' ? o.spec.replicas : 1);

export const deploymentPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Ready', 'string', 'Number of the pod with ready state'),
    column('Up-to-date', 'string', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'),
    column('Available', 'string', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'),
    AGE_COLUMN, CONTAINERS_COLUMN, IMAGES_COLUMN,
    selectorColumn('Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.'),
  ],
  row(o, { now }) {
    let selector: string;
    try {
      // Unlike the other workloads, an empty selector prints as "" rather than <none>.
      selector = labelSelectorString(labelSelectorFromMeta(o.spec?.selector));
    } catch (e) {
      if (!(e instanceof SelectorError)) throw e;
      selector = '<invalid>';
    }
    const [names, images] = containerCells(o.spec?.template?.spec?.containers);
    return {
      cells: [o.metadata?.name, `${int(o.status?.readyReplicas)}/${replicas(o)}`, int(o.status?.updatedReplicas),
        int(o.status?.availableReplicas), age(o, now), names, images, selector],
    };
  },
};

export const replicaSetPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Desired', 'integer', 'Replicas is the number of desired replicas.'),
    column('Current', 'integer', 'Replicas is the most recently observed number of replicas.'),
    column('Ready', 'integer', 'The number of ready replicas for this replica set.'),
    AGE_COLUMN, CONTAINERS_COLUMN, IMAGES_COLUMN,
    selectorColumn('Selector is a label query over pods that should match the replica count.'),
  ],
  row(o, { now }) {
    const [names, images] = containerCells(o.spec?.template?.spec?.containers);
    return {
      cells: [o.metadata?.name, replicas(o), int(o.status?.replicas), int(o.status?.readyReplicas), age(o, now),
        names, images, formatLabelSelector(o.spec?.selector)],
    };
  },
};

export const statefulSetPrinter: Printer = {
  columns: [NAME_COLUMN, column('Ready', 'string', 'Number of the pod with ready state'), AGE_COLUMN, CONTAINERS_COLUMN, IMAGES_COLUMN],
  row(o, { now }) {
    const [names, images] = containerCells(o.spec?.template?.spec?.containers);
    return { cells: [o.metadata?.name, `${int(o.status?.readyReplicas)}/${replicas(o)}`, age(o, now), names, images] };
  },
};

export const daemonSetPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Desired', 'integer', 'The total number of nodes that should be running the daemon pod.'),
    column('Current', 'integer', 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.'),
    column('Ready', 'integer', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.'),
    column('Up-to-date', 'integer', 'The total number of nodes that are running updated daemon pod'),
    column('Available', 'integer', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.'),
    column('Node Selector', 'string', 'NodeSelector is a selector which must be true for the pod to fit on a node.'),
    AGE_COLUMN, CONTAINERS_COLUMN, IMAGES_COLUMN,
    selectorColumn('A label query over pods that are managed by the daemon set.'),
  ],
  row(o, { now }) {
    const s = o.status ?? {};
    const [names, images] = containerCells(o.spec?.template?.spec?.containers);
    return {
      cells: [o.metadata?.name, int(s.desiredNumberScheduled), int(s.currentNumberScheduled), int(s.numberReady),
        int(s.updatedNumberScheduled), int(s.numberAvailable), formatLabels(o.spec?.template?.spec?.nodeSelector),
        age(o, now), names, images, formatLabelSelector(o.spec?.selector)],
    };
  },
};

function jobStatus(o: KubeObject): string {
  const conditions = o.status?.conditions;
  if (hasCondition(conditions, 'Complete')) return 'Complete';
  if (hasCondition(conditions, 'Failed')) return 'Failed';
  if (o.metadata?.deletionTimestamp) return 'Terminating';
  if (hasCondition(conditions, 'Suspended')) return 'Suspended';
  if (hasCondition(conditions, 'FailureTarget')) return 'FailureTarget';
  return 'Running';
}

export const jobPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Status', 'string', 'Status of the job.'),
    column('Completions', 'string', 'The number of pods which reached phase Succeeded.'),
    column('Duration', 'string', 'Time required to complete the job.'),
    AGE_COLUMN, CONTAINERS_COLUMN, IMAGES_COLUMN,
    selectorColumn('A label query over pods that should match the pod count.'),
  ],
  row(o, { now }) {
    const succeeded = int(o.status?.succeeded);
    let completions: string;
    if (typeof o.spec?.completions === 'number') {
      completions = `${succeeded}/${o.spec.completions}`;
    } else {
      const parallelism = int(o.spec?.parallelism);
      completions = parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
    }
    const start = parseTime(o.status?.startTime);
    const end = parseTime(o.status?.completionTime);
    const duration = !start ? '' : humanDuration((end ?? now).getTime() - start.getTime());
    const [names, images] = containerCells(o.spec?.template?.spec?.containers);
    return {
      cells: [o.metadata?.name, jobStatus(o), completions, duration, age(o, now), names, images, formatLabelSelector(o.spec?.selector)],
    };
  },
};

export const cronJobPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Schedule', 'string', 'The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.'),
    column('Timezone', 'string', 'The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones.'),
    column('Suspend', 'boolean', 'This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.'),
    column('Active', 'integer', 'A list of pointers to currently running jobs.'),
    column('Last Schedule', 'string', 'Information when was the last time the job was successfully scheduled.'),
    AGE_COLUMN, CONTAINERS_COLUMN, IMAGES_COLUMN,
    selectorColumn('A label query over pods that should match the pod count.'),
  ],
  row(o, { now }) {
    const last = o.status?.lastScheduleTime ? since(o.status.lastScheduleTime, now) : '<none>';
    const jobSpec = o.spec?.jobTemplate?.spec;
    const [names, images] = containerCells(jobSpec?.template?.spec?.containers);
    return {
      cells: [o.metadata?.name, o.spec?.schedule ?? '', o.spec?.timeZone ?? '<none>', boolPtr(o.spec?.suspend),
        (o.status?.active ?? []).length, last, age(o, now), names, images, formatLabelSelector(jobSpec?.selector)],
    };
  },
};

/** `kind.group/name` of the controlling owner, lower-cased ("statefulset.apps/web"). */
function controllerName(o: KubeObject): string {
  const ref = (o.metadata?.ownerReferences ?? []).find((r) => r.controller === true);
  if (!ref) return '<none>';
  const slash = ref.apiVersion.indexOf('/');
  const group = slash >= 0 ? ref.apiVersion.slice(0, slash) : '';
  if (!ref.kind) return ref.name;
  return `${(group ? `${ref.kind}.${group}` : ref.kind).toLowerCase()}/${ref.name}`;
}

export const controllerRevisionPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Controller', 'string', 'Controller of the object'),
    column('Revision', 'string', 'Revision indicates the revision of the state represented by Data.'),
    AGE_COLUMN,
  ],
  row(o, { now }) {
    return { cells: [o.metadata?.name, controllerName(o), int(o.revision), age(o, now)] };
  },
};
