// Tables for custom resources (a CRD version's additionalPrinterColumns, after
// NAME; AGE when it lists none) and the default table of kinds without a
// printer of their own (NAME, CREATED AT).
// https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#additional-printer-columns
import { JsonPathError, evalJsonPath, jsonPathText } from '../jsonpath.ts';
import { humanDuration, rfc3339 } from './duration.ts';
import { AGE_COLUMN, NAME_COLUMN, type PrinterColumn, type Printer, column } from './types.ts';

/** What the API server shows when a CRD version defines no printer columns. */
export const DEFAULT_PRINTER_COLUMNS: PrinterColumn[] = [
  { name: 'Age', type: 'date', description: AGE_COLUMN.description, jsonPath: '.metadata.creationTimestamp' },
];

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** A date column's cell: the age of an RFC 3339 timestamp. */
function dateCell(value: string, now: Date): string {
  if (value === '' || value === 'null') return '<unknown>';
  const d = new Date(value);
  if (!RFC3339.test(value) || Number.isNaN(d.getTime())) return '<invalid>';
  return humanDuration(now.getTime() - d.getTime());
}

/** cellForJSONValue: a typed cell for the column's declared type, or null when the value does not fit. */
function typedCell(type: string, value: unknown, now: Date): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'integer': return typeof value === 'number' ? Math.trunc(value) : null;
    case 'number': return typeof value === 'number' ? value : null;
    case 'boolean': return typeof value === 'boolean' ? value : null;
    case 'date': return typeof value === 'string' ? dateCell(value, now) : null;
    default: return null;
  }
}

function cell(col: PrinterColumn, obj: unknown, now: Date): unknown {
  let found: unknown[];
  try {
    found = evalJsonPath(col.jsonPath, obj, { allowMissingKeys: true });
  } catch (e) {
    // A path the object's shape does not fit (an index out of range, a filter over a map) leaves the cell empty.
    if (e instanceof JsonPathError) return null;
    throw e;
  }
  if (found.length === 0) return null;
  return col.type === 'string' ? jsonPathText(found[0]) : typedCell(col.type, found[0], now);
}

/** The printer for a custom resource version with these additionalPrinterColumns. */
export function customResourcePrinter(printerColumns: PrinterColumn[] | undefined): Printer {
  const cols = printerColumns && printerColumns.length > 0 ? printerColumns : DEFAULT_PRINTER_COLUMNS;
  return {
    columns: [
      NAME_COLUMN,
      ...cols.map((c) => ({
        name: c.name,
        type: c.type,
        format: c.format ?? '',
        description: c.description || `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
        priority: c.priority ?? 0,
      })),
    ],
    row: (obj, { now }) => ({ cells: [obj.metadata?.name ?? '', ...cols.map((c) => cell(c, obj, now))] }),
  };
}

/** rest.DefaultTableConvertor: what kube-apiserver prints for kinds with no printer (CRDs, LimitRanges). */
export const defaultPrinter: Printer = {
  columns: [NAME_COLUMN, column('Created At', 'date', AGE_COLUMN.description)],
  row: (obj) => ({ cells: [obj.metadata?.name ?? '', rfc3339(obj.metadata?.creationTimestamp)] }),
};
