// What the driver knows of each task's devices: the final results the journal holds (read again
// only for tasks with devices still open), reconciled successes checked against the device's
// version, and, past the deadline, which open devices the platform still has in progress.
import type { Journal } from '../journal/journal';
import type { OperateType } from '../platform/contract';
import { outcomeOf, type DeviceOutcome } from './outcomes';
import type { RolloutPlatform } from './platform';
import type { TaskState } from './state';

export interface WatchContext {
  journal: Journal;
  platform: RolloutPlatform;
}

/** Runs one platform call within the rollout's share of the call budget. */
export type BudgetedCall = <T>(work: () => Promise<T>) => Promise<T>;

interface Watched {
  outcomes: Map<string, DeviceOutcome>;
  /** Devices the platform listed as finished without a result here yet: the reconciler fills them in. */
  finishedElsewhere: Set<string>;
  checkedAt: number;
}

export class TaskWatch {
  readonly #tasks = new Map<string, Watched>();

  constructor(private readonly context: WatchContext) {}

  #watched(operationId: string): Watched {
    let watched = this.#tasks.get(operationId);
    if (watched === undefined) {
      watched = { outcomes: new Map(), finishedElsewhere: new Set(), checkedAt: -Infinity };
      this.#tasks.set(operationId, watched);
    }
    return watched;
  }

  /** The outcomes of a task's devices, the journal read again when some are still open. */
  async outcomes(task: TaskState, version: string, operateType: OperateType, call: BudgetedCall): Promise<Map<string, DeviceOutcome>> {
    const { operationId } = task;
    if (operationId === undefined) return new Map();
    const watched = this.#watched(operationId);
    if (watched.outcomes.size >= task.devices.length) return watched.outcomes;
    for (const row of await this.context.journal.finalResultBodies(operationId)) {
      if (row.deviceId !== null && watched.outcomes.has(row.deviceId)) continue;
      let outcome = outcomeOf(row, version);
      // A reconciled success carries no version: the device is asked for its own.
      if (outcome?.source === 'reconciled' && outcome.result === 'unverified') outcome = outcomeOf(row, version, await this.#deviceVersion(outcome.deviceId, operateType, call));
      if (outcome !== undefined && outcome.operationId === operationId) watched.outcomes.set(outcome.deviceId, outcome);
    }
    return watched.outcomes;
  }

  /** Read once a device: its outcome is kept with the task's once found. */
  async #deviceVersion(deviceId: string, operateType: OperateType, call: BudgetedCall): Promise<string | undefined> {
    try {
      return await call(() => this.context.platform.deviceVersion(deviceId, operateType));
    } catch {
      // A device that cannot be read is not verified: counted apart as unverified.
      return undefined;
    }
  }

  /**
   * The open devices of a task past its deadline that count as timed out: those the platform does not
   * list as finished (asked at most every `recheckMs`; on the legacy API only with a reconciler).
   */
  async timedOut(task: TaskState, open: readonly string[], nowMs: number, recheckMs: number): Promise<Set<string>> {
    const { operationId } = task;
    if (operationId === undefined || open.length === 0) return new Set();
    const watched = this.#watched(operationId);
    if (nowMs - watched.checkedAt >= recheckMs) {
      watched.finishedElsewhere = await this.context.platform.finishedOnPlatform(operationId);
      watched.checkedAt = nowMs;
    }
    return new Set(open.filter((deviceId) => !watched.finishedElsewhere.has(deviceId)));
  }
}
