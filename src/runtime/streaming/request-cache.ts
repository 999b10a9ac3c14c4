// One-time tokens for streaming URLs, as kubelet's streaming library keeps them: a CRI call
// stores the validated request under a random token, the URL carries the token, and the first
// connection consumes it. Tokens expire after a minute and at most 1000 wait at once.
import { randomBytes } from 'node:crypto';
import { Code, CriError } from '../../cri/errors.ts';
import type { AttachRequest, DeepPartial, ExecRequest, PortForwardRequest } from '../../cri/types.ts';

export type StreamRequest =
  | { kind: 'exec'; request: DeepPartial<ExecRequest> }
  | { kind: 'attach'; request: DeepPartial<AttachRequest> }
  | { kind: 'portforward'; request: DeepPartial<PortForwardRequest> };

export const TOKEN_TTL_MS = 60_000;
export const MAX_IN_FLIGHT = 1000;

export class RequestCache {
  private readonly entries = new Map<string, { value: StreamRequest; expires: number }>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(ttlMs = TOKEN_TTL_MS, now: () => number = Date.now) {
    this.ttlMs = ttlMs;
    this.now = now;
  }

  insert(value: StreamRequest): string {
    this.evictExpired();
    if (this.entries.size >= MAX_IN_FLIGHT) {
      throw new CriError(Code.RESOURCE_EXHAUSTED, `maximum number of in-flight streaming requests (${MAX_IN_FLIGHT}) exceeded`);
    }
    let token: string;
    do token = randomBytes(12).toString('base64url'); while (this.entries.has(token));
    this.entries.set(token, { value, expires: this.now() + this.ttlMs });
    return token;
  }

  /** The request for token, once: later calls (and expired tokens) get undefined. */
  consume(token: string): StreamRequest | undefined {
    const e = this.entries.get(token);
    if (!e) return undefined;
    this.entries.delete(token);
    return e.expires > this.now() ? e.value : undefined;
  }

  private evictExpired(): void {
    const now = this.now();
    for (const [token, e] of this.entries) if (e.expires <= now) this.entries.delete(token);
  }
}
