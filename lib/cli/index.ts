#!/usr/bin/env node
// The package's bin: `simulate` plays the platform against a receiver; `journal` inspects and
// replays a durable journal; `emulator` runs a local stand-in for the platform; `reconcile` reports a
// task's devices, the platform's view beside the journal's.
import { emulator, emulatorHelp } from './emulator';
import { journal, journalHelp } from './journal';
import { reconcile, reconcileHelp } from './reconcile';
import { simulate, simulateHelp } from './simulate';
import { UsageError } from './usage';

const commands: Record<string, { run: (argv: string[]) => Promise<number>; help: string }> = {
  simulate: { run: simulate, help: simulateHelp },
  journal: { run: journal, help: journalHelp },
  emulator: { run: emulator, help: emulatorHelp },
  reconcile: { run: reconcile, help: reconcileHelp },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const wantsHelp = rest.includes('--help') || rest.includes('-h');
  if (name === undefined) throw new UsageError(`a command is needed: ${Object.keys(commands).join(', ')}`);
  if (name === '--help' || name === '-h') {
    console.log(Object.values(commands).map((command) => command.help).join('\n'));
    return 0;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)}: the commands are ${Object.keys(commands).join(', ')}`);
  if (wantsHelp) {
    console.log(command.help);
    return 0;
  }
  return command.run(rest);
}

// `journal dead | head -1` closes the pipe after one line: the rest has nowhere to go, and that is
// no error (an EPIPE thrown from a write crashed the command, issue 18 item 15).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    // One line and the way to more: a usage mistake, a --body file that cannot be read, a journal that cannot be opened.
    // The package's own TypeErrors (an option) already name it.
    const message = (error instanceof Error ? error.message : String(error)).replace(/^huawei-iot-upgrade-router: /, '');
    console.error(`huawei-iot-upgrade-router: ${message}${error instanceof UsageError || (error as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? ' (see --help)' : ''}`);
    process.exitCode = 2;
  },
);
