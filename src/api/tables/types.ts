// The meta.k8s.io/v1 Table that server-side printing returns, and the shape of
// one kind's printer. https://kubernetes.io/docs/reference/using-api/api-concepts/#receiving-resources-as-tables
import type { KubeObject } from '../types.ts';

export interface TableColumnDefinition {
  name: string;
  /** OpenAPI type of the cells: string, integer, number, boolean or date. */
  type: string;
  /** `name` for the column that holds the object's name, otherwise usually "". */
  format: string;
  description: string;
  /** 0 for the columns kubectl always shows; 1 and up only with `-o wide`. */
  priority: number;
}

export interface TableRowCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface TableRow {
  cells: unknown[];
  conditions?: TableRowCondition[];
  /** PartialObjectMetadata, the full object, or absent, per includeObject. */
  object?: unknown;
}

export interface Table {
  apiVersion: 'meta.k8s.io/v1';
  kind: 'Table';
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  /** Absent when the client asked for no headers. */
  columnDefinitions?: TableColumnDefinition[];
  rows: TableRow[];
}

/** A CRD version's additionalPrinterColumns entry. */
export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

/** What a row is computed against: the clock ages are measured from. */
export interface RowContext {
  now: Date;
}

export interface PrintedRow {
  /** One cell per column definition, wide columns included. */
  cells: unknown[];
  conditions?: TableRowCondition[];
}

/** One kind's columns and how to fill a row. */
export interface Printer {
  columns: TableColumnDefinition[];
  row(obj: KubeObject, ctx: RowContext): PrintedRow;
}

/** A column definition; the Name column gets format "name". */
export function column(name: string, type: string, description: string, priority = 0): TableColumnDefinition {
  return { name, type, format: name === 'Name' ? 'name' : '', description, priority };
}

export const NAME_COLUMN = column('Name', 'string',
  'Name must be unique within a namespace. It is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically.');
export const AGE_COLUMN = column('Age', 'string',
  'CreationTimestamp is a timestamp representing the server time when this object was created.');
export const CONTAINERS_COLUMN = column('Containers', 'string', 'Names of each container in the template.', 1);
export const IMAGES_COLUMN = column('Images', 'string', 'Images referenced by each container in the template.', 1);
