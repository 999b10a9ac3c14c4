// Errors a PATCH can fail with, shaped like the metav1.Status kube-apiserver
// answers (code, reason, message), and the small helpers that word them the
// way the Go code behind kube-apiserver does.

export type PatchErrorReason = 'BadRequest' | 'UnsupportedMediaType' | 'Invalid' | 'RequestEntityTooLarge';
export type PatchErrorCode = 400 | 413 | 415 | 422;

export class PatchError extends Error {
  readonly code: PatchErrorCode;
  readonly reason: PatchErrorReason;
  /**
   * What actually went wrong when `message` is kube-apiserver's generic text.
   * kube-apiserver answers a 422 from a patch with only "the server rejected our
   * request due to an error in our request" and drops this; we keep it so the
   * HTTP layer can surface it (e.g. as details.causes[0].message).
   */
  readonly detail: string | undefined;

  constructor(code: PatchErrorCode, reason: PatchErrorReason, message: string, detail?: string) {
    super(message);
    this.name = 'PatchError';
    this.code = code;
    this.reason = reason;
    this.detail = detail;
  }
}

export function badRequest(message: string): PatchError {
  return new PatchError(400, 'BadRequest', message);
}

/**
 * kube-apiserver turns a patch that does not apply into
 * errors.NewGenericServerResponse(422, ...): reason Invalid and a fixed message.
 */
export function unprocessable(detail: string): PatchError {
  return new PatchError(422, 'Invalid', 'the server rejected our request due to an error in our request', detail);
}

/** negotiation.NewUnsupportedMediaTypeError: lists what the endpoint accepts. */
export function unsupportedMediaType(accepted: readonly string[]): PatchError {
  return new PatchError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
  );
}

/** The JSON type words Go's encoding/json uses in "cannot unmarshal X into ..." errors. */
export function goJsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  switch (typeof v) {
    case 'object': return 'object';
    case 'string': return 'string';
    case 'number': return 'number';
    case 'boolean': return 'bool';
    default: return typeof v;
  }
}

/**
 * Formats a JSON value the way Go's fmt %v prints the decoded interface{}, so
 * that messages such as "map: map[image:nginx] does not contain declared merge
 * key: name" read like kube-apiserver's.
 */
export function goFormat(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goFormat).join(' ')}]`;
  if (typeof v === 'object') {
    const entries = Object.keys(v).sort().map((k) => `${k}:${goFormat((v as Record<string, unknown>)[k])}`);
    return `map[${entries.join(' ')}]`;
  }
  if (typeof v === 'number') return goFloat(v);
  return String(v);
}

// Go prints float64 with %v as the shortest representation, switching to
// exponent form from 1e21 up (like JS) and below 1e-4 (unlike JS).
function goFloat(n: number): string {
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e21)) {
    return n.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  }
  return String(n);
}

/**
 * Parses a request body, turning V8's JSON errors into the wording of Go's
 * encoding/json (which is what a kube-apiserver client sees).
 */
export function parseJsonBody(body: string, prefix: string): unknown {
  try {
    return JSON.parse(body);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw badRequest(prefix + goSyntaxError(body, message));
  }
}

function goSyntaxError(body: string, v8Message: string): string {
  if (body.trim() === '' || /Unexpected end of JSON input|Unterminated string/.test(v8Message)) {
    return 'unexpected end of JSON input';
  }
  const pos = /at position (\d+)/.exec(v8Message);
  const token = /Unexpected token '(.)'/.exec(v8Message);
  const ch = pos ? body.charAt(Number(pos[1])) : token ? token[1] : undefined;
  if (ch === undefined || ch === '') return 'unexpected end of JSON input';
  let context = 'looking for beginning of value';
  if (/after JSON/.test(v8Message)) context = 'after top-level value';
  else if (/Expected (double-quoted )?property name/.test(v8Message)) context = 'looking for beginning of object key string';
  else if (/after property value/.test(v8Message)) context = 'after object key:value pair';
  else if (/after property name/.test(v8Message)) context = 'after object key';
  else if (/after array element/.test(v8Message)) context = 'after array element';
  else if (/control character/.test(v8Message)) context = 'in string literal';
  return `invalid character ${goQuoteChar(ch)} ${context}`;
}

function goQuoteChar(ch: string): string {
  if (ch === '\n') return "'\\n'";
  if (ch === '\t') return "'\\t'";
  if (ch === '\r') return "'\\r'";
  if (ch === "'") return "'\\''";
  return `'${ch}'`;
}
