// `skiff runtime`: the CRI container runtime (runc + conmon) on a unix socket for kubelet.
import { DEFAULT_CNI_BIN_DIRS, DEFAULT_CNI_CONF_DIR } from '../runtime/cni.ts';
import { defaultHandlers, formatHandlers } from '../runtime/handlers.ts';
import { DEFAULT_ROOT, parseHandlers, runtimeMain } from '../runtime/main.ts';
import { DEFAULT_STREAM_ADDRESS, parseStreamAddress } from '../runtime/streaming/server.ts';
import { CliError } from './errors.ts';
import { parseFlags } from './flags.ts';

export const RUNTIME_FLAGS = {
  root: { type: 'string', default: DEFAULT_ROOT, help: 'where images, containers and sandbox state live' },
  listen: { type: 'string', default: 'unix:///run/skiff/cri.sock', help: 'CRI endpoint to serve (kubelet --container-runtime-endpoint)' },
  'cni-conf-dir': { type: 'string', default: DEFAULT_CNI_CONF_DIR, help: 'CNI network configs (the lexically first one is used)' },
  'cni-bin-dir': { type: 'string', default: DEFAULT_CNI_BIN_DIRS.join(':'), help: 'CNI plugin directories, colon-separated' },
  'runtime-handlers': {
    type: 'string',
    default: formatHandlers(defaultHandlers()),
    help: 'RuntimeClass handlers as NAME=/path/to/oci-runtime followed by its global flags (space-separated), comma-separated',
  },
  'stream-address': {
    type: 'string', default: DEFAULT_STREAM_ADDRESS,
    help: 'HOST:PORT of the HTTP server for Exec/Attach/PortForward streams (port 0 = any free one; keep it on loopback)',
  },
} as const;

export async function runRuntime(args: string[]): Promise<void> {
  const f = parseFlags('runtime', 'Runs the Skiff CRI container runtime (runc under conmon).', RUNTIME_FLAGS, args);
  let handlers;
  try {
    handlers = parseHandlers(f['runtime-handlers']);
  } catch (err) {
    throw new CliError(`--runtime-handlers: ${(err as Error).message}`);
  }
  try {
    parseStreamAddress(f['stream-address']);
  } catch (err) {
    throw new CliError(`--stream-address: ${(err as Error).message}`);
  }
  const daemon = await runtimeMain({
    root: f.root, listen: f.listen, cniConfDir: f['cni-conf-dir'], cniBinDirs: f['cni-bin-dir'].split(':').filter(Boolean), handlers,
    streamAddress: f['stream-address'],
  });
  console.log(`skiff: CRI runtime listening on ${daemon.server.endpoint} (root ${f.root})`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    // Containers keep running under their conmon; a restarted runtime picks them up.
    console.log(`skiff: ${signal}: stopping the runtime (containers keep running)`);
    await daemon.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
