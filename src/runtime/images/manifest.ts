// OCI image-spec and Docker image manifest v2 schema 2 documents: the shapes, media types, and
// choosing the host's platform out of an index / manifest list.
// https://github.com/opencontainers/image-spec/blob/main/manifest.md
// https://github.com/distribution/distribution/blob/main/docs/content/spec/manifest-v2-2.md

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.ociManifest, MEDIA.dockerManifestList, MEDIA.dockerManifest];

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface Manifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** The parts of the image config a container runtime uses. */
export interface ImageConfigBody {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
}

export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  config?: ImageConfigBody;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: unknown[];
}

export function isIndex(mediaType: string | undefined, doc: { manifests?: unknown }): boolean {
  if (mediaType === MEDIA.ociIndex || mediaType === MEDIA.dockerManifestList) return true;
  return mediaType === undefined && Array.isArray(doc.manifests);
}

export function isManifest(mediaType: string | undefined, doc: { config?: unknown }): boolean {
  if (mediaType === MEDIA.ociManifest || mediaType === MEDIA.dockerManifest) return true;
  return mediaType === undefined && typeof doc.config === 'object' && doc.config !== null;
}

/** The host platform in Go's GOARCH vocabulary, which images use. */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return { os: 'linux', architecture: arch[process.arch] ?? process.arch };
}

/** Picks the manifest for platform out of an index (first match, as containerd's default matcher). */
export function selectPlatform(index: ImageIndex, platform: Platform = hostPlatform()): Descriptor | undefined {
  const candidates = index.manifests.filter((d) => d.mediaType !== MEDIA.ociIndex && d.mediaType !== MEDIA.dockerManifestList);
  return candidates.find((d) => d.platform?.os === platform.os && d.platform.architecture === platform.architecture &&
      (platform.variant === undefined || d.platform.variant === undefined || d.platform.variant === platform.variant))
    // An index whose entries say nothing about platform (common in single-image OCI layouts).
    ?? (candidates.length === 1 && candidates[0]!.platform === undefined ? candidates[0] : undefined);
}

/** Throws unless config describes a Linux image whose diff ids line up with the manifest's layers. */
export function checkConfig(config: ImageConfig, manifest: Manifest, what: string): void {
  if (config.rootfs?.type !== 'layers' || !Array.isArray(config.rootfs.diff_ids)) {
    throw new Error(`${what}: image config has no rootfs.diff_ids`);
  }
  if (config.rootfs.diff_ids.length !== manifest.layers.length) {
    throw new Error(`${what}: manifest lists ${manifest.layers.length} layers but the config has ${config.rootfs.diff_ids.length} diff ids`);
  }
  if (config.os && config.os !== 'linux') throw new Error(`${what}: image is for os "${config.os}", not linux`);
}
