// What a custom resource's CRD says about printing and scaling it.
import type { PrinterColumn } from '../../api/tables/types.ts';
import type { ResourceCall } from './context.ts';

interface CrdVersion {
  name: string;
  additionalPrinterColumns?: PrinterColumn[];
  subresources?: { scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string } };
}

function crdVersion(call: ResourceCall): CrdVersion | undefined {
  if (!call.r.custom) return undefined;
  const crd = call.parts.crdFor?.(call.r);
  return (crd?.spec?.versions as CrdVersion[] | undefined)?.find((v) => v.name === call.r.version);
}

export function crdPrinterColumnsFor(call: ResourceCall): PrinterColumn[] | undefined {
  return crdVersion(call)?.additionalPrinterColumns;
}

export function scalePathsFor(call: ResourceCall): { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string } | undefined {
  return crdVersion(call)?.subresources?.scale;
}
