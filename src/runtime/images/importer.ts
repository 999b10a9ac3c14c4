// Imports image archives: OCI image layouts (index.json + blobs/) and `docker save` tarballs
// (manifest.json listing Config/RepoTags/Layers), as `ctr images import` does.
// https://github.com/opencontainers/image-spec/blob/main/image-layout.md
// https://github.com/moby/moby/blob/master/image/spec/v1.2.md (the docker save format)
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { sha256Digest, type BlobStore } from './blobs.ts';
import {
  checkConfig, isIndex, isManifest, MEDIA, selectPlatform,
  type Descriptor, type ImageConfig, type ImageIndex, type Manifest,
} from './manifest.ts';
import { normalizeReference } from './reference.ts';
import { readTar } from './tar.ts';
import { cleanEntryPath } from './unpack.ts';

export interface ImportedImage {
  manifestDigest: string;
  manifest: Manifest;
  config: ImageConfig;
  /** Normalized references to tag the image with. */
  names: string[];
}

export interface ImportOptions {
  /** Repository for OCI-layout entries whose ref.name is only a tag; default skiff.local/<archive name>. */
  baseName?: string;
}

/** An archive unpacked into a scratch dir: regular files stored flat, symlinks resolved by name. */
class ExtractedArchive {
  /** Archive path → local file. Archive paths never become host paths. */
  readonly files = new Map<string, string>();
  /** Archive path → link target (hardlinks as absolute archive paths). */
  readonly links = new Map<string, string>();

  /** Where an archive path's content is (following the archive's own links). */
  resolve(name: string): string | undefined {
    let rel = cleanEntryPath(name);
    for (let hops = 0; hops < 16; hops++) {
      const local = this.files.get(rel);
      if (local !== undefined) return local;
      const target = this.links.get(rel);
      if (target === undefined) return undefined;
      rel = cleanEntryPath(target.startsWith('/') ? target : posix.join(posix.dirname(rel), target));
    }
    return undefined;
  }

  async read(name: string): Promise<Buffer> {
    const path = this.resolve(name);
    if (!path) throw new Error(`archive has no file "${name}"`);
    return readFile(path);
  }
}

async function extract(file: string, dir: string): Promise<ExtractedArchive> {
  const archive = new ExtractedArchive();
  const raw = createReadStream(file);
  const source = (await isGzip(file)) ? raw.pipe(createGunzip()) : raw;
  for await (const entry of readTar(source)) {
    const rel = cleanEntryPath(entry.name);
    if (rel === '') continue;
    if (entry.type === 'symlink') archive.links.set(rel, entry.linkname);
    else if (entry.type === 'link') archive.links.set(rel, `/${entry.linkname}`);
    else if (entry.type === 'file') {
      const local = join(dir, String(archive.files.size));
      await pipeline(entry.body, createWriteStream(local));
      archive.files.set(rel, local);
    }
  }
  return archive;
}

/** Reads an archive into blobs; returns its images (not yet recorded in any index). */
export async function importArchive(file: string, blobs: BlobStore, scratch: string, options: ImportOptions = {}): Promise<ImportedImage[]> {
  const dir = join(scratch, `import-${randomBytes(6).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  try {
    const archive = await extract(file, dir);
    const baseName = options.baseName ?? `skiff.local/${basename(file).replace(/\.(tar|tar\.gz|tgz)$/, '').toLowerCase().replace(/[^a-z0-9._-]/g, '-')}`;
    if (archive.resolve('manifest.json')) return await importDockerSave(archive, blobs, file);
    if (archive.resolve('index.json')) return await importOciLayout(archive, blobs, file, baseName);
    throw new Error(`${file} is neither a docker save archive (manifest.json) nor an OCI image layout (index.json)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface DockerSaveEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

async function importDockerSave(archive: ExtractedArchive, blobs: BlobStore, file: string): Promise<ImportedImage[]> {
  const entries = JSON.parse((await archive.read('manifest.json')).toString('utf8')) as DockerSaveEntry[];
  if (!Array.isArray(entries)) throw new Error(`${file}: manifest.json is not a list`);
  const images: ImportedImage[] = [];
  for (const entry of entries) {
    const configBytes = await archive.read(entry.Config);
    const configDigest = await blobs.put(configBytes);
    const config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
    const layers: Descriptor[] = [];
    for (const name of entry.Layers) {
      const path = archive.resolve(name);
      if (!path) throw new Error(`${file}: layer ${name} listed in manifest.json is missing`);
      const gzip = await isGzip(path);
      const size = (await stat(path)).size;
      // Layers may be listed twice (or share a file through a symlink): copy, don't move.
      const digest = await blobs.putFile(await copyAside(path), undefined, `${file}:${name}`);
      layers.push({ mediaType: gzip ? MEDIA.dockerLayerGzip : MEDIA.dockerLayer, digest, size });
    }
    // docker save has no manifest; make the Docker v2 one a registry would serve.
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: MEDIA.dockerManifest,
      config: { mediaType: MEDIA.dockerConfig, digest: configDigest, size: configBytes.length },
      layers,
    };
    checkConfig(config, manifest, `${file}: ${entry.Config}`);
    const manifestDigest = await blobs.put(Buffer.from(JSON.stringify(manifest)));
    images.push({ manifestDigest, manifest, config, names: (entry.RepoTags ?? []).map(normalizeReference) });
  }
  return images;
}

async function importOciLayout(archive: ExtractedArchive, blobs: BlobStore, file: string, baseName: string): Promise<ImportedImage[]> {
  const blobOf = async (desc: Descriptor): Promise<Buffer> => {
    const name = `blobs/${desc.digest.replace(':', '/')}`;
    const bytes = await archive.read(name);
    if (sha256Digest(bytes) !== desc.digest) throw new Error(`${file}: ${name} does not match its digest`);
    return bytes;
  };
  const index = JSON.parse((await archive.read('index.json')).toString('utf8')) as ImageIndex;
  const images: ImportedImage[] = [];
  for (const top of index.manifests ?? []) {
    let desc = top;
    let doc = JSON.parse((await blobOf(desc)).toString('utf8')) as Manifest & ImageIndex;
    if (isIndex(desc.mediaType ?? doc.mediaType, doc)) {
      const chosen = selectPlatform(doc);
      if (!chosen) throw new Error(`${file}: index ${desc.digest} has no image for this platform`);
      await blobs.put(await blobOf(desc), desc.digest);
      desc = chosen;
      doc = JSON.parse((await blobOf(desc)).toString('utf8')) as Manifest & ImageIndex;
    }
    if (!isManifest(desc.mediaType ?? doc.mediaType, doc)) throw new Error(`${file}: ${desc.digest} is not an image manifest`);
    const manifest: Manifest = doc;
    const configBytes = await blobOf(manifest.config);
    const config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
    checkConfig(config, manifest, `${file}: ${desc.digest}`);
    await blobs.put(configBytes, manifest.config.digest);
    for (const layer of manifest.layers) {
      const path = archive.resolve(`blobs/${layer.digest.replace(':', '/')}`);
      if (!path) throw new Error(`${file}: layer blob ${layer.digest} is missing`);
      await blobs.putFile(await copyAside(path), layer.digest, `${file}: layer ${layer.digest}`);
    }
    await blobs.put(await blobOf(desc), desc.digest);
    images.push({ manifestDigest: desc.digest, manifest, config, names: ociNames(top, baseName) });
  }
  return images;
}

/** containerd's full-name annotation, else ref.name: a full reference, or only a tag for baseName. */
function ociNames(desc: Descriptor, baseName: string): string[] {
  const full = desc.annotations?.['io.containerd.image.name'];
  if (full) return [normalizeReference(full)];
  const refName = desc.annotations?.['org.opencontainers.image.ref.name'];
  if (!refName) return [];
  if (refName.includes('/') || refName.includes(':') || refName.includes('@')) return [normalizeReference(refName)];
  return [normalizeReference(`${baseName}:${refName}`)];
}

async function isGzip(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(2);
    await fh.read(b, 0, 2, 0);
    return b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

async function copyAside(path: string): Promise<string> {
  const copy = `${path}.${randomBytes(4).toString('hex')}`;
  await pipeline(createReadStream(path), createWriteStream(copy));
  return copy;
}
