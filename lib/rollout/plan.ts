// A rollout's plan: which devices go in which wave, in which platform tasks (the platform takes at
// most 256 devices a task), and what it costs in platform calls. Pure: it calls nothing, so
// `rollout plan` can show what would happen before anything does.
import { codedError } from '../core/errors';
import { checkOptions, checks, kindOf, requireOption, type OptionTable } from '../core/option-checks';
import { shuffled } from '../core/random';

/** The platform's limit on the devices of one upgrade task. */
export const MAX_TASK_DEVICES = 256;
export const DEFAULT_SOAK_MS = 30 * 60_000;
export const DEFAULT_CALLS_PER_MINUTE = 50;
/** Devices a sub-task listing page holds: verifying a task's outcome reads its pages. */
const PAGE = 100;

/**
 * How far the rollout has reached after a wave, counted over all its devices: a number of devices
 * (`20`: a canary of 20), or a share (`'10%'`, or `{ share: 0.1 }`). Each wave adds the devices
 * between the reach before it and its own; the last wave always reaches every device.
 */
export type WaveReach = number | `${number}%` | { share: number } | { count: number };

export interface RolloutPlanOptions {
  /** The version package every device is sent (the platform's `fileId`). */
  fileId: string;
  /** The devices to upgrade (device IDs); a device listed twice is targeted once. */
  devices: readonly string[];
  /** The reach after each wave, increasing; default a canary of 1 %, then 10 %, 50 %, 100 %. */
  waves?: readonly WaveReach[];
  /**
   * The order devices are drawn in: a seed (the default, 1) draws the same waves from the same list,
   * whatever its order; 'given' takes the devices in the order listed (the canary first).
   */
  order?: number | 'given';
  /** How long each wave's results are watched before the next starts. Default 30 minutes. */
  soakMs?: number;
  /** Devices a platform task takes, at most 256. Default 256. */
  taskSize?: number;
  /** Platform calls a minute the rollout may spend (shared with reconciliation). Default 50. */
  callsPerMinute?: number;
}

export interface PlannedWave {
  /** 1 for the canary. */
  number: number;
  /** This wave's devices, in the order drawn. */
  devices: string[];
  /** The platform tasks the wave is sent in: at most taskSize devices each. */
  tasks: string[][];
  /** Devices reached when this wave is sent, all waves before it included. */
  reach: number;
}

export interface RolloutPlan {
  fileId: string;
  devices: number;
  /** Devices listed more than once (each targeted once). */
  duplicates: number;
  waves: PlannedWave[];
  /** Waves that would have added no device (a share too small for the fleet), left out. */
  emptyWaves: number;
  tasks: number;
  soakMs: number;
  calls: {
    /** One a platform task. */
    create: number;
    /** At most, to verify every wave's outcome from the platform when pushes are missing: a task read and its listing pages. */
    verify: number;
    /** The least time the calls take at callsPerMinute. */
    minutes: number;
  };
}

const DEFAULT_WAVES: readonly WaveReach[] = ['1%', '10%', '50%', '100%'];

function reachProblem(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 1 ? undefined : `a number of devices is a whole number of at least 1, got ${kindOf(value)}`;
  if (typeof value === 'string') return /^\d+(\.\d+)?%$/.test(value) && Number.parseFloat(value) > 0 && Number.parseFloat(value) <= 100 ? undefined : `a share is written like '10%' (above 0, at most 100), got ${JSON.stringify(value)}`;
  if (typeof value === 'object' && value !== null && 'share' in value) return typeof value.share === 'number' && value.share > 0 && value.share <= 1 ? undefined : 'share is a number above 0, at most 1';
  if (typeof value === 'object' && value !== null && 'count' in value) return reachProblem(value.count);
  return `a wave's reach is a number of devices, a share like '10%', { share } or { count }, got ${kindOf(value)}`;
}

export const planOptionTable: OptionTable = {
  fileId: { check: checks.nonEmptyString, example: "planRollout({ fileId: '<the package fileId>', devices })" },
  devices: { check: checks.arrayOf(checks.nonEmptyString), example: "planRollout({ fileId, devices: ['<deviceId>', ...] })" },
  waves: { check: checks.arrayOf(reachProblem), example: "planRollout({ fileId, devices, waves: [20, '10%', '50%', '100%'] })" },
  order: { check: (value) => (value === 'given' || (typeof value === 'number' && Number.isInteger(value)) ? undefined : `must be a whole number (a seed) or 'given', got ${kindOf(value)}`), example: "planRollout({ fileId, devices, order: 7 }) or order: 'given'" },
  soakMs: { check: checks.wholeNumber, example: 'planRollout({ fileId, devices, soakMs: 30 * 60_000 })' },
  taskSize: { check: (value) => (Number.isInteger(value) && (value as number) >= 1 && (value as number) <= MAX_TASK_DEVICES ? undefined : `must be a whole number from 1 to ${MAX_TASK_DEVICES} (the platform's limit), got ${kindOf(value)}`), example: 'planRollout({ fileId, devices, taskSize: 256 })' },
  callsPerMinute: { check: checks.wholeNumber, example: 'planRollout({ fileId, devices, callsPerMinute: 50 })' },
};

/** The devices reached by `reach`, out of `total`: a share is rounded up (a canary of 1 % of 50 is 1 device). */
function reached(reach: WaveReach, total: number): number {
  if (typeof reach === 'number') return Math.min(reach, total);
  if (typeof reach === 'string') return Math.min(total, Math.ceil((Number.parseFloat(reach) / 100) * total - 1e-9));
  if ('share' in reach) return Math.min(total, Math.ceil(reach.share * total - 1e-9));
  return Math.min(reach.count, total);
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let at = 0; at < items.length; at += size) out.push(items.slice(at, at + size));
  return out;
}

/** Plans a rollout; throws ERR_INVALID_OPTION on a plan that cannot be run. Calls nothing. */
export function planRollout(options: RolloutPlanOptions): RolloutPlan {
  checkOptions(options, planOptionTable);
  requireOption(options.fileId, 'fileId', "planRollout({ fileId: '<the package fileId>', devices })");
  requireOption(options.devices, 'devices', "planRollout({ fileId, devices: ['<deviceId>', ...] })");
  const unique = [...new Set(options.devices)];
  if (unique.length === 0) throw codedError('ERR_INVALID_OPTION', 'huawei-iot-upgrade-router: devices is empty: a rollout needs at least one device', { kind: TypeError });
  const order = options.order ?? 1;
  // Sorted before the draw: the same seed draws the same waves from the same devices, in any order listed.
  const drawn = order === 'given' ? unique : shuffled([...unique].sort(), order);
  const reaches = (options.waves ?? DEFAULT_WAVES).map((reach) => reached(reach, drawn.length));
  for (const [index, reach] of reaches.entries()) {
    if (index > 0 && reach < (reaches[index - 1] as number)) {
      throw codedError('ERR_INVALID_OPTION', `huawei-iot-upgrade-router: waves must reach more devices each time: wave ${index + 1} reaches ${reach}, wave ${index} ${reaches[index - 1]}`, { kind: TypeError });
    }
  }
  if (reaches.at(-1) !== drawn.length) reaches.push(drawn.length);
  const taskSize = options.taskSize ?? MAX_TASK_DEVICES;
  const waves: PlannedWave[] = [];
  let from = 0;
  let emptyWaves = 0;
  for (const reach of reaches) {
    if (reach === from) {
      emptyWaves += 1;
      continue;
    }
    const devices = drawn.slice(from, reach);
    waves.push({ number: waves.length + 1, devices, tasks: chunks(devices, taskSize), reach });
    from = reach;
  }
  const tasks = waves.reduce((sum, wave) => sum + wave.tasks.length, 0);
  // A task read, then its success and fail listings, a page each 100 devices: the most verifying costs.
  const verify = waves.reduce((sum, wave) => sum + wave.tasks.reduce((calls, task) => calls + 1 + 2 * Math.ceil(task.length / PAGE), 0), 0);
  const callsPerMinute = options.callsPerMinute ?? DEFAULT_CALLS_PER_MINUTE;
  return {
    fileId: options.fileId,
    devices: drawn.length,
    duplicates: options.devices.length - unique.length,
    waves,
    emptyWaves,
    tasks,
    soakMs: options.soakMs ?? DEFAULT_SOAK_MS,
    calls: { create: tasks, verify, minutes: Math.ceil((tasks + verify) / callsPerMinute) },
  };
}
