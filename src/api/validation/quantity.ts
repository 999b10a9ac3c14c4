// resource.Quantity: parsing and the canonical string Kubernetes prints.
// https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/
//   <quantity> ::= <signedNumber><suffix>
//   <suffix>   ::= Ki | Mi | Gi | Ti | Pi | Ei | n | u | m | "" | k | M | G | T | P | E | e<signedNumber> | E<signedNumber>

export const QUANTITY_FORMAT_ERROR =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

type Format = 'BinarySI' | 'DecimalSI' | 'DecimalExponent';

/** An exact quantity: sign * digits * 10^exp10 * 2^exp2 (exp2 only from binary suffixes). */
interface Exact {
  negative: boolean;
  digits: bigint; // non-negative
  exp10: number;
  exp2: number;
  format: Format;
}

const DECIMAL_SUFFIXES: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIXES: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

function parseExact(s: string): Exact | undefined {
  const m = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(.*)$/.exec(s);
  if (!m) return undefined;
  const [, sign, whole, frac = '', suffix] = m;
  if (whole === '' && frac === '') return undefined;
  let exp10 = -frac.length;
  let exp2 = 0;
  let format: Format;
  if (suffix in BINARY_SUFFIXES) {
    exp2 = BINARY_SUFFIXES[suffix];
    format = 'BinarySI';
  } else if (suffix in DECIMAL_SUFFIXES) {
    exp10 += DECIMAL_SUFFIXES[suffix];
    format = 'DecimalSI';
  } else {
    const e = /^[eE]([+-]?[0-9]+)$/.exec(suffix);
    if (!e) return undefined;
    exp10 += Number(e[1]);
    format = 'DecimalExponent';
  }
  const digits = BigInt((whole + frac).replace(/^0+(?=.)/, '') || '0');
  return { negative: sign === '-' && digits !== 0n, digits, exp10, exp2, format };
}

/** The numeric value of a quantity string (or a number as-is); undefined when it is not a quantity. */
export function parseQuantity(s: unknown): number | undefined {
  if (typeof s === 'number') return Number.isFinite(s) ? s : undefined;
  if (typeof s !== 'string') return undefined;
  const q = parseExact(s);
  if (!q) return undefined;
  const v = Number(q.digits) * 10 ** q.exp10 * 2 ** q.exp2;
  return q.negative ? -v : v;
}

export function isQuantity(s: unknown): boolean {
  return parseQuantity(s) !== undefined;
}

/** Compares two quantities (strings or numbers): <0, 0, >0; undefined if either does not parse. */
export function compareQuantities(a: unknown, b: unknown): number | undefined {
  const x = parseQuantity(a);
  const y = parseQuantity(b);
  if (x === undefined || y === undefined) return undefined;
  return x === y ? 0 : x < y ? -1 : 1;
}

/**
 * The canonical form Kubernetes serializes a quantity in (Quantity.String()): "1000m" → "1",
 * "1024Mi" → "1Gi", "0.5" → "500m", "1500" → "1500", "2000" → "2k", "1e3" → "1e3".
 * Values are rounded up to nano precision as Kubernetes does.
 */
export function canonicalQuantity(s: unknown): string | undefined {
  if (typeof s === 'number') s = String(s);
  if (typeof s !== 'string') return undefined;
  const q = parseExact(s);
  if (!q) return undefined;
  // Express as an integer count of 10^-9 (rounded up) plus the 2^exp2 factor folded in.
  let n = q.digits * 2n ** BigInt(q.exp2);
  let exp = q.exp10;
  if (exp < -9) {
    const div = 10n ** BigInt(-9 - exp);
    n = (n + div - 1n) / div; // round away from zero, like Quantity's RoundUp
    exp = -9;
  }
  const sign = q.negative ? '-' : '';
  if (n === 0n) return '0';
  if (q.format === 'BinarySI') {
    const integer = exp >= 0 ? n * 10n ** BigInt(exp) : n % 10n ** BigInt(-exp) === 0n ? n / 10n ** BigInt(-exp) : undefined;
    if (integer !== undefined && integer >= 1024n) {
      let v = integer;
      let i = 0;
      while (i < 6 && v % 1024n === 0n) {
        v /= 1024n;
        i++;
      }
      return sign + v.toString() + ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'][i];
    }
  }
  // Decimal: pull trailing zeros into the exponent, then pick an exponent that is a multiple of 3.
  while (n % 10n === 0n) {
    n /= 10n;
    exp++;
  }
  let e3 = Math.floor(exp / 3) * 3;
  if (q.format !== 'DecimalExponent') e3 = Math.min(Math.max(e3, -9), 18);
  n *= 10n ** BigInt(exp - e3);
  if (q.format === 'DecimalExponent') return sign + n.toString() + (e3 === 0 ? '' : `e${e3}`);
  const suffix = Object.entries(DECIMAL_SUFFIXES).find(([, v]) => v === e3)![0];
  return sign + n.toString() + suffix;
}

/** Rounds a quantity up to milli precision (SetDefaults_ResourceList) and canonicalizes it. */
export function roundUpToMilli(s: unknown): unknown {
  if (typeof s !== 'string' && typeof s !== 'number') return s;
  const q = parseExact(String(s));
  if (!q) return s;
  if (q.exp10 < -3 && q.exp2 === 0) {
    const div = 10n ** BigInt(-3 - q.exp10);
    const up = (q.digits + div - 1n) / div;
    return canonicalQuantity(`${q.negative ? '-' : ''}${up}m`) ?? s;
  }
  return s;
}
