// The CRI side of streaming: validating Exec/Attach/PortForward requests the way kubelet's
// streaming library and containerd do before handing out a URL, and running the streams
// against the runtime's containers and sandboxes once a client connects.
import { Code, CriError } from '../../cri/errors.ts';
import type { DeepPartial, ExecRequest, PortForwardRequest } from '../../cri/types.ts';
import type { ContainerContext } from '../containers.ts';
import type { ContainerRecord, SandboxRecord } from '../state.ts';
import { attachContainer } from './attach.ts';
import { execInContainer } from './exec.ts';
import { netnsDialer } from './port-forward.ts';
import type { StreamingBackend } from './server.ts';

/** kubelet's validateExecRequest / validateAttachRequest. */
export function validateStreamRequest(rpc: 'Exec' | 'Attach', req: { tty?: boolean | null; stdin?: boolean | null; stdout?: boolean | null; stderr?: boolean | null }): void {
  if (req.tty && req.stderr) {
    // A terminal merges stdout and stderr, so there is no separate stderr stream to give.
    throw new CriError(Code.INVALID_ARGUMENT, `${rpc}: tty and stderr cannot both be true`);
  }
  if (!req.stdin && !req.stdout && !req.stderr) {
    throw new CriError(Code.INVALID_ARGUMENT, `${rpc}: one of stdin, stdout, or stderr must be set`);
  }
}

export function validateExec(req: DeepPartial<ExecRequest>): void {
  if (!req.cmd?.length) throw new CriError(Code.INVALID_ARGUMENT, 'Exec: cmd is required');
  validateStreamRequest('Exec', req);
}

export function validatePortForward(req: DeepPartial<PortForwardRequest>): void {
  const bad = (req.port ?? []).find((p) => !(Number.isInteger(Number(p)) && Number(p) > 0 && Number(p) <= 65535));
  if (bad !== undefined) throw new CriError(Code.INVALID_ARGUMENT, `PortForward: invalid port ${bad}: ports must be 1-65535`);
}

export function mustBeRunning(rpc: string, c: ContainerRecord): void {
  if (c.state !== 'CONTAINER_RUNNING') {
    throw new CriError(Code.FAILED_PRECONDITION, `${rpc}: container ${c.id} is ${c.state}, not running`);
  }
}

export interface StreamingState {
  ctx: ContainerContext;
  containers: ReadonlyMap<string, ContainerRecord>;
  sandboxes: ReadonlyMap<string, SandboxRecord>;
}

/** Streams against the runtime's live records (by full id: the RPC resolved any prefix). */
export function streamingBackend(state: StreamingState): StreamingBackend {
  const running = (id: string | null | undefined) => {
    const c = state.containers.get(id ?? '');
    if (!c) throw new Error(`container "${id}" not found`);
    if (c.state !== 'CONTAINER_RUNNING') throw new Error(`container ${c.id} is ${c.state}, not running`);
    const s = state.sandboxes.get(c.sandboxId);
    if (!s) throw new Error(`container ${c.id}'s pod sandbox ${c.sandboxId} is gone`);
    return { c, s };
  };
  return {
    exec: async (req, io) => {
      const { c, s } = running(req.container_id);
      await execInContainer({ containerId: c.id, stateDir: state.ctx.store.containerDir(c.id), oci: state.ctx.ociFor(s) }, req.cmd ?? [], io);
    },
    attach: async (req, io) => {
      const { c } = running(req.container_id);
      await attachContainer({
        containerId: c.id, socketDir: state.ctx.socketDir, bundleDir: state.ctx.store.containerDir(c.id),
        containerStdin: !!c.config.stdin,
      }, io);
    },
    portForward: (podSandboxId) => {
      const s = state.sandboxes.get(podSandboxId);
      if (!s) throw new Error(`pod sandbox "${podSandboxId}" not found`);
      // A host-network pod has no netns of its own (netnsPath ''): its ports are the host's.
      return { dial: netnsDialer(s.netnsPath), describe: s.id };
    },
  };
}

