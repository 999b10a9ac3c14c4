// The built-in image skiff.local/busybox:latest, made on the spot from the host's static busybox
// (Debian's busybox-static), so pods run without any registry. Deterministic: fixed owners and
// mtimes, sorted entries, an uncompressed layer, and a config without timestamps, so the same
// busybox binary always gives the same image digest.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { sha256Digest } from './blobs.ts';
import { hostPlatform, MEDIA, type ImageConfig, type Manifest } from './manifest.ts';
import { writeTar, type TarWriteEntry } from './tar.ts';

const run = promisify(execFile);

export const BUILTIN_IMAGE = 'skiff.local/busybox:latest';
export const BUSYBOX_PATH = '/bin/busybox';
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface BuiltImage {
  manifest: Buffer;
  config: Buffer;
  layers: Buffer[];
}

/** Builds the image's blobs (not stored; ImageStore.ensureBuiltin stores and tags them). */
export async function buildBusyboxImage(busybox = BUSYBOX_PATH): Promise<BuiltImage> {
  const binary = await readFile(busybox).catch((err: Error) => {
    throw new Error(`the built-in image needs a static busybox at ${busybox} (Debian package busybox-static): ${err.message}`);
  });
  const { stdout } = await run(busybox, ['--list']);
  const applets = [...new Set(stdout.split('\n').map((s) => s.trim()).filter((s) => /^[\w.[\]-]+$/.test(s) && s !== 'busybox'))];

  const entries: TarWriteEntry[] = [
    { name: 'bin/', type: 'directory' },
    { name: 'bin/busybox', mode: 0o755, data: binary },
    ...applets.map((a): TarWriteEntry => ({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox', mode: 0o777 })),
    { name: 'dev/', type: 'directory' },
    { name: 'etc/', type: 'directory' },
    { name: 'etc/passwd', data: Buffer.from('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n') },
    { name: 'etc/group', data: Buffer.from('root:x:0:\nnogroup:x:65534:\n') },
    { name: 'proc/', type: 'directory' },
    { name: 'root/', type: 'directory', mode: 0o700 },
    { name: 'sys/', type: 'directory' },
    { name: 'tmp/', type: 'directory', mode: 0o1777 },
    { name: 'var/', type: 'directory' },
    { name: 'var/www/', type: 'directory' },
  ];
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const layer = writeTar(entries);
  const layerDigest = sha256Digest(layer);

  const platform = hostPlatform();
  const imageConfig: ImageConfig = {
    architecture: platform.architecture,
    os: platform.os,
    config: { Env: [PATH_ENV], Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: [layerDigest] },
  };
  const config = Buffer.from(JSON.stringify(imageConfig));
  const manifestDoc: Manifest = {
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: { mediaType: MEDIA.ociConfig, digest: sha256Digest(config), size: config.length },
    layers: [{ mediaType: MEDIA.ociLayer, digest: layerDigest, size: layer.length }],
  };
  return { manifest: Buffer.from(JSON.stringify(manifestDoc)), config, layers: [layer] };
}
