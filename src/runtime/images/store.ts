// The runtime's image store: content-addressed blobs, an index of images (JSON), layers unpacked
// once per diff id and shared, and per-container overlayfs root filesystems on top of them.
//
// <root>/images/blobs/sha256/<hex>       manifests, configs, layer tarballs (verified on write)
// <root>/images/index.json               images: id (config digest) → manifest, layers, names
// <root>/images/layers/sha256/<hex>      a layer (by diff id) unpacked, ready as an overlay lowerdir
// <root>/images/import/*.tar             archives imported on start
// <root>/containers/<id>/rootfs          the container's mounted rootfs
// <root>/containers/<id>/overlay/        its upperdir, workdir, and which layers it stacks
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BlobStore, hexOf } from './blobs.ts';
import { buildBusyboxImage, BUILTIN_IMAGE } from './builtin.ts';
import { importArchive, type ImportedImage, type ImportOptions } from './importer.ts';
import { checkConfig, type ImageConfig, type ImageConfigBody, type Manifest } from './manifest.ts';
import { isOwnFilesystem, mountOverlay, unmount } from './mounts.ts';
import { InvalidReferenceError, isImageId, parseReference, repositoryOf } from './reference.ts';
import { pullFromRegistry, type RegistryAuth } from './registry.ts';
import { unpackLayer } from './unpack.ts';

export interface LayerRecord {
  /** Digest of the blob as stored (compressed or not). */
  digest: string;
  /** Digest of the uncompressed tar: the unpacked layer's name. */
  diffId: string;
  size: number;
  mediaType: string;
}

/** One image as the index records it. */
export interface ImageRecord {
  /** Image id: the config digest, as containerd and Docker report it. */
  id: string;
  manifestDigest: string;
  /** Other blobs the image keeps (an index it was resolved from). */
  extraBlobs: string[];
  layers: LayerRecord[];
  /** Normalized 'repo:tag' names. */
  repoTags: string[];
  /** 'repo@sha256:…' names. */
  repoDigests: string[];
  /** Bytes of config and layer blobs. */
  size: number;
  config: ImageConfigBody;
  pinned: boolean;
}

export interface RootfsInfo {
  /** Unpacked layer dirs, topmost first (overlayfs lowerdir order). */
  lower: string[];
  upper: string;
  work: string;
  /** Where the rootfs is (to be) mounted: <root>/containers/<id>/rootfs. */
  target: string;
  imageId: string;
}

export interface ImageStoreOptions {
  /** Registry hosts pulled over plain http (loopback ones always are). */
  insecureRegistries?: string[];
  /** The static busybox the built-in image is made from. */
  busybox?: string;
  log?: (line: string) => void;
}

export interface FsUsage {
  mountpoint: string;
  usedBytes: number;
  inodesUsed: number;
}

export class ImageNotFoundError extends Error {
  constructor(ref: string) {
    super(`image "${ref}" not found`);
    this.name = 'ImageNotFoundError';
  }
}

export class ImageStore {
  readonly root: string;
  readonly imagesDir: string;
  readonly blobs: BlobStore;
  private readonly layersDir: string;
  private readonly indexFile: string;
  private readonly options: ImageStoreOptions;
  private images: ImageRecord[];
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly unpacking = new Map<string, Promise<void>>();
  private saving: Promise<void> = Promise.resolve();

  constructor(root: string, options: ImageStoreOptions = {}) {
    this.root = root;
    this.options = options;
    this.imagesDir = join(root, 'images');
    this.blobs = new BlobStore(join(this.imagesDir, 'blobs'));
    this.layersDir = join(this.imagesDir, 'layers', 'sha256');
    this.indexFile = join(this.imagesDir, 'index.json');
    this.images = [];
    if (existsSync(this.indexFile)) {
      try {
        this.images = (JSON.parse(readFileSync(this.indexFile, 'utf8')) as { images: ImageRecord[] }).images;
      } catch (err) {
        throw new Error(`image index ${this.indexFile} is unreadable: ${(err as Error).message}`);
      }
    }
  }

  /** On runtime start: the built-in image, then every archive in <root>/images/import/. */
  async start(): Promise<void> {
    await this.ensureBuiltin();
    const dir = join(this.imagesDir, 'import');
    await mkdir(dir, { recursive: true });
    for (const name of (await readdir(dir)).filter((n) => /\.(tar|tar\.gz|tgz)$/.test(n)).sort()) {
      try {
        await this.importTar(join(dir, name));
      } catch (err) {
        (this.options.log ?? console.error)(`skiff images: importing ${join(dir, name)} failed: ${(err as Error).message}`);
      }
    }
  }

  /** Makes (or re-tags) skiff.local/busybox:latest from the host's busybox. */
  async ensureBuiltin(): Promise<void> {
    const built = await buildBusyboxImage(this.options.busybox);
    const [layer] = built.layers;
    const layerDigest = await this.blobs.put(layer!);
    await this.blobs.put(built.config);
    const manifestDigest = await this.blobs.put(built.manifest);
    const manifest = JSON.parse(built.manifest.toString('utf8')) as Manifest;
    const config = JSON.parse(built.config.toString('utf8')) as ImageConfig;
    if (manifest.layers[0]!.digest !== layerDigest) throw new Error('built-in image: layer digest mismatch');
    await this.register({ manifestDigest, manifest, config, names: [BUILTIN_IMAGE] }, [], true);
  }

  list(filter?: string): ImageRecord[] {
    if (filter === undefined || filter === '') return [...this.images];
    const found = this.resolve(filter);
    return found ? [found] : [];
  }

  /** The image a reference (name, name@digest, or image id) points at. */
  status(ref: string): ImageRecord | undefined {
    return this.resolve(ref);
  }

  /** Entrypoint, Cmd, Env, WorkingDir, User, ExposedPorts… of an image. */
  imageConfig(ref: string): ImageConfigBody {
    return this.mustResolve(ref).config;
  }

  async pull(ref: string, auth?: RegistryAuth | null): Promise<ImageRecord> {
    const parsed = parseReference(ref);
    const insecure = new Set(this.options.insecureRegistries ?? []);
    const pulled = await pullFromRegistry(parsed, this.blobs, { auth, insecure: (h) => insecure.has(h), inflight: this.inflight });
    const repo = repositoryOf(parsed);
    const names = [`${repo}@${pulled.resolvedDigest}`];
    if (parsed.tag) names.push(`${repo}:${parsed.tag}`);
    const extra = pulled.resolvedDigest !== pulled.manifestDigest ? [pulled.resolvedDigest] : [];
    return this.register({ ...pulled, names }, extra, false);
  }

  async importTar(file: string, options?: ImportOptions): Promise<ImageRecord[]> {
    await mkdir(join(this.imagesDir, 'tmp'), { recursive: true });
    const imported = await importArchive(file, this.blobs, join(this.imagesDir, 'tmp'), options);
    const out: ImageRecord[] = [];
    for (const image of imported) out.push(await this.register(image, [], false));
    return out;
  }

  /** Forgets an image and deletes the blobs and unpacked layers nothing else uses. */
  async remove(ref: string): Promise<void> {
    const image = this.resolve(ref);
    if (!image) return; // RemoveImage is idempotent in CRI
    this.images = this.images.filter((i) => i !== image);
    await this.save();
    await this.collect(image);
  }

  async fsInfo(): Promise<FsUsage> {
    const usage = { mountpoint: this.imagesDir, usedBytes: 0, inodesUsed: 0 };
    const seen = new Set<number>();
    const walk = async (dir: string): Promise<void> => {
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        const path = join(dir, name);
        const st = await lstat(path).catch(() => undefined);
        if (!st) continue;
        if (!seen.has(st.ino)) {
          seen.add(st.ino);
          usage.inodesUsed++;
          usage.usedBytes += st.blocks * 512;
        }
        if (st.isDirectory()) await walk(path);
      }
    };
    await walk(this.imagesDir);
    return usage;
  }

  /** The overlay a container's rootfs is made of; creates its upper and work dirs. */
  async prepareRootfs(imageRef: string, containerId: string): Promise<RootfsInfo> {
    const info = this.rootfsPaths(containerId);
    const recorded = await readFile(join(info.overlay, 'rootfs.json'), 'utf8').catch(() => undefined);
    if (recorded) return JSON.parse(recorded) as RootfsInfo;
    const image = this.mustResolve(imageRef);
    await this.unpackLayers(image.layers);
    const rootfs: RootfsInfo = {
      lower: image.layers.map((l) => join(this.layersDir, hexOf(l.diffId))).reverse(),
      upper: join(info.overlay, 'upper'),
      work: join(info.overlay, 'work'),
      target: info.target,
      imageId: image.id,
    };
    await mkdir(rootfs.upper, { recursive: true });
    await mkdir(rootfs.work, { recursive: true });
    await mkdir(rootfs.target, { recursive: true });
    // Records the layers this container stacks, so removing its image keeps them.
    await writeFile(join(info.overlay, 'rootfs.json'), JSON.stringify(rootfs));
    return rootfs;
  }

  /** Mounts the container's rootfs (no-op when it already is). */
  async mountRootfs(imageRef: string, containerId: string): Promise<RootfsInfo> {
    const rootfs = await this.prepareRootfs(imageRef, containerId);
    if (await isOwnFilesystem(rootfs.target)) return rootfs;
    const lower = rootfs.lower.map((dir) => dir.slice(this.layersDir.length + 1));
    await mountOverlay({ lower, layersDir: this.layersDir, upper: rootfs.upper, work: rootfs.work, target: rootfs.target });
    return rootfs;
  }

  /** Unmounts the container's rootfs (no-op when it is not mounted). */
  async unmountRootfs(containerId: string): Promise<void> {
    const { target } = this.rootfsPaths(containerId);
    if (await isOwnFilesystem(target)) await unmount(target);
  }

  /** Unmounts and deletes the container's rootfs, upperdir and workdir. */
  async removeRootfs(containerId: string): Promise<void> {
    await this.unmountRootfs(containerId);
    const { target, overlay } = this.rootfsPaths(containerId);
    const recorded = await readFile(join(overlay, 'rootfs.json'), 'utf8').catch(() => undefined);
    await rm(overlay, { recursive: true, force: true });
    await rm(target, { recursive: true, force: true });
    // Layers kept alive only by this container (its image was removed meanwhile) go now.
    if (recorded) await this.collectLayers((JSON.parse(recorded) as RootfsInfo).lower);
  }

  private rootfsPaths(containerId: string): { target: string; overlay: string } {
    if (!/^[\w.-]+$/.test(containerId)) throw new Error(`invalid container id "${containerId}"`);
    const dir = join(this.root, 'containers', containerId);
    return { target: join(dir, 'rootfs'), overlay: join(dir, 'overlay') };
  }

  private resolve(ref: string): ImageRecord | undefined {
    if (isImageId(ref)) {
      const id = ref.startsWith('sha256:') ? ref : `sha256:${ref}`;
      return this.images.find((i) => i.id === id);
    }
    let parsed;
    try {
      parsed = parseReference(ref);
    } catch (err) {
      if (err instanceof InvalidReferenceError) return undefined; // an unparsable name names no image
      throw err;
    }
    const repo = repositoryOf(parsed);
    if (parsed.digest) {
      return this.images.find((i) => i.repoDigests.includes(`${repo}@${parsed.digest}`))
        ?? this.images.find((i) => i.manifestDigest === parsed.digest && i.repoDigests.some((d) => d.startsWith(`${repo}@`)));
    }
    return this.images.find((i) => i.repoTags.includes(`${repo}:${parsed.tag}`));
  }

  private mustResolve(ref: string): ImageRecord {
    const image = this.resolve(ref);
    if (!image) throw new ImageNotFoundError(ref);
    return image;
  }

  /** Records an image whose blobs are stored, unpacks its layers, and moves its names to it. */
  private async register(image: Omit<ImportedImage, 'names'> & { names: string[] }, extraBlobs: string[], pinned: boolean): Promise<ImageRecord> {
    checkConfig(image.config, image.manifest, image.manifestDigest);
    const layers: LayerRecord[] = image.manifest.layers.map((l, i) => ({
      digest: l.digest, diffId: image.config.rootfs.diff_ids[i]!, size: l.size, mediaType: l.mediaType,
    }));
    const id = image.manifest.config.digest;
    const tags = image.names.filter((n) => !n.includes('@'));
    const digests = image.names.filter((n) => n.includes('@'));
    // A tag without a digest name (imports, the built-in image) gets one from the manifest digest.
    for (const name of tags) {
      const repo = repositoryOf(parseReference(name));
      if (!digests.some((d) => d.startsWith(`${repo}@`))) digests.push(`${repo}@${image.manifestDigest}`);
    }
    await this.unpackLayers(layers);
    // From here on no awaits until the index is updated, so concurrent registrations don't race.
    const record: ImageRecord = this.images.find((i) => i.id === id) ?? {
      id, manifestDigest: image.manifestDigest, extraBlobs: [], layers, repoTags: [], repoDigests: [],
      size: image.manifest.config.size + layers.reduce((sum, l) => sum + l.size, 0),
      config: image.config.config ?? {}, pinned,
    };
    record.extraBlobs = [...new Set([...record.extraBlobs, ...extraBlobs])];
    record.pinned ||= pinned;
    const orphans: ImageRecord[] = [];
    for (const other of this.images) {
      if (other === record) continue;
      const kept = other.repoTags.filter((t) => !tags.includes(t));
      if (kept.length === 0 && other.repoTags.length > 0 && !other.pinned) orphans.push(other);
      other.repoTags = kept;
    }
    record.repoTags = [...new Set([...record.repoTags, ...tags])].sort();
    record.repoDigests = [...new Set([...record.repoDigests, ...digests])].sort();
    if (!this.images.includes(record)) this.images.push(record);
    // An image that lost its last tag to this one is dangling: drop it, as containerd's GC would.
    this.images = this.images.filter((i) => !orphans.includes(i));
    await this.save();
    for (const orphan of orphans) await this.collect(orphan);
    return record;
  }

  private async unpackLayers(layers: LayerRecord[]): Promise<void> {
    await mkdir(this.layersDir, { recursive: true });
    for (const layer of layers) {
      const dir = join(this.layersDir, hexOf(layer.diffId));
      let running = this.unpacking.get(dir);
      if (!running) {
        running = (async () => {
          if (existsSync(dir)) return;
          const tmp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
          try {
            await unpackLayer(this.blobs.path(layer.digest), tmp, layer.diffId);
            await rename(tmp, dir);
          } finally {
            await rm(tmp, { recursive: true, force: true });
          }
        })();
        this.unpacking.set(dir, running);
        running.finally(() => this.unpacking.delete(dir)).catch(() => undefined);
      }
      await running;
    }
  }

  /** Deletes an unindexed image's blobs and layers unless another image or a container uses them. */
  private async collect(image: ImageRecord): Promise<void> {
    const usedBlobs = new Set<string>();
    for (const other of this.images) {
      for (const d of [other.id, other.manifestDigest, ...other.extraBlobs, ...other.layers.map((l) => l.digest)]) usedBlobs.add(d);
    }
    for (const d of [image.id, image.manifestDigest, ...image.extraBlobs, ...image.layers.map((l) => l.digest)]) {
      if (!usedBlobs.has(d)) await this.blobs.delete(d);
    }
    await this.collectLayers(image.layers.map((l) => join(this.layersDir, hexOf(l.diffId))));
  }

  /** Deletes those unpacked layer dirs that no image and no container rootfs uses. */
  private async collectLayers(dirs: string[]): Promise<void> {
    const used = new Set<string>();
    for (const other of this.images) for (const l of other.layers) used.add(join(this.layersDir, hexOf(l.diffId)));
    const containers = join(this.root, 'containers');
    for (const id of await readdir(containers).catch(() => [] as string[])) {
      const recorded = await readFile(join(containers, id, 'overlay', 'rootfs.json'), 'utf8').catch(() => undefined);
      if (recorded) for (const dir of (JSON.parse(recorded) as RootfsInfo).lower) used.add(dir);
    }
    for (const dir of dirs) if (!used.has(dir)) await rm(dir, { recursive: true, force: true });
  }

  /** Writes the index atomically; saves are serialized and each writes the latest state. */
  private save(): Promise<void> {
    this.saving = this.saving.catch(() => undefined).then(async () => {
      await mkdir(this.imagesDir, { recursive: true });
      const tmp = `${this.indexFile}.tmp`;
      await writeFile(tmp, JSON.stringify({ images: this.images }, null, 2));
      await rename(tmp, this.indexFile);
    });
    return this.saving;
  }
}
