// ConfigMap and Secret: keys, total size, typed secrets, and `immutable: true`.
// https://kubernetes.io/docs/concepts/configuration/secret/#secret-types
import type { KubeObject, StatusCause } from '../types.ts';
import { forbidden, invalid, invalidEach, isObject, key, required, tooLong } from './errors.ts';
import { semanticEqual } from './meta.ts';
import { isConfigMapKey, isQualifiedName } from './names.ts';

type Obj = Record<string, unknown>;

export const MAX_SECRET_SIZE = 1024 * 1024;
const IMMUTABLE_MSG = 'field is immutable when `immutable` is set';

function entries(v: unknown): [string, unknown][] {
  return isObject(v) ? Object.entries(v) : [];
}

/** The decoded length of base64 data, or the byte offset Go's decoder would report as illegal. */
export function base64Length(s: string): { bytes: number } | { illegalAt: number } {
  const clean = s.replace(/[\r\n]/g, '');
  const m = /[^A-Za-z0-9+/=]/.exec(clean);
  if (m) return { illegalAt: m.index };
  const pad = clean.indexOf('=');
  if (pad !== -1 && (!/^=*$/.test(clean.slice(pad)) || clean.length % 4 !== 0)) return { illegalAt: pad };
  if (pad === -1 && clean.length % 4 === 1) return { illegalAt: clean.length - 1 };
  return { bytes: Buffer.from(clean, 'base64').length };
}

export function validateConfigMap(cm: KubeObject, old?: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  let size = 0;
  for (const [k, v] of entries(cm.data)) {
    out.push(...invalidEach(key('data', k), k, isConfigMapKey(k)));
    size += Buffer.byteLength(String(v ?? ''));
  }
  for (const [k, v] of entries(cm.binaryData)) {
    out.push(...invalidEach(key('binaryData', k), k, isConfigMapKey(k)));
    if (isObject(cm.data) && Object.hasOwn(cm.data, k)) out.push(invalid(key('data', k), k, 'duplicate of key present in binaryData'));
    const len = base64Length(String(v ?? ''));
    if ('illegalAt' in len) out.push(invalid(key('binaryData', k), '<binary data>', `illegal base64 data at input byte ${len.illegalAt}`));
    else size += len.bytes;
  }
  if (size > MAX_SECRET_SIZE) out.push(tooLong('', MAX_SECRET_SIZE));
  if (old && old.immutable === true) {
    if (cm.immutable !== true) out.push(forbidden('immutable', IMMUTABLE_MSG));
    if (!semanticEqual(cm.data, old.data)) out.push(forbidden('data', IMMUTABLE_MSG));
    if (!semanticEqual(cm.binaryData, old.binaryData)) out.push(forbidden('binaryData', IMMUTABLE_MSG));
  }
  return out;
}

export function validateSecret(secret: KubeObject, old?: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  const data = isObject(secret.data) ? (secret.data as Obj) : {};
  let size = 0;
  for (const [k, v] of Object.entries(data)) {
    out.push(...invalidEach(key('data', k), k, isConfigMapKey(k)));
    const len = base64Length(String(v ?? ''));
    if ('illegalAt' in len) out.push(invalid(key('data', k), '<secret contents redacted>', `illegal base64 data at input byte ${len.illegalAt}`));
    else size += len.bytes;
  }
  for (const [k, v] of entries(secret.stringData)) {
    out.push(...invalidEach(key('stringData', k), k, isConfigMapKey(k)));
    size += Buffer.byteLength(String(v ?? ''));
  }
  if (size > MAX_SECRET_SIZE) out.push(tooLong('data', MAX_SECRET_SIZE));
  const has = (k: string) => Object.hasOwn(data, k) || (isObject(secret.stringData) && Object.hasOwn(secret.stringData, k));
  const decoded = (k: string): string | undefined => {
    if (isObject(secret.stringData) && typeof secret.stringData[k] === 'string') return secret.stringData[k] as string;
    const v = data[k];
    return typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : undefined;
  };
  const type = typeof secret.type === 'string' ? secret.type : 'Opaque';
  switch (type) {
    case 'kubernetes.io/service-account-token':
      if (!secret.metadata?.annotations?.['kubernetes.io/service-account.name']) {
        out.push(required(key('metadata.annotations', 'kubernetes.io/service-account.name')));
      }
      break;
    case 'kubernetes.io/dockercfg':
    case 'kubernetes.io/dockerconfigjson': {
      const k = type === 'kubernetes.io/dockercfg' ? '.dockercfg' : '.dockerconfigjson';
      if (!has(k)) out.push(required(key('data', k)));
      else {
        const text = decoded(k) ?? '';
        try {
          JSON.parse(text);
        } catch (e) {
          out.push(invalid(key('data', k), '<secret contents redacted>', (e as Error).message));
        }
      }
      break;
    }
    case 'kubernetes.io/basic-auth':
      if (!has('username') && !has('password')) {
        out.push(required(key('data', 'username')), required(key('data', 'password')));
      }
      break;
    case 'kubernetes.io/ssh-auth':
      if (!has('ssh-privatekey')) out.push(required(key('data', 'ssh-privatekey')));
      break;
    case 'kubernetes.io/tls':
      if (!has('tls.key')) out.push(required(key('data', 'tls.key')));
      if (!has('tls.crt')) out.push(required(key('data', 'tls.crt')));
      break;
    case 'Opaque':
    case 'bootstrap.kubernetes.io/token':
      break;
    default:
      out.push(...invalidEach('type', type, isQualifiedName(type)));
  }
  if (old) {
    const oldType = typeof old.type === 'string' ? old.type : 'Opaque';
    if (type !== oldType) out.push(invalid('type', type, 'field is immutable'));
    if (old.immutable === true) {
      if (secret.immutable !== true) out.push(forbidden('immutable', IMMUTABLE_MSG));
      if (!semanticEqual(secret.data, old.data) || secret.stringData) out.push(forbidden('data', IMMUTABLE_MSG));
    }
  }
  return out;
}
