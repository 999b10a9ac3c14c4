// Cell formatting the printers share (kubernetes/pkg/printers/internalversion).
import type { Container } from 'kubernetes-types/core/v1.d.ts';

/** Container names and images, each comma-joined, for the wide Containers/Images columns. */
export function containerCells(containers: Container[] | undefined): [string, string] {
  const list = containers ?? [];
  return [list.map((c) => c.name ?? '').join(','), list.map((c) => c.image ?? '').join(',')];
}

/** Condition `type` is present with status True (the first condition of that type decides). */
export function hasCondition(conditions: { type?: string; status?: string }[] | undefined, type: string): boolean {
  const c = (conditions ?? []).find((x) => x.type === type);
  return c?.status === 'True';
}

/** net.JoinHostPort: IPv6 addresses get brackets. */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Up to three items, then " + N more...", or `<unset>` when there are none (listWithMoreString). */
export function listWithMore(items: string[], max = 3): string {
  if (items.length > max) return `${items.slice(0, max).join(',')} + ${items.length - max} more...`;
  const s = items.join(',');
  return s === '' ? '<unset>' : s;
}

/** printBoolPtr: "True", "False" or `<unset>`. */
export function boolPtr(v: unknown): string {
  return typeof v === 'boolean' ? (v ? 'True' : 'False') : '<unset>';
}

/** The persistent volume access modes in kubectl's short form, in Kubernetes' fixed order. */
export function accessModes(modes: string[] | undefined): string {
  const set = new Set(modes ?? []);
  const out: string[] = [];
  if (set.has('ReadWriteOnce')) out.push('RWO');
  if (set.has('ReadOnlyMany')) out.push('ROX');
  if (set.has('ReadWriteMany')) out.push('RWX');
  if (set.has('ReadWriteOncePod')) out.push('RWOP');
  return out.join(',');
}

/** An int64 cell: a number, 0 when unset. */
export function int(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}
