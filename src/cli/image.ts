// `skiff image ls|import|rm`: the images of a runtime root (the store `skiff runtime --root` uses),
// worked on directly on disk, so a node with no registry (air-gapped) can be given images.
// While a `skiff runtime` serves the same root, it owns the image index: `rm` then goes through
// its CRI RemoveImage, and `import` is refused (the daemon would not see it, and would overwrite
// it on its next save) with what to do instead.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createCriClient } from '../cri/client.ts';
import { ImageStore, type ImageRecord } from '../runtime/images/index.ts';
import { DEFAULT_ROOT } from '../runtime/main.ts';
import { CliError } from './errors.ts';
import { parseFlags, type FlagSpec } from './flags.ts';

const FLAGS = {
  root: { type: 'string', default: DEFAULT_ROOT, help: 'the runtime root whose images to work on (skiff runtime --root)' },
  'runtime-endpoint': {
    type: 'string', default: 'unix:///run/skiff/cri.sock',
    help: 'CRI endpoint of a skiff runtime that may be serving the same root',
  },
  quiet: { type: 'boolean', default: false, help: 'ls: print image ids only' },
} as const;

const USAGE = `Usage: skiff image <command> [flags]

Commands:
  ls                 list images (IMAGE, TAG, IMAGE ID, SIZE)
  import FILE...     import OCI image layout or docker save tarballs (.tar, .tar.gz)
  rm NAME|ID...      remove images by name, image id or a unique id prefix

Archives placed in <root>/images/import/ are imported each time skiff runtime starts.
Run 'skiff image <command> --help' for the flags.`;

export async function runImage(args: string[]): Promise<void> {
  const [command, ...rest] = args;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return;
  }
  const { flags, positionals } = splitArgs(rest, FLAGS);
  const summaries: Record<string, string> = {
    ls: 'Lists the images of a runtime root.', list: 'Lists the images of a runtime root.',
    import: 'Imports image archives (OCI layout or docker save) into a runtime root.',
    rm: 'Removes images from a runtime root.', rmi: 'Removes images from a runtime root.',
  };
  if (!summaries[command]) throw new CliError(`unknown image command "${command}"\n\n${USAGE}`);
  const f = parseFlags(`image ${command}`, summaries[command]!, FLAGS, flags);
  const root = resolve(f.root);
  switch (command) {
    case 'ls': case 'list':
      if (positionals.length) throw new CliError(`image ls takes no arguments, got "${positionals.join(' ')}"`);
      console.log(f.quiet ? openStore(root).list().map((i) => i.id).join('\n') : imageTable(openStore(root).list()));
      return;
    case 'import':
      if (!positionals.length) throw new CliError('image import needs at least one FILE (an OCI layout or docker save tarball)');
      await importImages(root, f['runtime-endpoint'], positionals);
      return;
    default:
      if (!positionals.length) throw new CliError('image rm needs at least one image name or id');
      await removeImages(root, f['runtime-endpoint'], positionals);
  }
}

/** Flags (with their values) apart from positional arguments, for parseFlags. */
function splitArgs(args: string[], specs: Record<string, FlagSpec>): { flags: string[]; positionals: string[] } {
  const flags: string[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') { positionals.push(...args.slice(i + 1)); break; }
    if (!a.startsWith('-') || a === '-') { positionals.push(a); continue; }
    flags.push(a);
    const name = a.replace(/^--?/, '');
    if (!name.includes('=') && specs[name]?.type === 'string' && i + 1 < args.length) flags.push(args[++i]!);
  }
  return { flags, positionals };
}

function openStore(root: string): ImageStore {
  try {
    return new ImageStore(root);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

/** crictl images' table: one row per tag (or per digest name of an untagged image). */
export function imageTable(images: ImageRecord[]): string {
  const rows = [['IMAGE', 'TAG', 'IMAGE ID', 'SIZE']];
  const sorted = [...images].sort((a, b) => (a.repoTags[0] ?? a.repoDigests[0] ?? '~').localeCompare(b.repoTags[0] ?? b.repoDigests[0] ?? '~'));
  for (const image of sorted) {
    const id = image.id.replace(/^sha256:/, '').slice(0, 13);
    const size = humanSize(image.size);
    if (image.repoTags.length) {
      for (const t of image.repoTags) {
        const [repo, tag] = splitTag(t);
        rows.push([repo, tag, id, size]);
      }
    } else {
      const repo = image.repoDigests[0]?.split('@')[0] ?? '<none>';
      rows.push([repo, '<none>', id, size]);
    }
  }
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  return rows.map((r) => r.map((cell, col) => col === r.length - 1 ? cell : cell.padEnd(widths[col]! + 3)).join('')).join('\n');
}

function splitTag(name: string): [string, string] {
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? [name.slice(0, colon), name.slice(colon + 1)] : [name, '<none>'];
}

/** Decimal units with 3 significant digits, as crictl (go-units HumanSize) prints them: 4.27MB, 740kB. */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let i = 0;
  while (value >= 1000 && i < units.length - 1) {
    value /= 1000;
    i++;
  }
  return `${Number(value.toPrecision(3))}${units[i]}`;
}

/** The root a skiff runtime at endpoint serves, or undefined when none answers there. */
async function daemonRoot(endpoint: string): Promise<string | undefined> {
  const path = endpoint.replace(/^unix:\/\//, '');
  if (endpoint.startsWith('unix://') && !existsSync(path)) return undefined;
  const client = createCriClient(endpoint, { timeoutMs: 3000 });
  try {
    const status = await client.status({ verbose: true });
    const config = JSON.parse(status.info?.config ?? '{}') as { root?: string };
    return config.root ? resolve(config.root) : undefined;
  } catch {
    return undefined; // nothing (or not a skiff runtime) listens there: the root is ours alone
  } finally {
    client.close();
  }
}

async function importImages(root: string, endpoint: string, files: string[]): Promise<void> {
  if (await daemonRoot(endpoint) === root) {
    throw new CliError(`skiff runtime at ${endpoint} is serving ${root}: stop it before importing, ` +
      `or copy the archives into ${resolve(root, 'images', 'import')}/ and restart it (they are imported on start)`);
  }
  const store = openStore(root);
  for (const file of files) {
    if (!existsSync(file)) throw new CliError(`${file}: no such file`);
    let images: ImageRecord[];
    try {
      images = await store.importTar(resolve(file));
    } catch (err) {
      throw new CliError(`importing ${file}: ${(err as Error).message}`);
    }
    if (!images.length) throw new CliError(`${file} holds no image`);
    for (const image of images) {
      const names = image.repoTags.length ? image.repoTags.join(', ') : '<none>';
      console.log(`Imported ${names} (${image.id.replace(/^sha256:/, '').slice(0, 13)}, ${humanSize(image.size)})`);
    }
  }
}

/** A name, full id, or unique id prefix (at least 4 hex digits) → the image. */
function findImage(images: ImageRecord[], store: ImageStore, ref: string): ImageRecord {
  const exact = store.status(ref);
  if (exact) return exact;
  const hex = ref.replace(/^sha256:/, '');
  if (/^[a-f0-9]{4,64}$/.test(hex)) {
    const matches = images.filter((i) => i.id.startsWith(`sha256:${hex}`));
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) throw new CliError(`image id prefix "${ref}" is ambiguous (${matches.length} images)`);
  }
  throw new CliError(`image "${ref}" not found`);
}

async function removeImages(root: string, endpoint: string, refs: string[]): Promise<void> {
  const store = openStore(root);
  const images = store.list();
  const targets = refs.map((ref) => ({ ref, image: findImage(images, store, ref) }));
  const viaDaemon = await daemonRoot(endpoint) === root;
  const client = viaDaemon ? createCriClient(endpoint, { timeoutMs: 60_000 }) : undefined;
  try {
    for (const { ref, image } of targets) {
      if (client) await client.removeImage({ image: { image: image.id } });
      else await store.remove(image.id);
      console.log(`Deleted: ${ref}`);
    }
  } finally {
    client?.close();
  }
}
