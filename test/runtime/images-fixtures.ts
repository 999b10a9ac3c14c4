// Test fixtures for the image service: OCI image layouts built from the built-in busybox image
// and hand-written layers, and small process helpers.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { ImageStore } from '../../src/runtime/images/index.ts';
import { waitFor as sharedWaitFor } from '../helpers/wait.ts';

export const exec = promisify(execFile);

export function digestOf(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export interface LayoutImage {
  /** Tar bytes of each layer, bottom first. */
  layers: Buffer[];
  /** Gzip these layers (by index). */
  gzip?: number[];
  architecture?: string;
  config?: Record<string, unknown>;
}

interface Desc { mediaType: string; digest: string; size: number; platform?: object; annotations?: Record<string, string> }

/** Writes blobs for one image into an OCI layout dir; returns its manifest descriptor. */
async function writeImage(dir: string, image: LayoutImage): Promise<Desc> {
  const put = async (data: Buffer): Promise<string> => {
    const digest = digestOf(data);
    await writeFile(join(dir, 'blobs', 'sha256', digest.slice(7)), data);
    return digest;
  };
  const layers: Desc[] = [];
  const diffIds: string[] = [];
  for (const [i, tar] of image.layers.entries()) {
    diffIds.push(digestOf(tar));
    const gz = image.gzip?.includes(i) ?? false;
    const blob = gz ? gzipSync(tar) : tar;
    layers.push({ mediaType: `application/vnd.oci.image.layer.v1.tar${gz ? '+gzip' : ''}`, digest: await put(blob), size: blob.length });
  }
  const architecture = image.architecture ?? 'amd64';
  const config = Buffer.from(JSON.stringify({
    architecture, os: 'linux', config: image.config ?? { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: diffIds },
  }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: await put(config), size: config.length },
    layers,
  }));
  return {
    mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: await put(manifest), size: manifest.length,
    platform: { os: 'linux', architecture },
  };
}

/**
 * Writes an OCI image layout: each tag names one image, or an index of several (a multi-arch
 * image) when given a list.
 */
export async function writeOciLayout(dir: string, tags: Record<string, LayoutImage | LayoutImage[]>): Promise<Record<string, string>> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const manifests: Desc[] = [];
  const digests: Record<string, string> = {};
  for (const [tag, image] of Object.entries(tags)) {
    let desc: Desc;
    if (Array.isArray(image)) {
      const entries: Desc[] = [];
      for (const one of image) entries.push(await writeImage(dir, one));
      const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: entries }));
      const digest = digestOf(index);
      await writeFile(join(dir, 'blobs', 'sha256', digest.slice(7)), index);
      desc = { mediaType: 'application/vnd.oci.image.index.v1+json', digest, size: index.length };
    } else {
      desc = await writeImage(dir, image);
      delete desc.platform;
    }
    digests[tag] = desc.digest;
    manifests.push({ ...desc, annotations: { 'org.opencontainers.image.ref.name': tag } });
  }
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
  return digests;
}

/** The built-in busybox image's layer tar, read back from the store. */
export async function busyboxLayer(store: ImageStore): Promise<Buffer> {
  const image = store.status('skiff.local/busybox:latest');
  if (!image) throw new Error('built-in image missing');
  return store.blobs.read(image.layers[0]!.digest);
}

export { freePort } from '../helpers/wait.ts';

export async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  await sharedWaitFor(what, check, timeoutMs, 100);
}
