// downwardAPI volumes (and projected downwardAPI sources): one file per item, from a pod
// field or a container resource. Rewritten on every sync, so label and annotation changes
// reach the files. https://kubernetes.io/docs/concepts/workloads/pods/downward-api/
import type { DownwardAPIVolumeFile, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { Payload } from './atomic-writer.ts';
import { containerNamed, containerResourceValue, podMetadataField } from './field-ref.ts';
import { DEFAULT_MODE } from './key-payload.ts';

export async function downwardAPIPayload(pod: Pod, items: DownwardAPIVolumeFile[] | undefined, defaultMode: number | undefined,
  allocatable: () => Promise<Record<string, string>>): Promise<Payload> {
  const payload: Payload = new Map();
  for (const item of items ?? []) {
    let value: string;
    if (item.fieldRef) {
      value = podMetadataField(pod, item.fieldRef.fieldPath);
    } else if (item.resourceFieldRef) {
      value = await containerResourceValue(item.resourceFieldRef, containerNamed(pod, item.resourceFieldRef.containerName), allocatable);
    } else {
      throw new Error(`downwardAPI item ${item.path} has neither fieldRef nor resourceFieldRef`);
    }
    payload.set(item.path, { data: Buffer.from(value, 'utf8'), mode: item.mode ?? defaultMode ?? DEFAULT_MODE });
  }
  return payload;
}
