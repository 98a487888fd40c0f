// `simulate --task N`: a whole upgrade task as the platform reports it, for N devices: each device's
// state changes, then most devices' results (a mix of SUCCESS and FAIL, failures from the published
// tables the emulator uses too, devices coming from a few versions), and a few devices left mid-way
// (no result yet), so that a rollout shows on the dashboard in seconds.
import { randomUUID } from 'node:crypto';
import { firmwareFailures, softwareFailures } from '../emulator/failures';
import type { DeviceNotification } from '../core/notification-types';
import { samples } from './samples';

const SOFTWARE_STATES = ['downloading', 'downloaded', 'updating'] as const;
const FIRMWARE_STEPS = [
  ['1', 'downloading'],
  ['2', 'downloaded'],
  ['3', 'updating'],
] as const;
const SOFTWARE_SOURCES = ['V2.0.1', 'V2.0.3', 'V2.0.5'] as const;
const FIRMWARE_SOURCES = ['FW_1.0.5', 'FW_1.0.7'] as const;

/** What happens to device `i` of a task: every twentieth stays mid-way, about one in seven fails. */
function fateOf(i: number): { states: number; result: 'SUCCESS' | 'FAIL' | undefined } {
  if (i % 20 === 19) return { states: 1 + (i % 2), result: undefined };
  return { states: 3, result: i % 7 === 3 ? 'FAIL' : 'SUCCESS' };
}

/** The result push of device `i`: its own source version, and a failure from the tables when it fails. */
function resultOf(i: number, result: 'SUCCESS' | 'FAIL', firmware: boolean, ids: object): DeviceNotification {
  const failure = Math.floor(i / 7);
  if (firmware) {
    const sourceVersion = FIRMWARE_SOURCES[i % FIRMWARE_SOURCES.length] as string;
    const sample = samples.fwUpgradeResultNotify(result);
    const statusDesc = result === 'FAIL' ? (firmwareFailures[failure % firmwareFailures.length] as string) : sample.statusDesc;
    return { ...sample, ...ids, sourceVersion, curVersion: result === 'FAIL' ? sourceVersion : sample.targetVersion, statusDesc };
  }
  const sourceVersion = SOFTWARE_SOURCES[i % SOFTWARE_SOURCES.length] as string;
  const sample = samples.swUpgradeResultNotify(result);
  const reason = softwareFailures[failure % softwareFailures.length] as (typeof softwareFailures)[number];
  const failed = result === 'FAIL' ? { errorCode: reason.errorCode, description: reason.description } : {};
  return { ...sample, ...ids, sourceVersion, curVersion: result === 'FAIL' ? sourceVersion : sample.targetVersion, ...failed };
}

/**
 * The pushes of one task for `devices` devices, in the order the platform would send them: every
 * device's first state, then the second, and so on, and the results last.
 */
export function taskPushes(devices: number, firmware: boolean, operationId = randomUUID().replaceAll('-', '')): DeviceNotification[] {
  const rounds: DeviceNotification[][] = [[], [], [], []];
  for (let i = 0; i < devices; i += 1) {
    const ids = { deviceId: randomUUID(), operationId, subOperationId: randomUUID().replaceAll('-', '') };
    const fate = fateOf(i);
    // fate.states is at most 3: each step has its state.
    for (let step = 0; step < fate.states; step += 1) {
      const [fwStep, stepDesc] = FIRMWARE_STEPS[step] as (typeof FIRMWARE_STEPS)[number];
      const state: DeviceNotification = firmware
        ? { ...samples.fwUpgradeStateChangeNotify('SUCCESS'), ...ids, step: fwStep, stepDesc }
        : { ...samples.swUpgradeStateChangeNotify('SUCCESS'), ...ids, swUpgradeState: SOFTWARE_STATES[step] as (typeof SOFTWARE_STATES)[number] };
      (rounds[step] as DeviceNotification[]).push(state);
    }
    if (fate.result === undefined) continue;
    (rounds[3] as DeviceNotification[]).push(resultOf(i, fate.result, firmware, ids));
  }
  return rounds.flat();
}
