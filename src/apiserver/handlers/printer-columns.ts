// What a custom resource's CRD says about printing and scaling it (src/api/crd.ts reads the CRD).
import type { CustomResourceDefinition, CustomResourceSubresourceScale } from 'kubernetes-types/apiextensions/v1.d.ts';
import { crdScaleSubresource, crdVersion } from '../../api/crd.ts';
import type { PrinterColumn } from '../../api/tables/types.ts';
import type { ResourceCall } from './context.ts';

function crdOf(call: ResourceCall): CustomResourceDefinition | undefined {
  return call.r.custom ? call.parts.crdFor?.(call.r) as CustomResourceDefinition | undefined : undefined;
}

export function crdPrinterColumnsFor(call: ResourceCall): PrinterColumn[] | undefined {
  const crd = crdOf(call);
  return crd ? crdVersion(crd, call.r.version)?.additionalPrinterColumns as PrinterColumn[] | undefined : undefined;
}

export function scalePathsFor(call: ResourceCall): CustomResourceSubresourceScale | undefined {
  const crd = crdOf(call);
  return crd ? crdScaleSubresource(crd, call.r.version) : undefined;
}
