// Runtime handlers (RuntimeClass.handler → OCI runtime binary and its global flags). `runc` is the
// default handler; `runsc` is gVisor from Debian's runsc package, offered only when installed.
// https://kubernetes.io/docs/concepts/containers/runtime-class/
import { accessSync, constants } from 'node:fs';
import { basename } from 'node:path';
import { Code, CriError } from '../cri/errors.ts';

export interface HandlerConfig {
  /** Path of the OCI runtime binary (runc-compatible CLI). */
  binary: string;
  /** Global flags given to every invocation of the binary, before its subcommand (e.g. runsc's --platform). */
  args?: string[];
}

export type HandlerMap = Record<string, HandlerConfig>;

export interface ResolvedHandler {
  name: string;
  binary: string;
  args: string[];
}

export const DEFAULT_HANDLER = 'runc';

/**
 * gVisor's network flag. Its own network stack (--network=sandbox) copies the pod's interfaces,
 * but runsc 20221219 (Debian's) refuses any namespace where /proc/sys/net/core/rmem_default exists,
 * taking it for the host's; kernels since 6.x show that file in every network namespace, so the
 * check always fails there ("cannot run with network enabled in root network namespace").
 * --network=host keeps the sandbox in the pod's network namespace but passes socket calls to the
 * host kernel (gVisor's hostinet): the pod's network is isolated, its syscalls still go to gVisor.
 */
export const RUNSC_DEFAULT_ARGS = ['--network=host'];

export function defaultHandlers(): HandlerMap {
  return {
    runc: { binary: '/usr/sbin/runc' },
    runsc: { binary: '/usr/bin/runsc', args: [...RUNSC_DEFAULT_ARGS] }, // Debian's runsc package (gVisor)
  };
}

/** Whether the handler's binary is gVisor's runsc (which needs a few spec adjustments). */
export function isGvisor(binary: string): boolean {
  return basename(binary) === 'runsc';
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The handler a RunPodSandbox asks for ('' means the default), or a clear error. */
export function resolveHandler(handlers: HandlerMap, name: string): ResolvedHandler {
  const handlerName = name || DEFAULT_HANDLER;
  const h = handlers[handlerName];
  if (!h) {
    throw new CriError(Code.INVALID_ARGUMENT,
      `runtime handler "${handlerName}" is not configured (configured: ${Object.keys(handlers).join(', ')})`);
  }
  if (!isExecutable(h.binary)) {
    throw new CriError(Code.FAILED_PRECONDITION, isGvisor(h.binary)
      ? `runtime handler "${handlerName}" (gVisor) is not installed: ${h.binary} does not exist or is not executable; ` +
        'install Debian\'s runsc package (apt-get install runsc) or use the runc handler'
      : `runtime handler "${handlerName}": ${h.binary} does not exist or is not executable`);
  }
  return { name: handlerName, binary: h.binary, args: h.args ?? [] };
}

/** Handlers whose binary is present (what Status reports). */
export function availableHandlers(handlers: HandlerMap): string[] {
  return Object.entries(handlers).filter(([, h]) => isExecutable(h.binary)).map(([n]) => n);
}

/**
 * `--runtime-handlers` text as a HandlerMap: comma-separated `NAME=BINARY [FLAG...]`, flags
 * separated by spaces, e.g. `runc=/usr/sbin/runc,runsc=/usr/bin/runsc --network=host --platform=ptrace`.
 */
export function parseHandlers(text: string): HandlerMap {
  const out: HandlerMap = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const i = part.indexOf('=');
    const [binary, ...args] = part.slice(i + 1).trim().split(/\s+/).filter(Boolean);
    if (i <= 0 || !binary) throw new Error(`runtime handler "${part}" must be NAME=/path/to/binary [--flag ...]`);
    const name = part.slice(0, i).trim();
    if (out[name]) throw new Error(`runtime handler "${name}" is given twice`);
    out[name] = args.length ? { binary, args } : { binary };
  }
  return out;
}

/** The inverse of parseHandlers (for a flag's default). */
export function formatHandlers(handlers: HandlerMap): string {
  return Object.entries(handlers).map(([n, h]) => [`${n}=${h.binary}`, ...(h.args ?? [])].join(' ')).join(',');
}
