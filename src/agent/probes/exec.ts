// exec probes: the command runs in the container through CRI ExecSync with the probe's timeout;
// exit code 0 is success, any other a failure whose output (stdout then stderr) the Event shows.
// A timed-out command is a failure; any other CRI error means the probe could not run.
// https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/#define-a-liveness-command
import type { EnvVar } from 'kubernetes-types/core/v1.d.ts';
import type { CriClient } from '../../cri/client.ts';
import { Code, isCriError } from '../../cri/errors.ts';
import { goQuote, grpcErrorText, MAX_OUTPUT_BYTES, ProbeError, type ProbeOutcome } from './outcome.ts';

export async function execProbe(
  cri: CriClient, containerId: string, command: string[], timeoutSeconds: number, signal?: AbortSignal,
): Promise<ProbeOutcome> {
  try {
    const res = await cri.execSync({ container_id: containerId, cmd: command, timeout: timeoutSeconds }, { signal });
    const output = Buffer.concat([res.stdout ?? Buffer.alloc(0), res.stderr ?? Buffer.alloc(0)])
      .subarray(0, MAX_OUTPUT_BYTES).toString('utf8');
    return { result: res.exit_code === 0 ? 'success' : 'failure', output };
  } catch (err) {
    // kubelet's remote runtime turns DeadlineExceeded into a timed-out command.
    if (isCriError(err, Code.DEADLINE_EXCEEDED)) return { result: 'failure', output: `command ${goQuote(command.join(' '))} timed out` };
    if (isCriError(err)) throw new ProbeError(grpcErrorText(err.code, err.message));
    throw err;
  }
}

/**
 * $(VAR) references in an exec probe's command, expanded with the container's env entries that
 * have a literal value (kubelet's ExpandContainerCommandOnlyStatic): unknown references stay as
 * written and $$ escapes a dollar.
 */
export function expandStaticEnv(command: string[], env: EnvVar[] = []): string[] {
  const values = new Map<string, string>();
  for (const e of env) if (e.valueFrom === undefined) values.set(e.name, e.value ?? '');
  return command.map((arg) => arg.replace(/\$\$|\$\(([^)]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && values.has(name) ? values.get(name)! : match;
  }));
}
