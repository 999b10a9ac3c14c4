// IntOrString values such as maxSurge, maxUnavailable and minAvailable: an absolute number or a
// percentage of some total.
// https://pkg.go.dev/k8s.io/apimachinery/pkg/util/intstr#GetScaledValueFromIntOrPercent

/** The value scaled to total, percentages rounded up unless roundUp is false; unset is 0. */
export function scaledValue(v: number | string | undefined, total: number, roundUp = true): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  const m = /^(-?\d+)%$/.exec(v);
  if (!m) {
    const n = Number(v);
    if (Number.isInteger(n)) return n;
    throw new Error(`invalid value for IntOrString: invalid value "${v}": must be an integer or a percentage`);
  }
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}
