// What a rollout is started with: its plan (plan.ts), the gate each wave must pass, how long a device
// may take, approvals, a window, and how often a failed device may be tried again. Kept in the
// journal as JSON, so every option here is plain data.
import { checkOptions, checks, kindOf, requireOption, type OptionTable } from '../core/option-checks';
import { codedError } from '../core/errors';
import { DEFAULT_CALLS_PER_MINUTE, DEFAULT_SOAK_MS, MAX_TASK_DEVICES, planOptionTable, type RolloutPlanOptions } from './plan';

export interface GateOptions {
  /** The most a wave may fail, as a share of its finished devices (failed and timed out). Default 0.05. */
  maxFailureRate?: number;
  /** The least share of a wave's devices that must succeed once it has finished. Default 0.9. */
  minSuccessRate?: number;
  /** Finished devices a rate is judged on, at the least (a wave smaller than this: all of it). Default 20. */
  minFinished?: number;
  /** Failed and timed-out devices of one wave that halt it at once, however few have finished. Default: none. */
  maxFailures?: number;
  /** A success that does not show the package's version: counted as a failure (default) or as a success. */
  unverified?: 'fail' | 'pass';
}

export interface RolloutOptions extends RolloutPlanOptions {
  /** The rollout's name, unique in the journal (default: a random one). */
  id?: string;
  gate?: GateOptions;
  /** A device with no final result this long after its task was created counts as timed out. Default 24 hours. */
  timeoutMs?: number;
  /** The waves (numbered from 1) that start only once an operator approves them; 'all' for every one. Default none. */
  approve?: readonly number[] | 'all';
  /** No wave starts before `notBefore` (an ISO time) or, with `hours`, outside those UTC hours (from inclusive, to exclusive). */
  window?: { notBefore?: string; hours?: { from: number; to: number } };
  /** Tries a device may have in all, its first included, when failed devices are retried. Default 3. */
  attempts?: number;
}

/** A rollout's settings as kept: every default filled in. */
export interface RolloutSpec {
  id: string;
  fileId: string;
  devices: string[];
  plan: Pick<RolloutPlanOptions, 'waves' | 'order'> & Required<Pick<RolloutPlanOptions, 'soakMs' | 'taskSize' | 'callsPerMinute'>>;
  gate: Required<Omit<GateOptions, 'maxFailures'>> & { maxFailures?: number };
  timeoutMs: number;
  approve: number[] | 'all';
  window: { notBefore?: string; hours?: { from: number; to: number } };
  attempts: number;
}

const share = (value: unknown): string | undefined => (typeof value === 'number' && value >= 0 && value <= 1 ? undefined : `must be a share from 0 to 1, got ${kindOf(value)}`);
const hour = (value: unknown): string | undefined => (Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 24 ? undefined : `must be a whole hour from 0 to 24, got ${kindOf(value)}`);

const gateTable: OptionTable = {
  maxFailureRate: { check: share, example: '{ gate: { maxFailureRate: 0.05 } }' },
  minSuccessRate: { check: share, example: '{ gate: { minSuccessRate: 0.9 } }' },
  minFinished: { check: checks.wholeNumber, example: '{ gate: { minFinished: 20 } }' },
  maxFailures: { check: checks.wholeNumber, example: '{ gate: { maxFailures: 50 } }' },
  unverified: { check: checks.oneOf('fail', 'pass'), example: "{ gate: { unverified: 'fail' } }" },
};

export const rolloutOptionTable: OptionTable = {
  ...planOptionTable,
  id: { check: (value) => (typeof value === 'string' && /^[\w.-]{1,100}$/.test(value) ? undefined : `must be 1 to 100 letters, digits, '.', '_' or '-', got ${kindOf(value)}`), example: "rollouts.start({ id: 'fw-2.1-meters', fileId, devices })" },
  gate: { check: checks.object, example: 'rollouts.start({ fileId, devices, gate: { maxFailureRate: 0.05, minSuccessRate: 0.9 } })', keys: gateTable },
  timeoutMs: { check: checks.wholeNumber, example: 'rollouts.start({ fileId, devices, timeoutMs: 24 * 60 * 60_000 })' },
  approve: { check: (value) => (value === 'all' ? undefined : checks.arrayOf(checks.wholeNumber)(value)), example: "rollouts.start({ fileId, devices, approve: [2] }) or approve: 'all'" },
  window: {
    check: checks.object,
    example: "rollouts.start({ fileId, devices, window: { notBefore: '2026-12-08T01:00:00Z', hours: { from: 1, to: 5 } } })",
    keys: {
      notBefore: { check: (value) => (typeof value === 'string' && Number.isFinite(Date.parse(value)) ? undefined : `must be an ISO time, got ${kindOf(value)}`), example: "{ notBefore: '2026-12-08T01:00:00Z' }" },
      hours: { check: checks.object, example: '{ hours: { from: 1, to: 5 } }', keys: { from: { check: hour, example: '{ from: 1, to: 5 }' }, to: { check: hour, example: '{ from: 1, to: 5 }' } } },
    },
  },
  attempts: { check: checks.wholeNumber, example: 'rollouts.start({ fileId, devices, attempts: 3 })' },
};

/** Checks a rollout's options and fills in the defaults; `newId` names it when no id is given. */
export function rolloutSpecOf(options: RolloutOptions, newId: () => string): RolloutSpec {
  checkOptions(options, rolloutOptionTable);
  requireOption(options.fileId, 'fileId', "rollouts.start({ fileId: '<the package fileId>', devices })");
  requireOption(options.devices, 'devices', "rollouts.start({ fileId, devices: ['<deviceId>', ...] })");
  const hours = options.window?.hours;
  // Checked one by one above; both must be there, and differ.
  const { from, to } = (hours ?? {}) as { from?: number; to?: number };
  if (hours !== undefined && (from === undefined || to === undefined || from === to)) {
    throw codedError('ERR_INVALID_OPTION', 'huawei-iot-upgrade-router: window.hours needs from and to, two different hours (UTC): { from: 1, to: 5 }', { kind: TypeError });
  }
  const { gate = {} } = options;
  const plan: RolloutSpec['plan'] = {
    soakMs: options.soakMs ?? DEFAULT_SOAK_MS,
    taskSize: options.taskSize ?? MAX_TASK_DEVICES,
    callsPerMinute: options.callsPerMinute ?? DEFAULT_CALLS_PER_MINUTE,
    ...(options.waves !== undefined && { waves: options.waves }),
    ...(options.order !== undefined && { order: options.order }),
  };
  return {
    id: options.id ?? newId(),
    fileId: options.fileId,
    devices: [...options.devices],
    plan,
    gate: {
      maxFailureRate: gate.maxFailureRate ?? 0.05,
      minSuccessRate: gate.minSuccessRate ?? 0.9,
      minFinished: gate.minFinished ?? 20,
      unverified: gate.unverified ?? 'fail',
      ...(gate.maxFailures !== undefined && { maxFailures: gate.maxFailures }),
    },
    timeoutMs: options.timeoutMs ?? 24 * 60 * 60_000,
    approve: options.approve === 'all' ? 'all' : [...(options.approve ?? [])],
    window: { ...options.window },
    attempts: options.attempts ?? 3,
  };
}
