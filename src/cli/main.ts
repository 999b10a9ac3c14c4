// `skiff <command>`: the one binary of every Skiff component.
import { runServer } from './server.ts';
import { runRuntime } from './runtime.ts';
import { runAgent } from './agent.ts';
import { runImage } from './image.ts';
import { runStore } from './store.ts';
import { runEtcdSnapshot } from './etcd-snapshot.ts';
import { runDown } from './down.ts';
import { runUp } from './up.ts';
import { runKubeconfig } from './kubeconfig.ts';
import { runControllerManager } from './controller-manager.ts';
import { runScheduler } from './scheduler.ts';
import { runHollowNodes } from './hollow-nodes.ts';
import { CliError } from './errors.ts';

const COMMANDS: Record<string, { run: (args: string[]) => Promise<void>; help: string }> = {
  server: { run: runServer, help: 'run the API server (with its embedded store)' },
  'controller-manager': { run: runControllerManager, help: 'run the controllers (namespace, garbage collector, ...) against an API server' },
  agent: { run: runAgent, help: 'run the node agent (kubelet): register this node and run its pods through CRI' },
  runtime: { run: runRuntime, help: 'run the CRI container runtime (runc + conmon) for kubelet' },
  store: { run: runStore, help: 'migrate the embedded SQLite store into etcd' },
  'etcd-snapshot': { run: runEtcdSnapshot, help: 'save and restore etcd snapshots (backups of an etcd-backed cluster)' },
  up: { run: runUp, help: 'start a single-node cluster (API server, controllers, scheduler, runtime, agent) in the foreground' },
  down: { run: runDown, help: 'stop a `skiff up` cluster and remove what it made (--purge: its data too)' },
  kubeconfig: { run: runKubeconfig, help: 'print the admin kubeconfig' },
  dns: { run: async (args) => (await import('./dns.ts')).runDns(args), help: 'run the cluster DNS server: Services and pods of the cluster domain, other names forwarded' },
  network: { run: async (args) => (await import('./network.ts')).runNetwork(args), help: "run this node's pod network (VXLAN or host-gw routes to the other nodes' pods)" },
  image: { run: runImage, help: 'list, import (OCI layout / docker save) and remove images of a runtime root' },
  scheduler: { run: runScheduler, help: 'run the scheduler: bind pending pods to nodes' },
  'hollow-nodes': { run: runHollowNodes, help: 'register simulated nodes that heartbeat and play their pods (scale testing)' },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(20)}${c.help}`);
  return `Usage: skiff <command> [flags]\n\nCommands:\n${lines.join('\n')}\n\nRun 'skiff <command> --help' for a command's flags.`;
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(usage());
    return;
  }
  const c = COMMANDS[cmd];
  if (!c) throw new CliError(`unknown command "${cmd}"\n\n${usage()}`);
  await c.run(rest);
}

main(process.argv.slice(2)).catch((e) => {
  if (e instanceof CliError) {
    console.error(`skiff: ${e.message}`);
    process.exit(2);
  }
  console.error(e);
  process.exit(1);
});
