// Printers for Lease, EndpointSlice, PriorityClass and RuntimeClass
// (kubernetes/pkg/printers/internalversion).
import type { KubeObject } from '../types.ts';
import { since } from './duration.ts';
import { int, listWithMore } from './format.ts';
import { AGE_COLUMN, NAME_COLUMN, type Printer, column } from './types.ts';

const age = (o: KubeObject, now: Date) => since(o.metadata?.creationTimestamp, now);

export const leasePrinter: Printer = {
  columns: [NAME_COLUMN, column('Holder', 'string', 'holderIdentity contains the identity of the holder of a current lease.'), AGE_COLUMN],
  row: (o, { now }) => ({ cells: [o.metadata?.name, o.spec?.holderIdentity ?? '', age(o, now)] }),
};

export const endpointSlicePrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('AddressType', 'string', 'addressType specifies the type of address carried by this EndpointSlice.'),
    column('Ports', 'string', 'ports specifies the list of network ports exposed by each endpoint in this slice.'),
    column('Endpoints', 'string', 'endpoints is a list of unique endpoints in this slice.'),
    AGE_COLUMN,
  ],
  row(o, { now }) {
    const ports = ((o.ports ?? []) as { port?: number; name?: string }[])
      .map((p) => (p.port != null ? String(p.port) : p.name != null ? p.name : '*'));
    const addresses = ((o.endpoints ?? []) as { addresses?: string[] }[]).flatMap((e) => e.addresses ?? []);
    return { cells: [o.metadata?.name, o.addressType ?? '', listWithMore(ports), listWithMore(addresses), age(o, now)] };
  },
};

export const priorityClassPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Value', 'integer', 'value represents the integer value of this priority class.'),
    column('Global-Default', 'boolean', 'globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class.'),
    AGE_COLUMN,
    // Not marked wide in Kubernetes either: plain `kubectl get priorityclasses` shows it.
    column('PreemptionPolicy', 'string', 'preemptionPolicy is the Policy for preempting pods with lower priority.'),
  ],
  row: (o, { now }) => ({ cells: [o.metadata?.name, int(o.value), o.globalDefault === true, age(o, now), o.preemptionPolicy ?? ''] }),
};

export const runtimeClassPrinter: Printer = {
  columns: [NAME_COLUMN, column('Handler', 'string', 'handler specifies the underlying runtime and configuration that the CRI implementation will use to handle pods of this class.'), AGE_COLUMN],
  row: (o, { now }) => ({ cells: [o.metadata?.name, o.handler ?? '', age(o, now)] }),
};
