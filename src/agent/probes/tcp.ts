// tcpSocket probes: success when a TCP connection opens within the timeout, then it is closed
// at once (kubelet's pkg/probe/tcp).
// https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/#define-a-tcp-liveness-probe
import { connect } from 'node:net';
import { dialErrorText, joinHostPort, type ProbeOutcome } from './outcome.ts';

export function tcpProbe(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, signal });
    socket.unref(); // probing never keeps the process alive
    const finish = (outcome: ProbeOutcome) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ result: 'failure', output: `dial tcp ${joinHostPort(host, port)}: i/o timeout` }), timeoutMs);
    timer.unref();
    socket.once('connect', () => finish({ result: 'success', output: '' }));
    socket.once('error', (err) => finish({ result: 'failure', output: dialErrorText(host, port, err) }));
  });
}
