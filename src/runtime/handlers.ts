// Runtime handlers (RuntimeClass.handler → OCI runtime binary). `runc` is the default handler;
// `runsc` (gVisor) is offered only when its binary is installed — Debian bookworm does not
// package it, so a pod asking for it fails with a message saying so.
// https://kubernetes.io/docs/concepts/containers/runtime-class/
import { accessSync, constants } from 'node:fs';
import { Code, CriError } from '../cri/errors.ts';

export interface HandlerConfig {
  /** Path of the OCI runtime binary (runc-compatible CLI). */
  binary: string;
}

export type HandlerMap = Record<string, HandlerConfig>;

export const DEFAULT_HANDLER = 'runc';

export function defaultHandlers(): HandlerMap {
  return {
    runc: { binary: '/usr/sbin/runc' },
    runsc: { binary: '/usr/local/bin/runsc' },
  };
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
export function resolveHandler(handlers: HandlerMap, name: string): { name: string; binary: string } {
  const handlerName = name || DEFAULT_HANDLER;
  const h = handlers[handlerName];
  if (!h) {
    throw new CriError(Code.INVALID_ARGUMENT,
      `runtime handler "${handlerName}" is not configured (configured: ${Object.keys(handlers).join(', ')})`);
  }
  if (!isExecutable(h.binary)) {
    throw new CriError(Code.FAILED_PRECONDITION, handlerName === 'runsc'
      ? `runtime handler "runsc" (gVisor) is not installed: ${h.binary} does not exist or is not executable; ` +
        'gVisor is not packaged in Debian, install runsc from gvisor.dev or use the runc handler'
      : `runtime handler "${handlerName}": ${h.binary} does not exist or is not executable`);
  }
  return { name: handlerName, binary: h.binary };
}

/** Handlers whose binary is present (what Status reports). */
export function availableHandlers(handlers: HandlerMap): string[] {
  return Object.entries(handlers).filter(([, h]) => isExecutable(h.binary)).map(([n]) => n);
}
