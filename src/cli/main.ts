// `skiff <command>`: the one binary of every Skiff component. Each command's module is loaded
// only when it runs, so a daemon holds in memory only the code it uses.
import { CliError } from './errors.ts';

const COMMANDS: Record<string, { run: (args: string[]) => Promise<void>; help: string }> = {
  server: { run: async (args) => (await import('./server.ts')).runServer(args), help: 'run the API server (with its embedded store)' },
  'controller-manager': { run: async (args) => (await import('./controller-manager.ts')).runControllerManager(args), help: 'run the controllers (namespace, garbage collector, ...) against an API server' },
  agent: { run: async (args) => (await import('./agent.ts')).runAgent(args), help: 'run the node agent (kubelet): register this node and run its pods through CRI' },
  runtime: { run: async (args) => (await import('./runtime.ts')).runRuntime(args), help: 'run the CRI container runtime (runc + conmon) for kubelet' },
  store: { run: async (args) => (await import('./store.ts')).runStore(args), help: 'migrate the embedded SQLite store into etcd' },
  'etcd-snapshot': { run: async (args) => (await import('./etcd-snapshot.ts')).runEtcdSnapshot(args), help: 'save and restore etcd snapshots (backups of an etcd-backed cluster)' },
  up: { run: async (args) => (await import('./up.ts')).runUp(args), help: 'start a single-node cluster (API server, controllers, scheduler, runtime, agent) in the foreground' },
  down: { run: async (args) => (await import('./down.ts')).runDown(args), help: 'stop a `skiff up` cluster and remove what it made (--purge: its data too)' },
  kubeconfig: { run: async (args) => (await import('./kubeconfig.ts')).runKubeconfig(args), help: 'print the admin kubeconfig' },
  image: { run: async (args) => (await import('./image.ts')).runImage(args), help: 'list, import (OCI layout / docker save) and remove images of a runtime root' },
  scheduler: { run: async (args) => (await import('./scheduler.ts')).runScheduler(args), help: 'run the scheduler: bind pending pods to nodes' },
  dns: { run: async (args) => (await import('./dns.ts')).runDns(args), help: 'run the cluster DNS server: Services and pods of the cluster domain, other names forwarded' },
  network: { run: async (args) => (await import('./network.ts')).runNetwork(args), help: "run this node's pod network (VXLAN or host-gw routes to the other nodes' pods)" },
  proxy: { run: async (args) => (await import('./proxy.ts')).runProxy(args), help: 'run the service proxy: Services and EndpointSlices → nftables (table ip skiff-proxy)' },
  'hollow-nodes': { run: async (args) => (await import('./hollow-nodes.ts')).runHollowNodes(args), help: 'register simulated nodes that heartbeat and play their pods (scale testing)' },
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
