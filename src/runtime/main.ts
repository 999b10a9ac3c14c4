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
  /** host:port of the Exec/Attach/PortForward streaming server; default 127.0.0.1:0. */
  streamAddress?: string;
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
    streamAddress: o.streamAddress,
  });
  await runtime.start();
  const server = await serveCri(o.listen, { ...runtime.handlers(), ...imageServiceHandlers(images) }, { log });
  return { runtime, server, close: async () => { await server.close(); await runtime.stop(); } };
}

// --runtime-handlers' syntax lives with the handlers.
export { parseHandlers } from './handlers.ts';

export const DEFAULT_ROOT = join('/var/lib/skiff', 'runtime');
