// `kubectl get pods`: NAME READY STATUS RESTARTS AGE | IP NODE NOMINATED NODE READINESS GATES,
// with the STATUS and RESTARTS logic of kubernetes/pkg/printers/internalversion printPod.
import type { ContainerStatus, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { KubeObject } from '../types.ts';
import { humanDuration, parseTime, since } from './duration.ts';
import { AGE_COLUMN, NAME_COLUMN, type PrintedRow, type Printer, type RowContext, column } from './types.ts';

const isRestartableInit = (c: { restartPolicy?: string } | undefined) => c?.restartPolicy === 'Always';

function lastTermination(s: ContainerStatus): Date | undefined {
  return parseTime(s.lastState?.terminated?.finishedAt);
}

function later(a: Date | undefined, b: Date | undefined): Date | undefined {
  if (!b) return a;
  return !a || a.getTime() < b.getTime() ? b : a;
}

function podRow(obj: KubeObject, ctx: RowContext): PrintedRow {
  const pod = obj as Pod;
  const spec = pod.spec ?? { containers: [] };
  const status = pod.status ?? {};
  const conditions = status.conditions ?? [];
  let restarts = 0;
  let restartableInitRestarts = 0;
  let totalContainers = (spec.containers ?? []).length;
  let readyContainers = 0;
  let lastRestart: Date | undefined;
  let lastRestartableInitRestart: Date | undefined;

  let reason: string = status.reason || status.phase || '';
  if (conditions.some((c) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated')) reason = 'SchedulingGated';

  const initContainers = new Map((spec.initContainers ?? []).map((c) => [c.name, c]));
  for (const c of spec.initContainers ?? []) if (isRestartableInit(c)) totalContainers++;

  // Init containers run in order; the first one that has not finished decides the status.
  let initializing = false;
  const initStatuses = status.initContainerStatuses ?? [];
  for (let i = 0; i < initStatuses.length; i++) {
    const c = initStatuses[i];
    const sidecar = isRestartableInit(initContainers.get(c.name));
    restarts += c.restartCount ?? 0;
    lastRestart = later(lastRestart, lastTermination(c));
    if (sidecar) {
      restartableInitRestarts += c.restartCount ?? 0;
      lastRestartableInitRestart = later(lastRestartableInitRestart, lastTermination(c));
    }
    const terminated = c.state?.terminated;
    const waiting = c.state?.waiting;
    if (terminated && (terminated.exitCode ?? 0) === 0) continue;
    if (sidecar && c.started === true) {
      if (c.ready) readyContainers++;
      continue;
    }
    if (terminated) {
      if (!terminated.reason) {
        reason = terminated.signal ? `Init:Signal:${terminated.signal}` : `Init:ExitCode:${terminated.exitCode ?? 0}`;
      } else {
        reason = `Init:${terminated.reason}`;
      }
    } else if (waiting?.reason && waiting.reason !== 'PodInitializing') {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${(spec.initContainers ?? []).length}`;
    }
    initializing = true;
    break;
  }

  const initialized = conditions.find((c) => c.type === 'Initialized')?.status === 'True';
  if (!initializing || initialized) {
    restarts = restartableInitRestarts;
    lastRestart = lastRestartableInitRestart;
    let hasRunning = false;
    const statuses = status.containerStatuses ?? [];
    // Walked from the last container: the first container's state has the final say.
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i];
      restarts += c.restartCount ?? 0;
      lastRestart = later(lastRestart, lastTermination(c));
      const { waiting, terminated, running } = c.state ?? {};
      if (waiting?.reason) reason = waiting.reason;
      else if (terminated?.reason) reason = terminated.reason;
      else if (terminated) reason = terminated.signal ? `Signal:${terminated.signal}` : `ExitCode:${terminated.exitCode ?? 0}`;
      else if (c.ready && running) {
        hasRunning = true;
        readyContainers++;
      }
    }
    if (reason === 'Completed' && hasRunning) {
      reason = conditions.some((c) => c.type === 'Ready' && c.status === 'True') ? 'Running' : 'NotReady';
    }
  }

  const deleting = pod.metadata?.deletionTimestamp != null;
  if (deleting && status.reason === 'NodeLost') reason = 'Unknown';
  else if (deleting && status.phase !== 'Succeeded' && status.phase !== 'Failed') reason = 'Terminating';

  let restartsCell = String(restarts);
  if (restarts !== 0 && lastRestart) restartsCell = `${restarts} (${humanDuration(ctx.now.getTime() - lastRestart.getTime())} ago)`;

  const podIP = status.podIPs?.[0]?.ip || status.podIP || '<none>';
  let readinessGates = '<none>';
  const gates = spec.readinessGates ?? [];
  if (gates.length > 0) {
    const trueGates = gates.filter((g) => conditions.find((c) => c.type === g.conditionType)?.status === 'True').length;
    readinessGates = `${trueGates}/${gates.length}`;
  }

  const row: PrintedRow = {
    cells: [
      pod.metadata?.name ?? '', `${readyContainers}/${totalContainers}`, reason, restartsCell, since(pod.metadata?.creationTimestamp, ctx.now),
      podIP, spec.nodeName || '<none>', status.nominatedNodeName || '<none>', readinessGates,
    ],
  };
  if (status.phase === 'Succeeded') {
    row.conditions = [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }];
  } else if (status.phase === 'Failed') {
    row.conditions = [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }];
  }
  return row;
}

export const podPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
    column('Status', 'string', 'The aggregate status of the containers in this pod.'),
    column('Restarts', 'string', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
    AGE_COLUMN,
    column('IP', 'string', 'IP address allocated to the pod. Routable at least within the cluster.', 1),
    column('Node', 'string', 'NodeName is a request to schedule this pod onto a specific node.', 1),
    column('Nominated Node', 'string', 'nominatedNodeName is set only when this pod preempts other pods on the node.', 1),
    column('Readiness Gates', 'string', 'If specified, all readiness gates will be evaluated for pod readiness.', 1),
  ],
  row: podRow,
};
