// `simulate --task N`: a whole upgrade task as the platform reports it, for N devices: each device's
// state changes, then most devices' results (a mix of SUCCESS and FAIL with a few error codes), and a
// few devices left mid-way (no result yet), so that a rollout shows on the dashboard in seconds.
import { randomUUID } from 'node:crypto';
import type { Notification } from '../notification-types';
import { samples } from './samples';

const SOFTWARE_STATES = ['downloading', 'downloaded', 'updating'] as const;
const FIRMWARE_STEPS = [
  ['1', 'downloading'],
  ['2', 'downloaded'],
  ['3', 'updating'],
] as const;
const ERROR_CODES = ['120006', '120010', '120017'] as const;

/** What happens to device `i` of a task: every twentieth stays mid-way, about one in seven fails. */
function fateOf(i: number): { states: number; result: 'SUCCESS' | 'FAIL' | undefined; errorCode: string } {
  if (i % 20 === 19) return { states: 1 + (i % 2), result: undefined, errorCode: '0' };
  const fails = i % 7 === 3;
  return { states: 3, result: fails ? 'FAIL' : 'SUCCESS', errorCode: fails ? (ERROR_CODES[i % ERROR_CODES.length] as string) : '0' };
}

/**
 * The pushes of one task for `devices` devices, in the order the platform would send them: every
 * device's first state, then the second, and so on, and the results last.
 */
export function taskPushes(devices: number, firmware: boolean, operationId = randomUUID().replaceAll('-', '')): Notification[] {
  const rounds: Notification[][] = [[], [], [], []];
  for (let i = 0; i < devices; i += 1) {
    const ids = { deviceId: randomUUID(), operationId, subOperationId: randomUUID().replaceAll('-', '') };
    const fate = fateOf(i);
    // fate.states is at most 3: each step has its state.
    for (let step = 0; step < fate.states; step += 1) {
      const [fwStep, stepDesc] = FIRMWARE_STEPS[step] as (typeof FIRMWARE_STEPS)[number];
      const state: Notification = firmware
        ? { ...samples.fwUpgradeStateChangeNotify('SUCCESS'), ...ids, step: fwStep, stepDesc }
        : { ...samples.swUpgradeStateChangeNotify('SUCCESS'), ...ids, swUpgradeState: SOFTWARE_STATES[step] as (typeof SOFTWARE_STATES)[number] };
      (rounds[step] as Notification[]).push(state);
    }
    if (fate.result === undefined) continue;
    const result: Notification = firmware
      ? { ...samples.fwUpgradeResultNotify(fate.result), ...ids }
      : { ...samples.swUpgradeResultNotify(fate.result), ...ids, errorCode: fate.errorCode };
    (rounds[3] as Notification[]).push(result);
  }
  return rounds.flat();
}
