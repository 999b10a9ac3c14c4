// `kubectl get events`: LAST SEEN TYPE REASON OBJECT MESSAGE | SUBOBJECT SOURCE FIRST SEEN COUNT NAME.
// events.k8s.io/v1 Events print through the same printer, as kube-apiserver
// converts them to the core Event first.
import type { KubeObject } from '../types.ts';
import { since } from './duration.ts';
import { NAME_COLUMN, type Printer, column } from './types.ts';

interface CoreEventView {
  name: string;
  type: string;
  reason: string;
  message: string;
  involvedObject: { kind?: string; name?: string; fieldPath?: string };
  source: { component?: string; host?: string };
  reportingController: string;
  reportingInstance: string;
  firstTimestamp?: string;
  lastTimestamp?: string;
  eventTime?: string;
  count?: number;
  series?: { count?: number; lastObservedTime?: string };
}

/** The fields the printer reads, from either API version of Event. */
function view(o: KubeObject): CoreEventView {
  const common = { name: o.metadata?.name ?? '', type: o.type ?? '', reason: o.reason ?? '', eventTime: o.eventTime,
    reportingController: o.reportingController ?? o.reportingComponent ?? '', reportingInstance: o.reportingInstance ?? '', series: o.series };
  if (o.apiVersion === 'events.k8s.io/v1' || o.regarding !== undefined || o.note !== undefined) {
    return { ...common, message: o.note ?? '', involvedObject: o.regarding ?? {}, source: o.deprecatedSource ?? {},
      firstTimestamp: o.deprecatedFirstTimestamp, lastTimestamp: o.deprecatedLastTimestamp, count: o.deprecatedCount };
  }
  return { ...common, message: o.message ?? '', involvedObject: o.involvedObject ?? {}, source: o.source ?? {},
    firstTimestamp: o.firstTimestamp, lastTimestamp: o.lastTimestamp, count: o.count };
}

/** formatEventSource: component (or reporting controller), then ", host" (or reporting instance) when known. */
function eventSource(e: CoreEventView): string {
  const component = e.source.component || e.reportingController;
  const instance = e.source.host || e.reportingInstance;
  return instance ? `${component}, ${instance}` : component;
}

export const eventPrinter: Printer = {
  columns: [
    column('Last Seen', 'string', 'The time at which the most recent occurrence of this event was recorded.'),
    column('Type', 'string', 'Type of this event (Normal, Warning), new types could be added in the future'),
    column('Reason', 'string', 'This should be a short, machine understandable string that gives the reason for the transition into the object\'s current status.'),
    column('Object', 'string', 'The object that this event is about.'),
    column('Subobject', 'string', 'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.', 1),
    column('Source', 'string', 'The component reporting this event. Should be a short machine understandable string.', 1),
    column('Message', 'string', 'A human-readable description of the status of this operation.'),
    column('First Seen', 'string', 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)', 1),
    column('Count', 'string', 'The number of times this event has occurred.', 1),
    { ...NAME_COLUMN, priority: 1 },
  ],
  row(o, { now }) {
    const e = view(o);
    const first = e.firstTimestamp ? since(e.firstTimestamp, now) : since(e.eventTime, now);
    let last = e.lastTimestamp ? since(e.lastTimestamp, now) : first;
    let count = e.count ?? 0;
    if (e.series) {
      last = since(e.series.lastObservedTime, now);
      count = e.series.count ?? 0;
    } else if (count === 0) {
      count = 1; // singleton events carry no count in the new API
    }
    const kind = (e.involvedObject.kind ?? '').toLowerCase();
    const target = e.involvedObject.name ? `${kind}/${e.involvedObject.name}` : kind;
    return {
      cells: [last, e.type, e.reason, target, e.involvedObject.fieldPath ?? '', eventSource(e), e.message.trim(), first, count, e.name],
    };
  },
};
