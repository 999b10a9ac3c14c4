// Every write records its field manager in metadata.managedFields, as
// kube-apiserver does for all requests (server-side apply builds on this).
import type { KubeObject, ResourceInfo } from '../../api/types.ts';
import { apiVersionOf } from '../../api/types.ts';
import { trackUpdate } from '../../api/apply/index.ts';
import type { Admission } from './admission.ts';
import { rfc3339 } from '../../api/time.ts';

export function trackManagedFields(ctx: { admission: Admission; now: () => Date }, r: ResourceInfo, old: KubeObject | undefined,
  next: KubeObject, manager: string, subresource: string): KubeObject {
  const { root, resolver } = ctx.admission.schema(r);
  return trackUpdate(old, next, {
    manager,
    operation: 'Update',
    apiVersion: apiVersionOf(r),
    schema: root,
    resolver,
    now: rfc3339(ctx.now()),
    subresource: subresource || undefined,
    hasStatusSubresource: r.subresources.includes('status'),
  });
}
