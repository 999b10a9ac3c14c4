// Response formats a client can ask for with Accept: plain JSON (or YAML), a
// meta.k8s.io Table (kubectl get), or PartialObjectMetadata (metadata-only clients).
import type { KubeObject, ResourceInfo } from '../../api/types.ts';
import { errors } from '../errors.ts';
import { parseAccept } from '../http.ts';

export type OutputFormat =
  | { kind: 'json' }
  | { kind: 'yaml' }
  | { kind: 'table'; version: string }
  | { kind: 'partial'; version: string };

export function negotiate(accept: string | undefined): OutputFormat {
  for (const e of parseAccept(accept)) {
    const as = e.params.as;
    if (e.type === 'application/json' || e.type === '*/*' || e.type === 'application/*') {
      if (!as) return { kind: 'json' };
      if (e.params.g === 'meta.k8s.io' && (e.params.v === 'v1' || e.params.v === 'v1beta1')) {
        if (as === 'Table') return { kind: 'table', version: e.params.v };
        if (as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') return { kind: 'partial', version: e.params.v };
      }
      continue;
    }
    if (e.type === 'application/yaml' && !as) return { kind: 'yaml' };
  }
  throw errors.notAcceptable(accept ?? '');
}

export function contentTypeOf(f: OutputFormat, list: boolean): string {
  switch (f.kind) {
    case 'json': return 'application/json';
    case 'yaml': return 'application/yaml';
    case 'table': return `application/json;as=Table;v=${f.version};g=meta.k8s.io`;
    case 'partial': return `application/json;as=PartialObjectMetadata${list ? 'List' : ''};v=${f.version};g=meta.k8s.io`;
  }
}

export function partialMetadata(obj: KubeObject, version: string): KubeObject {
  return { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${version}`, metadata: obj.metadata };
}

export function listKindOf(r: ResourceInfo): string {
  return r.listKind;
}
