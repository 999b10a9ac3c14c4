// The PodDisruptionBudget printer (kubernetes/pkg/printers/internalversion: printPodDisruptionBudget):
// NAME  MIN AVAILABLE  MAX UNAVAILABLE  ALLOWED DISRUPTIONS  AGE.
import { since } from './duration.ts';
import { AGE_COLUMN, NAME_COLUMN, type Printer, column } from './types.ts';

/** intstr.IntOrString's String(), or N/A when the field is unset. */
function intOrStringCell(v: unknown): string {
  return v === undefined || v === null ? 'N/A' : String(v);
}

export const podDisruptionBudgetPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Min Available', 'string', 'The minimum number or percentage of available pods this budget requires.'),
    column('Max Unavailable', 'string', 'The maximum number or percentage of unavailable pods this budget requires.'),
    column('Allowed Disruptions', 'integer', 'Calculated number of pods that may be disrupted at this time.'),
    AGE_COLUMN,
  ],
  row: (o, { now }) => ({
    cells: [
      o.metadata?.name, intOrStringCell(o.spec?.minAvailable), intOrStringCell(o.spec?.maxUnavailable),
      typeof o.status?.disruptionsAllowed === 'number' ? o.status.disruptionsAllowed : 0, since(o.metadata?.creationTimestamp, now),
    ],
  }),
};
