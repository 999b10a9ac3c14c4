// Pod volumes: unique DNS-label names and exactly one source each (ValidateVolumes).
import type { StatusCause } from '../types.ts';
import { validateLocalDescendingPath } from './containers.ts';
import { child, duplicate, forbidden, index, invalid, invalidEach, isObject, notSupported, required } from './errors.ts';
import { isConfigMapKey, isDNS1123Label, isDNS1123Subdomain } from './names.ts';
import { parseQuantity, QUANTITY_FORMAT_ERROR } from './quantity.ts';

type Obj = Record<string, unknown>;

// In the order Kubernetes checks them (the second one found is the one reported).
const SOURCES = ['hostPath', 'emptyDir', 'gitRepo', 'gcePersistentDisk', 'awsElasticBlockStore', 'secret', 'nfs', 'iscsi',
  'glusterfs', 'persistentVolumeClaim', 'rbd', 'flexVolume', 'cinder', 'cephfs', 'flocker', 'downwardAPI', 'fc', 'azureFile',
  'configMap', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'projected', 'portworxVolume', 'scaleIO',
  'storageos', 'csi', 'ephemeral', 'image'];

const HOST_PATH_TYPES = ['', 'BlockDevice', 'CharDevice', 'Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate', 'Socket'];

export interface VolumeNames {
  all: Set<string>;
  block: Set<string>;
}

export function validateVolumes(volumes: unknown, path: string): { causes: StatusCause[]; names: VolumeNames } {
  const out: StatusCause[] = [];
  const names: VolumeNames = { all: new Set(), block: new Set() };
  (Array.isArray(volumes) ? (volumes as Obj[]) : []).forEach((v, i) => {
    const ip = index(path, i);
    const name = typeof v?.name === 'string' ? v.name : '';
    const errs: StatusCause[] = [];
    if (!name) errs.push(required(child(ip, 'name')));
    else errs.push(...invalidEach(child(ip, 'name'), name, isDNS1123Label(name)));
    errs.push(...validateVolumeSource(v ?? {}, ip));
    if (names.all.has(name) && name) errs.push(duplicate(child(ip, 'name'), name));
    if (errs.length === 0) {
      names.all.add(name);
      if (isObject(v.persistentVolumeClaim) || isObject(v.ephemeral)) names.block.add(name);
    }
    out.push(...errs);
  });
  return { causes: out, names };
}

function validateVolumeSource(v: Obj, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  let n = 0;
  for (const s of SOURCES) {
    if (!isObject(v[s])) continue;
    if (n > 0) {
      out.push(forbidden(child(path, s), 'may not specify more than 1 volume type'));
      continue;
    }
    n++;
    out.push(...validateSource(s, v[s] as Obj, child(path, s)));
  }
  if (n === 0) out.push(required(path, 'must specify a volume type'));
  return out;
}

function validateSource(kind: string, s: Obj, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  switch (kind) {
    case 'hostPath':
      if (!s.path) out.push(required(child(path, 'path')));
      else out.push(...validatePathNoBacksteps(String(s.path), child(path, 'path')));
      if (s.type !== undefined && s.type !== null && !HOST_PATH_TYPES.includes(String(s.type))) {
        out.push(notSupported(child(path, 'type'), s.type, HOST_PATH_TYPES));
      }
      break;
    case 'emptyDir':
      if (s.sizeLimit !== undefined) {
        const q = parseQuantity(s.sizeLimit);
        if (q === undefined) out.push(invalid(child(path, 'sizeLimit'), String(s.sizeLimit), QUANTITY_FORMAT_ERROR));
        else if (q < 0) out.push(invalid(child(path, 'sizeLimit'), String(s.sizeLimit), 'must be greater than or equal to 0'));
      }
      if (s.medium !== undefined && !['', 'Memory', 'HugePages'].includes(String(s.medium)) && !String(s.medium).startsWith('HugePages-')) {
        out.push(notSupported(child(path, 'medium'), s.medium, ['', 'Memory', 'HugePages']));
      }
      break;
    case 'secret':
      if (!s.secretName) out.push(required(child(path, 'secretName')));
      else out.push(...invalidEach(child(path, 'secretName'), s.secretName, isDNS1123Subdomain(String(s.secretName))));
      out.push(...validateMode(s.defaultMode, child(path, 'defaultMode')));
      out.push(...validateKeyToPaths(s.items, child(path, 'items')));
      break;
    case 'configMap':
      if (!s.name) out.push(required(child(path, 'name')));
      else out.push(...invalidEach(child(path, 'name'), s.name, isDNS1123Subdomain(String(s.name))));
      out.push(...validateMode(s.defaultMode, child(path, 'defaultMode')));
      out.push(...validateKeyToPaths(s.items, child(path, 'items')));
      break;
    case 'persistentVolumeClaim':
      if (!s.claimName) out.push(required(child(path, 'claimName')));
      break;
    case 'nfs':
      if (!s.server) out.push(required(child(path, 'server')));
      if (!s.path) out.push(required(child(path, 'path')));
      else if (!String(s.path).startsWith('/')) out.push(invalid(child(path, 'path'), s.path, 'must be an absolute path'));
      break;
    case 'downwardAPI':
      out.push(...validateMode(s.defaultMode, child(path, 'defaultMode')));
      break;
    case 'projected':
      out.push(...validateMode(s.defaultMode, child(path, 'defaultMode')));
      if (Array.isArray(s.sources)) {
        (s.sources as Obj[]).forEach((src, i) => {
          const sp = index(child(path, 'sources'), i);
          const kinds = ['secret', 'downwardAPI', 'configMap', 'serviceAccountToken', 'clusterTrustBundle'].filter((k) => isObject(src?.[k]));
          if (kinds.length === 0) out.push(required(sp, 'must specify exactly 1 of: secret, downwardAPI, configMap, serviceAccountToken, clusterTrustBundle'));
          for (const k of kinds.slice(1)) out.push(forbidden(child(sp, k), 'may not specify more than 1 volume type per source'));
          const sat = src?.serviceAccountToken as Obj | undefined;
          if (isObject(sat)) {
            if (!sat.path) out.push(required(child(sp, 'serviceAccountToken', 'path')));
            const exp = sat.expirationSeconds;
            if (typeof exp === 'number' && exp < 600) out.push(invalid(child(sp, 'serviceAccountToken', 'expirationSeconds'), exp, 'may not specify a duration less than 10 minutes'));
          }
        });
      }
      break;
    case 'csi':
      if (!s.driver) out.push(required(child(path, 'driver')));
      break;
    case 'ephemeral':
      if (!isObject(s.volumeClaimTemplate)) out.push(required(child(path, 'volumeClaimTemplate')));
      break;
    case 'image':
      if (!s.reference) out.push(required(child(path, 'reference')));
      break;
  }
  return out;
}

function validateMode(mode: unknown, path: string): StatusCause[] {
  if (mode === undefined || mode === null) return [];
  const m = Number(mode);
  return Number.isInteger(m) && m >= 0 && m <= 0o777 ? [] : [invalid(path, mode, 'must be a number between 0 and 0777 (octal), both inclusive')];
}

function validateKeyToPaths(items: unknown, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  (Array.isArray(items) ? (items as Obj[]) : []).forEach((it, i) => {
    const ip = index(path, i);
    if (!it?.key) out.push(required(child(ip, 'key')));
    else out.push(...invalidEach(child(ip, 'key'), it.key, isConfigMapKey(String(it.key))));
    if (!it?.path) out.push(required(child(ip, 'path')));
    else out.push(...validateLocalDescendingPath(String(it.path), child(ip, 'path')));
    out.push(...validateMode(it?.mode, child(ip, 'mode')));
  });
  return out;
}

function validatePathNoBacksteps(p: string, path: string): StatusCause[] {
  return p.split(/[\\/]/).includes('..') ? [invalid(path, p, "must not contain '..'")] : [];
}
