// Flag parsing shared by the subcommands: node:util parseArgs plus a --help text
// generated from the same table, and one-line errors for bad flags.
import { parseArgs } from 'node:util';
import { CliError } from './errors.ts';
import { parseGoDuration } from '../api/time.ts';

export interface FlagSpec {
  type: 'string' | 'boolean';
  default?: string | boolean;
  help: string;
  multiple?: boolean;
}

export function parseFlags<T extends Record<string, FlagSpec>>(command: string, summary: string, specs: T, args: string[]):
  { [K in keyof T]: T[K]['type'] extends 'boolean' ? boolean : string } {
  const options: Record<string, { type: 'string' | 'boolean'; default?: string | boolean }> = { help: { type: 'boolean' } };
  for (const [name, s] of Object.entries(specs)) options[name] = { type: s.type, ...(s.default !== undefined ? { default: s.default } : {}) };
  let values: Record<string, unknown>;
  try {
    values = parseArgs({ args, options, allowPositionals: false, strict: true }).values;
  } catch (e) {
    throw new CliError(`${(e as Error).message.split('\n')[0]} (see 'skiff ${command} --help')`);
  }
  if (values.help) {
    const lines = Object.entries(specs).map(([name, s]) => {
      const flag = s.type === 'string' ? `--${name} VALUE` : `--${name}`;
      const def = s.default !== undefined && s.default !== '' && s.default !== false ? ` (default ${JSON.stringify(s.default)})` : '';
      return `  ${`${flag} `.padEnd(34)}${s.help}${def}`;
    });
    console.log(`Usage: skiff ${command} [flags]\n\n${summary}\n\nFlags:\n${lines.join('\n')}\n  ${'--help'.padEnd(34)}show this help`);
    process.exit(0);
  }
  return values as { [K in keyof T]: T[K]['type'] extends 'boolean' ? boolean : string };
}

export function intFlag(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new CliError(`--${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  return n;
}

/** A Go-style duration flag ('90s', '5m', '1h30m', '0') in milliseconds. */
export function durationFlag(name: string, value: string): number {
  const ns = parseGoDuration(value);
  if (ns === undefined || ns < 0) throw new CliError(`--${name} must be a duration like 30s, 5m or 1h, got "${value}"`);
  return ns / 1e6;
}
