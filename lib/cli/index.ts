#!/usr/bin/env node
// The package's bin: `simulate` plays the platform against a receiver; `journal` inspects and
// replays a durable journal; `emulator` runs a local stand-in for the platform; `reconcile` reports a
// task's devices, the platform's view beside the journal's; `rollout` plans, starts and steers rollouts.
import { EXIT, UsageError, unreachable } from './usage';

interface Command {
  run: (argv: string[]) => Promise<number>;
  help: string;
}

// Each command is loaded when it is run: a run of one command does not pay for the others' modules
// (the emulator's, the journal's drivers, the platform client).
const commands: Record<string, () => Promise<Command>> = {
  simulate: async () => import('./simulate.js').then((module) => ({ run: module.simulate, help: module.simulateHelp })),
  journal: async () => import('./journal.js').then((module) => ({ run: module.journal, help: module.journalHelp })),
  emulator: async () => import('./emulator.js').then((module) => ({ run: module.emulator, help: module.emulatorHelp })),
  reconcile: async () => import('./reconcile.js').then((module) => ({ run: module.reconcile, help: module.reconcileHelp })),
  rollout: async () => import('./rollout.js').then((module) => ({ run: module.rollout, help: module.rolloutHelp })),
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const wantsHelp = rest.includes('--help') || rest.includes('-h');
  if (name === undefined) throw new UsageError(`a command is needed: ${Object.keys(commands).join(', ')}`);
  if (name === '--help' || name === '-h') {
    const all = await Promise.all(Object.values(commands).map(async (load) => load()));
    console.log(all.map((command) => command.help).join('\n'));
    return 0;
  }
  const load = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (load === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)}: the commands are ${Object.keys(commands).join(', ')}`);
  const command = await load();
  if (wantsHelp) {
    console.log(command.help);
    return 0;
  }
  return command.run(rest);
}

// `journal dead | head -1` closes the pipe after one line: the rest has nowhere to go, and that is
// no error (an EPIPE thrown from a write crashed the command).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    // One line and the way to more: a usage mistake or a --body file that cannot be read (2), a
    // platform or journal that cannot be reached (3). The package's own TypeErrors (an option) already name it.
    const message = (error instanceof Error ? error.message : String(error)).replace(/^huawei-iot-upgrade-router: /, '');
    const usage = error instanceof UsageError || (error as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION';
    console.error(`huawei-iot-upgrade-router: ${message}${usage ? ' (see --help)' : ''}`);
    process.exitCode = !usage && unreachable(error) ? EXIT.unreachable : EXIT.usage;
  },
);
