// The fold behind the dashboard: every upgrade push, in the order received, folded into one summary
// per upgrade task (operationId) and one row per device. Counts are kept up to date push by push, so
// that reading 100 tasks of 10 000 devices costs a walk over the tasks, not over the devices.
import type { Delivered } from '../events';

export type TaskKind = 'software' | 'firmware';
export type UpgradeResult = 'SUCCESS' | 'FAIL';

/** One upgrade task at a glance. A device counts once, in its latest state. */
export interface TaskSummary {
  operationId: string;
  /** From the task's first push. */
  kind: TaskKind;
  devices: number;
  succeeded: number;
  failed: number;
  /** Devices whose result the reconciler filled in from the platform (no push brought it); in succeeded or failed too. */
  reconciled: number;
  /** Devices with no result yet (stale ones included). */
  inProgress: number;
  /** Devices in progress from which nothing arrived for `staleAfterMs`. */
  stale: number;
  /** Devices in progress, by their last reported state. */
  states: Record<string, number>;
  /** Failed devices, by errorCode (software) or statusDesc (firmware, which has no errorCode). */
  errorCodes: Record<string, number>;
  /** Devices by the version they are being upgraded to. */
  targetVersions: Record<string, number>;
  firstSeen: Date;
  lastSeen: Date;
}

export interface DeviceHistoryEntry {
  at: Date;
  notifyType: Delivered['notifyType'];
  state?: string;
  result?: UpgradeResult;
}

export interface DeviceRow {
  deviceId: string;
  subOperationId: string;
  /** The last reported state (firmware steps mapped to idle / downloading / downloaded / updating). */
  state: string | null;
  /** The latest result; null while in progress. */
  result: UpgradeResult | null;
  /** errorCode (software), statusDesc (firmware) or, for a reconciled failure, the platform's detailInfo. */
  errorCode: string | null;
  /** The result came from the platform's sub-task list, filled in by the reconciler: no push brought it. */
  reconciled: boolean;
  sourceVersion: string | null;
  curVersion: string | null;
  targetVersion: string | null;
  lastSeen: Date;
  /** The pushes for this device, oldest first (the last 20). */
  history: DeviceHistoryEntry[];
}

export interface TaskDetail {
  task: TaskSummary;
  devices: DeviceRow[];
}

export interface FoldLimits {
  /** Tasks kept; beyond it the least recently active task is dropped. Default 1 000. */
  tasks?: number;
  /**
   * Devices kept, all tasks together (about 150 MB at the default); beyond it the least recently
   * active device of the least recently active task is dropped. Default 200 000.
   */
  devices?: number;
}

const HISTORY = 20;
const FIRMWARE_STEPS = { '0': 'idle', '1': 'downloading', '2': 'downloaded', '3': 'updating' } as const;

interface Device extends Omit<DeviceRow, 'lastSeen' | 'history'> {
  lastSeen: number;
  // Times as numbers: a million devices' histories of Date objects weigh too much.
  history: Array<Omit<DeviceHistoryEntry, 'at'> & { at: number }>;
}

interface Task {
  operationId: string;
  kind: TaskKind;
  firstSeen: number;
  lastSeen: number;
  /** Least recently active first (a device is moved to the end when a push arrives). */
  devices: Map<string, Device>;
  /** The devices in progress, least recently active first: the stale ones are at the front. */
  active: Map<string, Device>;
  succeeded: number;
  failed: number;
  reconciled: number;
  states: Map<string, number>;
  errorCodes: Map<string, number>;
  targetVersions: Map<string, number>;
}

function add(counts: Map<string, number>, key: string | null, by: number): void {
  if (key === null) return;
  const value = (counts.get(key) ?? 0) + by;
  if (value === 0) counts.delete(key);
  else counts.set(key, value);
}

const record = (counts: Map<string, number>): Record<string, number> => Object.fromEntries(counts);

type HistoryEntry = Device['history'][number];

// What one push says about its device, written into it; returns the push's history entry. Written
// out field by field: this runs for every push while the dashboard is attached (no spreads).
function read(device: Device, notification: Delivered, at: number): HistoryEntry {
  switch (notification.notifyType) {
    case 'reconciledResult':
      device.result = notification.result;
      device.errorCode = notification.result === 'FAIL' ? (notification.detailInfo ?? null) : null;
      device.reconciled = true;
      return { at, notifyType: notification.notifyType, result: notification.result };
    case 'swUpgradeStateChangeNotify':
      device.state = notification.swUpgradeState;
      return { at, notifyType: notification.notifyType, state: device.state };
    case 'fwUpgradeStateChangeNotify':
      device.state = FIRMWARE_STEPS[notification.step];
      return { at, notifyType: notification.notifyType, state: device.state };
    case 'swUpgradeResultNotify':
      device.errorCode = notification.swUpgradeResult === 'FAIL' ? notification.errorCode : null;
      return versions(device, notification, notification.swUpgradeResult, at);
    case 'fwUpgradeResultNotify':
      device.errorCode = notification.status === 'FAIL' ? notification.statusDesc : null;
      return versions(device, notification, notification.status, at);
  }
}

function versions(device: Device, notification: Delivered & { sourceVersion: string; curVersion: string; targetVersion: string }, result: UpgradeResult, at: number): HistoryEntry {
  // The latest result wins: a SUCCESS after a FAIL is a success.
  device.result = result;
  device.reconciled = false;
  device.sourceVersion = notification.sourceVersion;
  device.curVersion = notification.curVersion;
  device.targetVersion = notification.targetVersion;
  return { at, notifyType: notification.notifyType, result };
}

export class UpgradeFold {
  readonly #tasks = new Map<string, Task>();
  readonly #maxTasks: number;
  readonly #maxDevices: number;
  readonly #staleAfterMs: number;
  #devices = 0;

  constructor(staleAfterMs: number, limits: FoldLimits = {}) {
    this.#staleAfterMs = staleAfterMs;
    this.#maxTasks = limits.tasks ?? 1000;
    this.#maxDevices = limits.devices ?? 200_000;
  }

  /** Folds one push received at `at`. Pushes are taken in the order they are given. */
  apply(notification: Delivered, at: Date): void {
    const time = at.getTime();
    const task = this.#task(notification, time);
    const previous = task.devices.get(notification.deviceId);
    if (previous !== undefined) this.#count(task, previous, -1);
    else this.#devices += 1;
    const device: Device = previous ?? {
      deviceId: notification.deviceId,
      subOperationId: notification.subOperationId,
      state: null,
      result: null,
      errorCode: null,
      reconciled: false,
      sourceVersion: null,
      curVersion: null,
      targetVersion: null,
      lastSeen: time,
      history: [],
    };
    device.subOperationId = notification.subOperationId;
    device.history.push(read(device, notification, time));
    device.lastSeen = Math.max(device.lastSeen, time);
    if (device.history.length > HISTORY) device.history.shift();
    // Most recently active last, in both maps.
    task.devices.delete(device.deviceId);
    task.devices.set(device.deviceId, device);
    task.active.delete(device.deviceId);
    if (device.result === null) task.active.set(device.deviceId, device);
    this.#count(task, device, 1);
    if (this.#devices > this.#maxDevices) this.#evictDevice();
  }

  /** Summaries, most recently active first. */
  tasks(now = Date.now()): TaskSummary[] {
    return [...this.#tasks.values()].reverse().map((task) => this.#summary(task, now));
  }

  task(operationId: string, now = Date.now()): TaskDetail | undefined {
    const task = this.#tasks.get(operationId);
    if (task === undefined) return undefined;
    const devices = [...task.devices.values()]
      .reverse()
      .map((device) => ({ ...device, lastSeen: new Date(device.lastSeen), history: device.history.map((entry) => ({ ...entry, at: new Date(entry.at) })) }));
    return { task: this.#summary(task, now), devices };
  }

  #task(notification: Delivered, time: number): Task {
    let task = this.#tasks.get(notification.operationId);
    if (task === undefined) {
      task = {
        operationId: notification.operationId,
        kind: notification.notifyType === 'reconciledResult' ? (notification.operateType === 'software_upgrade' ? 'software' : 'firmware') : notification.notifyType.startsWith('sw') ? 'software' : 'firmware',
        firstSeen: time,
        lastSeen: time,
        devices: new Map(),
        active: new Map(),
        succeeded: 0,
        failed: 0,
        reconciled: 0,
        states: new Map(),
        errorCodes: new Map(),
        targetVersions: new Map(),
      };
      if (this.#tasks.size >= this.#maxTasks) this.#evictTask();
    }
    task.lastSeen = Math.max(task.lastSeen, time);
    this.#tasks.delete(task.operationId);
    this.#tasks.set(task.operationId, task);
    return task;
  }

  // A device's part in its task's counts, added (1) or taken away (-1).
  #count(task: Task, device: Device, sign: 1 | -1): void {
    add(task.targetVersions, device.targetVersion, sign);
    if (device.reconciled) task.reconciled += sign;
    if (device.result === 'SUCCESS') task.succeeded += sign;
    else if (device.result === 'FAIL') {
      task.failed += sign;
      add(task.errorCodes, device.errorCode ?? '(none)', sign);
    } else add(task.states, device.state ?? 'unknown', sign);
  }

  // Called only when the map is full, so it has a first entry.
  #evictTask(): void {
    const oldest = this.#tasks.values().next().value as Task;
    this.#tasks.delete(oldest.operationId);
    this.#devices -= oldest.devices.size;
  }

  // The least recently active device of the least recently active task (an empty task goes too).
  // Called only when there are more devices than the limit, so the first task has one.
  #evictDevice(): void {
    const task = this.#tasks.values().next().value as Task;
    const oldest = task.devices.values().next().value as Device;
    this.#count(task, oldest, -1);
    task.devices.delete(oldest.deviceId);
    task.active.delete(oldest.deviceId);
    this.#devices -= 1;
    if (task.devices.size === 0) this.#tasks.delete(task.operationId);
  }

  #summary(task: Task, now: number): TaskSummary {
    let stale = 0;
    const cutoff = now - this.#staleAfterMs;
    // Least recently active first: stop at the first device heard from since the cutoff.
    for (const device of task.active.values()) {
      if (device.lastSeen >= cutoff) break;
      stale += 1;
    }
    const devices = task.devices.size;
    return {
      operationId: task.operationId,
      kind: task.kind,
      devices,
      succeeded: task.succeeded,
      failed: task.failed,
      reconciled: task.reconciled,
      inProgress: devices - task.succeeded - task.failed,
      stale,
      states: record(task.states),
      errorCodes: record(task.errorCodes),
      targetVersions: record(task.targetVersions),
      firstSeen: new Date(task.firstSeen),
      lastSeen: new Date(task.lastSeen),
    };
  }
}
