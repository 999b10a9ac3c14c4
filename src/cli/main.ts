// `skiff <command>`: the one binary of every Skiff component.
import { runServer } from './server.ts';
import { runRuntime } from './runtime.ts';
import { runControllerManager } from './controller-manager.ts';
import { runScheduler } from './scheduler.ts';
import { runHollowNodes } from './hollow-nodes.ts';
import { CliError } from './errors.ts';

const COMMANDS: Record<string, { run: (args: string[]) => Promise<void>; help: string }> = {
  server: { run: runServer, help: 'run the API server (with its embedded store)' },
  'controller-manager': { run: runControllerManager, help: 'run the controllers (namespace, garbage collector, ...) against an API server' },
  runtime: { run: runRuntime, help: 'run the CRI container runtime (runc + conmon) for kubelet' },
  scheduler: { run: runScheduler, help: 'run the scheduler: bind pending pods to nodes' },
  'hollow-nodes': { run: runHollowNodes, help: 'register simulated nodes that heartbeat and play their pods (scale testing)' },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(16)}${c.help}`);
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
