// Image references, normalized the way Docker and containerd do (distribution/reference's
// ParseNormalizedNamed): `busybox` is `docker.io/library/busybox:latest`, a first component with
// a dot, a colon or `localhost` is a registry host, and a digest pins the content.
// https://github.com/distribution/reference/blob/main/normalize.go

export interface ImageReference {
  /** Registry host (with port), e.g. 'docker.io', '127.0.0.1:5000'. */
  domain: string;
  /** Repository path inside the registry, e.g. 'library/busybox'. */
  path: string;
  tag?: string;
  /** 'sha256:<hex>' when the reference pins a manifest. */
  digest?: string;
}

const DEFAULT_DOMAIN = 'docker.io';
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

export class InvalidReferenceError extends Error {
  constructor(ref: string, why: string) {
    super(`invalid image reference "${ref}": ${why}`);
    this.name = 'InvalidReferenceError';
  }
}

/** Parses and normalizes a reference; a bare name gets the `latest` tag. */
export function parseReference(ref: string): ImageReference {
  let rest = ref.trim();
  if (rest === '') throw new InvalidReferenceError(ref, 'empty');
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new InvalidReferenceError(ref, `digest must be sha256:<64 hex>, got "${digest}"`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new InvalidReferenceError(ref, `invalid tag "${tag}"`);
  }
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first.toLowerCase() !== first) {
      domain = first;
      path = rest.slice(slash + 1);
    }
  }
  if (domain === 'index.docker.io') domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  for (const component of path.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      throw new InvalidReferenceError(ref, `repository path component "${component}" must be lowercase letters, digits and separators`);
    }
  }
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { domain, path, tag, digest };
}

/** 'docker.io/library/busybox' */
export function repositoryOf(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The canonical string: 'docker.io/library/busybox:latest', 'repo@sha256:…' or 'repo:tag@sha256:…'. */
export function formatReference(ref: ImageReference): string {
  return repositoryOf(ref) + (ref.tag ? `:${ref.tag}` : '') + (ref.digest ? `@${ref.digest}` : '');
}

/** Shorthand: normalize a user-typed reference into its canonical string. */
export function normalizeReference(ref: string): string {
  return formatReference(parseReference(ref));
}

/** True for image ids ('sha256:<hex>' or 64 bare hex), which name an image rather than a repository. */
export function isImageId(ref: string): boolean {
  return DIGEST.test(ref) || /^[a-f0-9]{64}$/.test(ref);
}
