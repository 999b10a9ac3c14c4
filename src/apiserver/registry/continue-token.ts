// List continue tokens, in the shape kube-apiserver uses: base64 of
// {"v":"meta.k8s.io/v1","rv":<revision>,"start":"<key after the prefix>\u0000"}.
import { errors } from '../errors.ts';

export interface ContinueToken {
  rv: number;
  /** The key (relative to the list prefix) to start at, inclusive. */
  start: string;
}

export function encodeContinue(rv: number, nextKeyRelative: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start: nextKeyRelative })).toString('base64');
}

export function decodeContinue(token: string): ContinueToken {
  let parsed: { v?: string; rv?: number; start?: string };
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
  } catch {
    throw errors.badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
  if (parsed.v !== 'meta.k8s.io/v1' || typeof parsed.rv !== 'number' || typeof parsed.start !== 'string' || parsed.start.includes('/..')) {
    throw errors.badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
  return { rv: parsed.rv, start: parsed.start };
}
