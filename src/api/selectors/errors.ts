// Errors for malformed selectors. kube-apiserver answers them with a 400
// BadRequest whose message is the parser's own text, so the message here is
// exactly what kubectl shows after "Error from server (BadRequest): ...".

/** A label or field selector the server cannot use: the request is a 400 BadRequest. */
export class SelectorError extends Error {
  readonly code = 400;
  readonly reason = 'BadRequest';
  constructor(message: string) {
    super(message);
    this.name = 'SelectorError';
  }
}

/**
 * Go's %q for the strings selectors carry (printable text): a double-quoted,
 * backslash-escaped literal. Used where Kubernetes formats field.Error values.
 */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

/**
 * The text of a field.Invalid error, `<path>: Invalid value: <value>: <detail>`.
 * Strings print with %q, anything else as JSON (null for a nil slice), as field.Error does.
 */
export function invalidValue(path: string, value: unknown, detail: string): string {
  const shown = typeof value === 'string' ? goQuote(value) : JSON.stringify(value ?? null);
  return `${path}: Invalid value: ${shown}: ${detail}`;
}

/** utilerrors.Aggregate's text: one message as is, several de-duplicated inside [a, b]. */
export function aggregate(messages: string[]): string {
  const unique = [...new Set(messages)];
  return unique.length === 1 ? unique[0] : `[${unique.join(', ')}]`;
}
