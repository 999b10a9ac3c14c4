// The built-in definitions, generated once from kubernetes-types into
// generated/definitions-<version>.json and read from there afterwards.
// The cache also records a hash of the generator's sources, so editing the
// generator or its hand tables regenerates it.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Schema } from './types.ts';
import { generateDefinitions, kubernetesTypesDir } from './generate.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const GENERATOR_SOURCES = ['generate.ts', 'patch-meta.ts', 'special-types.ts'];
export const GENERATED_DIR = path.resolve(HERE, '../../../generated');

interface CacheFile {
  kubernetesTypes: string;
  generator: string;
  definitions: Record<string, Schema>;
}

let loaded: Record<string, Schema> | undefined;

/**
 * All built-in definitions by OpenAPI name. The same object is returned on
 * every call: treat it as read-only (structuredClone before changing a schema).
 */
export function loadDefinitions(): Record<string, Schema> {
  loaded ??= readOrGenerate();
  return loaded;
}

export function cacheFilePath(): string {
  return path.join(GENERATED_DIR, `definitions-${kubernetesTypesVersion()}.json`);
}

function kubernetesTypesVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(kubernetesTypesDir(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

function generatorHash(): string {
  const hash = createHash('sha256');
  for (const file of GENERATOR_SOURCES) hash.update(readFileSync(path.join(HERE, file)));
  return hash.digest('hex').slice(0, 16);
}

function readOrGenerate(): Record<string, Schema> {
  const file = cacheFilePath();
  const version = kubernetesTypesVersion();
  const generator = generatorHash();
  const cached = readCache(file);
  if (cached && cached.kubernetesTypes === version && cached.generator === generator) return cached.definitions;

  const definitions = generateDefinitions();
  const body: CacheFile = { kubernetesTypes: version, generator, definitions };
  mkdirSync(path.dirname(file), { recursive: true });
  // Write-then-rename so a concurrent reader never sees half a file.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(body));
  renameSync(tmp, file);
  return definitions;
}

function readCache(file: string): CacheFile | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as CacheFile;
  } catch {
    return undefined; // a corrupt cache is regenerated
  }
}
