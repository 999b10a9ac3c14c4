// `skiff runtime`: the CRI runtime daemon — the image store and the Runtime behind one socket.
import { join } from 'node:path';
import { serveCri, type CriServer } from '../cri/server.ts';
import { ImageStore, imageServiceHandlers } from './images/index.ts';
import type { HandlerMap } from './handlers.ts';
import type { ImageSource } from './image-source.ts';
import { Runtime } from './runtime.ts';

export interface RuntimeMainOptions {
  /** State root (e.g. /var/lib/skiff/runtime). */
  root: string;
  /** unix:///run/skiff/cri.sock */
  listen: string;
  cniConfDir?: string;
  cniBinDirs?: string[];
  handlers?: HandlerMap;
  log?: (line: string) => void;
}

export interface RuntimeDaemon {
  runtime: Runtime;
  server: CriServer;
  close(): Promise<void>;
}

export async function runtimeMain(o: RuntimeMainOptions): Promise<RuntimeDaemon> {
  const log = o.log ?? ((line: string) => console.error(line));
  const images = new ImageStore(o.root, { log });
  await images.start();
  // The store's rootfs target is <root>/containers/<id>/rootfs: inside the container's bundle dir.
  const source: ImageSource = images;
  const runtime = new Runtime({
    root: o.root, images: source, handlers: o.handlers, cniConfDir: o.cniConfDir, cniBinDirs: o.cniBinDirs,
  });
  await runtime.start();
  const server = await serveCri(o.listen, { ...runtime.handlers(), ...imageServiceHandlers(images) }, { log });
  return { runtime, server, close: () => server.close() };
}

/** 'runc=/usr/sbin/runc,runsc=/usr/local/bin/runsc' as a HandlerMap. */
export function parseHandlers(text: string): HandlerMap {
  const out: HandlerMap = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const i = part.indexOf('=');
    if (i <= 0 || i === part.length - 1) throw new Error(`runtime handler "${part}" must be NAME=/path/to/binary`);
    out[part.slice(0, i)] = { binary: part.slice(i + 1) };
  }
  return out;
}

export const DEFAULT_ROOT = join('/var/lib/skiff', 'runtime');
