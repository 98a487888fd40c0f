// `huawei-iot-upgrade-router rollout …`: plan a rollout, record one for the receiver that drives
// rollouts (createRollouts) to run, read where it stands, and make an operator's requests. The
// command writes to the journal only; the driving instance answers each request with a step.
import { parseArgs } from 'node:util';
import type { JournalAdmin } from '../journal/journal';
import { describeRollout, journalFigures } from '../rollout/describe';
import { ROLLOUT_ACTIONS, type RetrySelection, type RolloutAction } from '../rollout/requests';
import { recordRollout, requestRollout } from '../rollout/record';
import { foldRollout, type RolloutView } from '../rollout/state';
import type { GateOptions, RolloutOptions } from '../rollout/options';
import { openJournalAdmin } from './journal';
import { plan, planFlags, planHelp, planOptionsOf } from './rollout-plan';
import { UsageError, wholeArg } from './usage';

export const rolloutHelp = `Usage: huawei-iot-upgrade-router rollout COMMAND [options]

Commands:
  plan --file-id ID --devices FILE    what a rollout would do (waves, tasks, calls), without a call
  start --file-id ID --devices FILE   records a rollout in the journal and prints its id; the receiver
                                      that runs createRollouts() on that journal drives it
  status ID                           where it stands: each wave, its gate's figures, why it halted
  list                                every rollout and its status
  pause ID | resume ID | abort ID     requests: stop starting tasks; go on (after a pause or a halt);
                                      stop for good (tasks already on the platform run on)
  approve ID                          lets the wave that waits for approval start
  retry ID                            the failed devices as a new wave (with --reason or --code, only
                                      those; with --timed-out, timed-out ones too)

Plan options (plan, start):
${planHelp}

Options of start:
  --id NAME                  the rollout's id (default: a random one)
  --max-failure-rate R       the most a wave may fail, over its finished devices (default 0.05)
  --min-success-rate R       the least share of a wave that must succeed (default 0.9)
  --min-finished N           finished devices a rate is judged on, at the least (default 20)
  --max-failures N           failed or timed-out devices that halt a wave at once (default none)
  --unverified fail|pass     a success without the package's version (default fail)
  --timeout MS               a device with no result this long after its task counts as timed out
                             (default 86400000)
  --approve LIST             waves that wait for approval, e.g. 2,3, or all
  --attempts N               tries a device may have in all when retried (default 3)

Options of retry: --reason TEXT and --code CODE (each may be repeated), --timed-out.

Every command but plan:
  --db FILE | --postgres URL the journal (default: $DATABASE_URL when --db is not given)
  --json                     what the command prints, as JSON
  --wait-ms MS               requests: how long to wait for the driver's answer (default 30000)

Exits 0 (status: completed; a request: done); 1 (status: not completed; a request refused or not
answered in time); 2 on a usage error or an unknown rollout; 3 when the journal cannot be reached.
`;

const journalFlags = { db: { type: 'string' }, postgres: { type: 'string' }, json: { type: 'boolean' } } as const;

function shareArg(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(Number.isFinite(n) && n >= 0 && n <= 1)) throw new UsageError(`${name} is a share from 0 to 1, like 0.05`);
  return n;
}

function gateOf(values: Record<string, string | boolean | string[] | undefined>): GateOptions {
  const text = (name: string): string | undefined => values[name] as string | undefined;
  const unverified = text('unverified');
  if (unverified !== undefined && unverified !== 'fail' && unverified !== 'pass') throw new UsageError('--unverified is fail or pass');
  return given({
    maxFailureRate: shareArg(text('max-failure-rate'), '--max-failure-rate'),
    minSuccessRate: shareArg(text('min-success-rate'), '--min-success-rate'),
    minFinished: wholeArg(text('min-finished'), '--min-finished', 1),
    maxFailures: wholeArg(text('max-failures'), '--max-failures', 1),
    unverified,
  }) as GateOptions;
}

/** The options given: the flags left out are left out, not set to undefined. */
function given<T extends Record<string, unknown>>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}

async function start(journal: JournalAdmin, argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...planFlags,
      ...journalFlags,
      id: { type: 'string' },
      'max-failure-rate': { type: 'string' },
      'min-success-rate': { type: 'string' },
      'min-finished': { type: 'string' },
      'max-failures': { type: 'string' },
      unverified: { type: 'string' },
      timeout: { type: 'string' },
      approve: { type: 'string' },
      attempts: { type: 'string' },
    },
    strict: true,
  });
  const approve = values.approve === 'all' ? ('all' as const) : values.approve?.split(',').map((wave) => wholeArg(wave.trim(), '--approve', 1) as number);
  const options: RolloutOptions = {
    ...planOptionsOf(values),
    gate: gateOf(values),
    ...given({ id: values.id, timeoutMs: wholeArg(values.timeout, '--timeout', 1), approve, attempts: wholeArg(values.attempts, '--attempts', 1) }),
  };
  const spec = await recordRollout(journal, options);
  console.log(values.json === true ? JSON.stringify({ id: spec.id }) : `rollout ${spec.id} recorded: the receiver that drives rollouts on this journal starts it at its next tick`);
  return 0;
}

async function view(journal: JournalAdmin, id: string): Promise<RolloutView> {
  const record = await journal.readRollout(id);
  if (record === undefined) throw new UsageError(`no rollout named ${id}`);
  const state: RolloutView = foldRollout(record);
  const figures = await journalFigures(journal, state);
  if (figures !== undefined && state.current !== undefined) state.live = { wave: state.current.number, figures };
  return state;
}

async function status(journal: JournalAdmin, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: journalFlags, allowPositionals: true, strict: true });
  const [id] = positionals;
  if (id === undefined || positionals.length > 1) throw new UsageError('status takes one rollout id');
  const state = await view(journal, id);
  console.log(values.json === true ? JSON.stringify(state, null, 2) : describeRollout(state));
  return state.status === 'completed' ? 0 : 1;
}

async function list(journal: JournalAdmin, argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: journalFlags, strict: true });
  const rows = [];
  for (const row of await journal.listRollouts()) {
    const state = foldRollout({ ...row, steps: (await journal.readRollout(row.id))?.steps ?? [] });
    rows.push({ id: state.id, status: state.status, createdAt: state.createdAt, fileId: state.spec.fileId, devices: state.spec.devices.length, waves: state.waves.length, passed: state.waves.filter((wave) => wave.status === 'passed').length });
  }
  if (values.json === true) console.log(JSON.stringify(rows, null, 2));
  else for (const row of rows) console.log([row.id, row.status, row.createdAt.toISOString(), row.fileId, `${row.devices} devices`, `${row.passed}/${row.waves} waves passed`].join('\t'));
  return 0;
}

/** Waits for the driver's answer to request `request`: the step that names it. */
async function answerOf(journal: JournalAdmin, id: string, request: number, waitMs: number): Promise<{ kind: string; why?: string } | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    for (const step of (await journal.readRollout(id))?.steps ?? []) {
      const parsed = JSON.parse(step.data) as { kind: string; request?: number; why?: string };
      if (parsed.request === request) return parsed;
    }
    if (Date.now() >= deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function requested(journal: JournalAdmin, action: RolloutAction, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...journalFlags, 'wait-ms': { type: 'string' }, reason: { type: 'string', multiple: true }, code: { type: 'string', multiple: true }, 'timed-out': { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  const [id] = positionals;
  if (id === undefined || positionals.length > 1) throw new UsageError(`${action} takes one rollout id`);
  if (action !== 'retry' && (values.reason !== undefined || values.code !== undefined || values['timed-out'] !== undefined)) throw new UsageError('--reason, --code and --timed-out are for retry');
  const selection: RetrySelection = {
    ...(values.reason !== undefined && { reasons: values.reason }),
    ...(values.code !== undefined && { codes: values.code }),
    ...(values['timed-out'] === true && { timedOut: true }),
  };
  let request: number;
  try {
    request = await requestRollout(journal, id, action, action === 'retry' ? selection : {});
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_ROLLOUT_NOT_FOUND') throw new UsageError((error as Error).message);
    throw error;
  }
  const answer = await answerOf(journal, id, request, wholeArg(values['wait-ms'], '--wait-ms', 0) ?? 30_000);
  const done = answer !== undefined && answer.kind !== 'refused';
  if (values.json === true) console.log(JSON.stringify({ request, answer: answer ?? null }));
  else if (answer === undefined) console.log(`request ${request} (${action}) recorded; no answer yet: is a receiver with createRollouts() running on this journal?`);
  else console.log(done ? `request ${request} (${action}): ${answer.kind}` : `request ${request} (${action}) refused: ${answer.why ?? ''}`);
  return done ? 0 : 1;
}

async function withJournal(argv: string[], work: (journal: JournalAdmin) => Promise<number>): Promise<number> {
  // Read the journal flags first, wherever they are: the command's own parse checks everything.
  const { values } = parseArgs({ args: argv, options: journalFlags, strict: false, allowPositionals: true });
  const journal = await openJournalAdmin({ db: values.db as string | undefined, postgres: values.postgres as string | undefined });
  try {
    return await work(journal);
  } finally {
    await journal.close();
  }
}

export async function rollout(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'plan':
      return plan(rest);
    case 'start':
      return withJournal(rest, (journal) =>
        start(journal, rest).catch((error: unknown) => {
          const code = (error as { code?: unknown }).code;
          if (code === 'ERR_ROLLOUT_EXISTS' || code === 'ERR_INVALID_OPTION') throw new UsageError((error as Error).message.replace(/^huawei-iot-upgrade-router: /, ''));
          throw error;
        }),
      );
    case 'status':
      return withJournal(rest, (journal) => status(journal, rest));
    case 'list':
      return withJournal(rest, (journal) => list(journal, rest));
    default:
      if (ROLLOUT_ACTIONS.some((action) => action === command)) return withJournal(rest, (journal) => requested(journal, command as RolloutAction, rest));
      throw new UsageError(`rollout needs a command: plan, start, status, list, ${ROLLOUT_ACTIONS.join(', ')}${command === undefined ? '' : ` (got ${JSON.stringify(command)})`}`);
  }
}
