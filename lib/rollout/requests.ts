// An operator's requests, each answered by one step: done, or refused with the reason. They are
// kept in the journal, so a request made from the command line or another instance reaches the
// instance that drives the rollout.
import type { RolloutRequest } from '../journal/journal';
import type { DeviceOutcome } from './outcomes';
import type { RolloutState, WaveState } from './state';
import type { Step } from './steps';

export const ROLLOUT_ACTIONS = ['pause', 'resume', 'abort', 'approve', 'retry'] as const;
export type RolloutAction = (typeof ROLLOUT_ACTIONS)[number];

/** Which failed devices a retry takes: all, or those with one of the reasons or codes; timed-out ones with `timedOut`. */
export interface RetrySelection {
  reasons?: string[];
  codes?: string[];
  timedOut?: boolean;
}

/** The latest outcome of each device over every wave judged so far, and the tries each has had. */
export interface DeviceHistory {
  latest: Map<string, DeviceOutcome | 'timed-out'>;
  tries: Map<string, number>;
}

/** The platform tasks of waves not yet finished: they run on, whatever happens to the rollout. */
export function runningTasks(state: RolloutState): string[] {
  return state.waves.filter((wave) => wave.status === 'sending' || wave.status === 'sent').flatMap((wave) => wave.tasks.flatMap((task) => (task.operationId === undefined ? [] : [task.operationId])));
}

function retryDevices(history: DeviceHistory, selection: RetrySelection, attempts: number): string[] {
  const chosen: string[] = [];
  for (const [deviceId, outcome] of history.latest) {
    if ((history.tries.get(deviceId) ?? 0) >= attempts) continue;
    if (outcome === 'timed-out') {
      if (selection.timedOut === true) chosen.push(deviceId);
      continue;
    }
    if (outcome.result !== 'failed') continue;
    const filtered = selection.reasons !== undefined || selection.codes !== undefined;
    const matches = (selection.reasons ?? []).includes(outcome.reason) || (outcome.code !== undefined && (selection.codes ?? []).includes(outcome.code));
    if (!filtered || matches) chosen.push(deviceId);
  }
  return chosen.sort();
}

const awaiting = (state: RolloutState): WaveState | undefined => state.waves.find((wave) => wave.status === 'awaiting-approval' && !wave.approved);

/** The step that answers `request`; `history` is read only for a retry. */
export async function answer(state: RolloutState, request: RolloutRequest, history: () => Promise<DeviceHistory>): Promise<Step> {
  const refuse = (why: string): Step => ({ kind: 'refused', request: request.id, action: request.action, why });
  if (state.status === 'aborted') return refuse('the rollout was aborted');
  switch (request.action as RolloutAction) {
    case 'pause':
      return state.paused ? refuse('the rollout is paused already') : { kind: 'paused', request: request.id };
    case 'resume':
      return state.paused || state.halt !== undefined ? { kind: 'resumed', request: request.id } : refuse('the rollout is neither paused nor halted');
    case 'abort':
      return { kind: 'aborted', request: request.id, running: runningTasks(state) };
    case 'approve': {
      const wave = awaiting(state);
      return wave === undefined ? refuse('no wave is waiting for approval') : { kind: 'approved', wave: wave.number, request: request.id };
    }
    case 'retry': {
      if (state.waves.some((wave) => wave.kind === 'retry' && wave.status !== 'passed' && wave.status !== 'breached')) return refuse('a retry wave is under way already');
      const selection = JSON.parse(request.data) as RetrySelection;
      const devices = retryDevices(await history(), selection, state.spec.attempts);
      if (devices.length === 0) return refuse(`no failed device matches (or every one has had its ${state.spec.attempts} tries)`);
      const wave = Math.max(...state.waves.map((candidate) => candidate.number)) + 1;
      return { kind: 'retry-wave', wave, request: request.id, devices, ...(selection.reasons !== undefined && { reasons: selection.reasons }), ...(selection.codes !== undefined && { codes: selection.codes }) };
    }
    default:
      return refuse(`no such action: ${request.action} (${ROLLOUT_ACTIONS.join(', ')})`);
  }
}
