// `rollout plan`: what a rollout would do (its waves, the platform tasks of each, the devices and
// the platform calls), printed without calling the platform; and the plan flags `rollout start` shares.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { planRollout, type RolloutPlan, type RolloutPlanOptions, type WaveReach } from '../rollout/plan';
import { counted, percent } from '../rollout/outcomes';
import { UsageError, wholeArg } from './usage';

/** The flags that make a plan, shared by `rollout plan` and `rollout start`. */
export const planFlags = {
  'file-id': { type: 'string' },
  devices: { type: 'string' },
  waves: { type: 'string' },
  seed: { type: 'string' },
  'given-order': { type: 'boolean' },
  soak: { type: 'string' },
  'task-size': { type: 'string' },
  'calls-per-minute': { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const planHelp = `  --file-id ID               the version package every device is sent
  --devices FILE             the devices, one device ID a line ('-': standard input)
  --waves LIST               the reach after each wave, by count or share (default 1%,10%,50%,100%),
                             e.g. 20,10%,50%,100% for a canary of 20 devices
  --seed N                   draws the waves from the list by this seed (default 1): the same seed,
                             the same waves, whatever the list's order
  --given-order              takes the devices in the order listed instead (the canary first)
  --soak MS                  how long each wave is watched before the next (default 1800000)
  --task-size N              devices a platform task takes, at most 256 (default 256)
  --calls-per-minute N       platform calls a minute the rollout may spend (default 50)`;

function reachOf(text: string): WaveReach {
  if (/^\d+$/.test(text)) return Number(text);
  if (/^\d+(\.\d+)?%$/.test(text)) return text as `${number}%`;
  throw new UsageError(`--waves takes counts and shares like 20,10%,50%,100%, got ${JSON.stringify(text)}`);
}

function devicesFrom(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new UsageError(`--devices ${file} cannot be read: ${(error as Error).message}`);
  }
  return text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
}

const minutes = (ms: number): string => (ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms} ms`);
const share = (part: number, whole: number): string => percent(part / whole);

/** The plan as an operator reads it. */
export function describePlan(plan: RolloutPlan): string {
  const lines = [`rollout of ${plan.fileId} to ${counted(plan.devices, 'device')} in ${counted(plan.waves.length, 'wave')}, ${counted(plan.tasks, 'platform task')}`];
  if (plan.duplicates > 0) lines.push(`  ${counted(plan.duplicates, 'device ID')} listed twice: each device is targeted once`);
  if (plan.emptyWaves > 0) lines.push(`  ${counted(plan.emptyWaves, 'wave')} left out: they would add no device to so small a fleet`);
  for (const wave of plan.waves) {
    const name = wave.number === 1 ? 'wave 1 (canary)' : `wave ${wave.number}`;
    const soak = wave.number === plan.waves.length ? '' : `, then ${minutes(plan.soakMs)} of soak`;
    lines.push(`  ${name}: ${counted(wave.devices.length, 'device')} in ${counted(wave.tasks.length, 'task')}, reaching ${wave.reach} (${share(wave.reach, plan.devices)})${soak}`);
  }
  lines.push(`  platform calls: ${plan.calls.create} to create the tasks, at most ${plan.calls.verify} to verify outcomes no push brought (${plan.calls.minutes} min at the call budget)`);
  return lines.join('\n');
}

type PlanValues = { [K in keyof typeof planFlags]?: (typeof planFlags)[K]['type'] extends 'boolean' ? boolean : string };

/** The plan's options from the flags; a value the plan refuses is a usage error. */
export function planOptionsOf(values: PlanValues): RolloutPlanOptions {
  if (values['file-id'] === undefined || values.devices === undefined) throw new UsageError('--file-id and --devices are needed');
  if (values['given-order'] === true && values.seed !== undefined) throw new UsageError('--given-order takes the list as it is: leave out --seed');
  const soakMs = wholeArg(values.soak, '--soak', 0);
  const taskSize = wholeArg(values['task-size'], '--task-size', 1);
  const callsPerMinute = wholeArg(values['calls-per-minute'], '--calls-per-minute', 1);
  return {
    fileId: values['file-id'],
    devices: devicesFrom(values.devices),
    ...(values.waves !== undefined && { waves: values.waves.split(',').map((text) => reachOf(text.trim())) }),
    order: values['given-order'] === true ? 'given' : (wholeArg(values.seed, '--seed', 0) ?? 1),
    ...(soakMs !== undefined && { soakMs }),
    ...(taskSize !== undefined && { taskSize }),
    ...(callsPerMinute !== undefined && { callsPerMinute }),
  };
}

/** Runs `work`; an option the package refuses (ERR_INVALID_OPTION) is a usage error of the command. */
function asUsage<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_INVALID_OPTION') throw new UsageError((error as Error).message.replace(/^huawei-iot-upgrade-router: /, ''));
    throw error;
  }
}

export function plan(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: planFlags, strict: true });
  const made = asUsage(() => planRollout(planOptionsOf(values)));
  console.log(values.json === true ? JSON.stringify(made, null, 2) : describePlan(made));
  return 0;
}
