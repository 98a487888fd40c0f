// The fold behind the dashboard: every upgrade push, in the order received, folded into one summary
// per upgrade task (operationId, or an IoTDA task_id) and one row per device. Counts are kept up to date push by push, so
// that reading 100 tasks of 10 000 devices costs a walk over the tasks, not over the devices. What it
// keeps is bounded in bytes (an estimate that errs high), not only in devices: a push's fields have no
// maximum length.
import type { Delivered, DeviceDelivered, IotdaDeviceResult } from '../core/events';
import { SharedStrings, cut, weighText } from './strings';

export type TaskKind = 'software' | 'firmware';

/** What the fold takes: a legacy device's push or filled-in result, or an IoTDA device's outcome read from its task. */
export type Folded = DeviceDelivered | IotdaDeviceResult;
/** Everything but IoTDA's task pushes (their devices come as `iotdaDeviceResult`). */
export const isFolded = (delivered: Delivered): delivered is Folded => 'notifyType' in delivered;
export type UpgradeResult = 'SUCCESS' | 'FAIL';

/** Results per source and target version. */
export interface VersionCounts {
  sourceVersion: string;
  targetVersion: string;
  succeeded: number;
  failed: number;
}

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
  /** The task's "silent for" threshold: the dashboard's `staleAfterMs`, or the one set with `staleAfter()`. */
  staleAfterMs: number;
  /** Devices in progress, by their last reported state. */
  states: Record<string, number>;
  /** Failed devices, by errorCode (software) or statusDesc (firmware, which has no errorCode). */
  errorCodes: Record<string, number>;
  /** Devices by the version they are being upgraded to. */
  targetVersions: Record<string, number>;
  /** Results by source and target version (devices with a pushed result; a reconciled one has no versions). */
  versions: VersionCounts[];
  firstSeen: Date;
  /** The latest push or reconciled fill. */
  lastSeen: Date;
  /** The latest push from the platform (fills left out); null when every result came from reconciliation. */
  lastPush: Date | null;
  /** The latest result filled in by the reconciler; null when none was. */
  lastFilled: Date | null;
  /** Results pushed (succeeded or failed) a minute, over the last ten minutes; reconciled fills are not a pace. */
  resultsPerMinute: number;
}

export interface DeviceHistoryEntry {
  at: Date;
  notifyType: Folded['notifyType'];
  state?: string;
  result?: UpgradeResult;
}

export interface DeviceRow {
  deviceId: string;
  subOperationId: string;
  /**
   * While in progress, the last reported state (firmware steps mapped to idle / downloading /
   * downloaded / updating); once a result is in, 'succeeded' or 'failed'.
   */
  state: string | null;
  /** The latest result; null while in progress. */
  result: UpgradeResult | null;
  /** errorCode (software), statusDesc (firmware), for a reconciled failure the platform's detailInfo, on IoTDA the detail's error_code (or `Stopped`). */
  errorCode: string | null;
  /** The result push's texts as sent: resultDesc and description (software), statusDesc (firmware); detailInfo of a reconciled result, and an IoTDA detail's error_msg (or output), go in resultDesc. */
  resultDesc: string | null;
  description: string | null;
  statusDesc: string | null;
  /** The result came from the platform's sub-task list, filled in by the reconciler: no push brought it. */
  reconciled: boolean;
  sourceVersion: string | null;
  curVersion: string | null;
  targetVersion: string | null;
  /** The result push's upgradeTime, as text (the platform sends a string or a number; its unit is not documented). */
  upgradeTime: string | null;
  firstSeen: Date;
  lastSeen: Date;
  /** The pushes for this device, oldest first (the last 20). */
  history: DeviceHistoryEntry[];
}

export interface FoldLimits {
  /** Tasks kept; beyond it the least recently active task is dropped. Default 1 000. */
  tasks?: number;
  /** Devices kept, all tasks together; beyond it the least recently active device of the least recently active task is dropped. Default 200 000. */
  devices?: number;
  /** Bytes the fold may hold (its own estimate, which errs high); beyond it devices are dropped the same way. Default 256 MiB. */
  bytes?: number;
  /** Live streams (`/api/stream`) open at once; one more is answered 503 (the page polls meanwhile). Default 100. */
  streams?: number;
  /** A live stream is ended after this long, give or take a tenth (the browser opens a new one a second later). Default 5 minutes. */
  streamLifetimeMs?: number;
}

/** What the fold holds now, and what it dropped to stay within its limits. */
export interface FoldStats {
  tasks: number;
  devices: number;
  /** The fold's estimate of the bytes it holds. */
  bytes: number;
  /** Devices and tasks dropped to stay within the limits, since start. */
  droppedDevices: number;
  droppedTasks: number;
}

const HISTORY = 20;
const FIRMWARE_STEPS = { '0': 'idle', '1': 'downloading', '2': 'downloaded', '3': 'updating' } as const;
/** A device object, its two map entries and its fixed fields; a history entry. Measured on V8 and rounded up. */
const DEVICE_BYTES = 400;
const HISTORY_BYTES = 72;
const TASK_BYTES = 2_000;
/** A listed device id's entry in its Set, beside the string itself. */
const LISTED_BYTES = 40;
const RATE_MINUTES = 10;
const MINUTE = 60_000;

/** A device as the fold keeps it: times as numbers (a million devices' Dates weigh too much), and its weight. */
export interface Device extends Omit<DeviceRow, 'firstSeen' | 'lastSeen' | 'history'> {
  firstSeen: number;
  lastSeen: number;
  history: Array<Omit<DeviceHistoryEntry, 'at'> & { at: number }>;
  bytes: number;
}

export interface Task {
  operationId: string;
  kind: TaskKind;
  firstSeen: number;
  lastSeen: number;
  lastPush: number | null;
  lastFilled: number | null;
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
  versions: Map<string, VersionCounts>;
  /** Results per minute: the minute of the last one, and counts for the last RATE_MINUTES minutes (newest first). */
  rate: { minute: number; counts: number[] };
  /** Bumped on every change: views of the task are rebuilt when it moved. */
  version: number;
  /** Devices of the list given with `expect()` that are among `devices`. */
  listedSeen: number;
}

function add(counts: Map<string, number>, key: string | null, by: number): void {
  if (key === null) return;
  const value = (counts.get(key) ?? 0) + by;
  if (value === 0) counts.delete(key);
  else counts.set(key, value);
}

const record = (counts: Map<string, number>): Record<string, number> => Object.fromEntries(counts);

function weigh(device: Device): number {
  return (
    DEVICE_BYTES +
    HISTORY_BYTES * device.history.length +
    weighText(device.deviceId) +
    weighText(device.subOperationId) +
    weighText(device.state) +
    weighText(device.errorCode) +
    weighText(device.resultDesc) +
    weighText(device.description) +
    weighText(device.statusDesc) +
    weighText(device.sourceVersion) +
    weighText(device.curVersion) +
    weighText(device.targetVersion) +
    weighText(device.upgradeTime)
  );
}

function kindOf(notification: Folded): TaskKind {
  if (notification.notifyType === 'iotdaDeviceResult') return notification.taskType === 'softwareUpgrade' ? 'software' : 'firmware';
  if (notification.notifyType === 'reconciledResult') return notification.operateType === 'software_upgrade' ? 'software' : 'firmware';
  return notification.notifyType.startsWith('sw') ? 'software' : 'firmware';
}

export class UpgradeFold {
  readonly #tasks = new Map<string, Task>();
  readonly #maxTasks: number;
  readonly #maxDevices: number;
  readonly #maxBytes: number;
  readonly #staleAfterMs: number;
  readonly #shared: SharedStrings;
  /** Thresholds given with `staleAfter()`, by task. */
  readonly #staleAfter = new Map<string, number>();
  /** The device lists given with `expect()`, by task; weighed with the rest. */
  readonly #listed = new Map<string, Set<string>>();
  #listedBytes = 0;
  #devices = 0;
  #bytes = 0;
  #droppedDevices = 0;
  #droppedTasks = 0;

  constructor(staleAfterMs: number, limits: FoldLimits = {}) {
    this.#staleAfterMs = staleAfterMs;
    this.#maxTasks = limits.tasks ?? 1000;
    this.#maxDevices = limits.devices ?? 200_000;
    this.#maxBytes = limits.bytes ?? 256 * 1024 * 1024;
    // A tenth of the budget for values shared by many devices (versions, states, codes, texts).
    this.#shared = new SharedStrings(this.#maxBytes / 10);
  }

  /** Folds one push received at `at`; returns its task's operationId (an IoTDA task_id) as kept. Pushes are taken in the order given. */
  apply(notification: Folded, at: Date): string {
    const time = at.getTime();
    const task = this.#task(notification, time);
    const deviceId = cut(notification.deviceId);
    const previous = task.devices.get(deviceId);
    if (previous !== undefined) {
      this.#count(task, previous, -1);
      this.#bytes -= previous.bytes;
    } else {
      this.#devices += 1;
      if (this.#listed.get(task.operationId)?.has(deviceId) === true) task.listedSeen += 1;
    }
    const device: Device = previous ?? {
      deviceId,
      subOperationId: '',
      state: null,
      result: null,
      errorCode: null,
      resultDesc: null,
      description: null,
      statusDesc: null,
      reconciled: false,
      sourceVersion: null,
      curVersion: null,
      targetVersion: null,
      upgradeTime: null,
      firstSeen: time,
      lastSeen: time,
      history: [],
      bytes: 0,
    };
    const resultBefore = device.result;
    device.subOperationId = notification.notifyType === 'iotdaDeviceResult' ? '' : cut(notification.subOperationId);
    device.history.push(this.#read(device, notification, time));
    device.lastSeen = Math.max(device.lastSeen, time);
    if (device.history.length > HISTORY) device.history.shift();
    // Most recently active last, in both maps.
    task.devices.delete(deviceId);
    task.devices.set(deviceId, device);
    task.active.delete(deviceId);
    if (device.result === null) task.active.set(deviceId, device);
    this.#count(task, device, 1);
    if (device.result !== null && device.result !== resultBefore && notification.notifyType !== 'reconciledResult') this.#rate(task, time);
    device.bytes = weigh(device);
    this.#bytes += device.bytes;
    task.version += 1;
    while (this.#devices > this.#maxDevices || this.#held() > this.#maxBytes) {
      if (!this.#evictDevice(task)) break;
    }
    return task.operationId;
  }

  /** One task as kept (read-only for callers: the views and the CSV walk it). */
  get(operationId: string): Task | undefined {
    return this.#tasks.get(operationId);
  }

  /** Every task, least recently active first. */
  all(): IterableIterator<Task> {
    return this.#tasks.values();
  }

  stats(): FoldStats {
    return { tasks: this.#tasks.size, devices: this.#devices, bytes: this.#held(), droppedDevices: this.#droppedDevices, droppedTasks: this.#droppedTasks };
  }

  #held(): number {
    return this.#bytes + this.#shared.bytes + this.#listedBytes;
  }

  /**
   * The devices a task is expected to reach (the list the user gives), replacing an earlier list. What
   * the fold holds of other devices is dropped, least recently active first, to make room.
   */
  expect(operationId: string, deviceIds: Iterable<string>): void {
    const id = cut(operationId);
    const before = this.#listed.get(id);
    if (before !== undefined) for (const device of before) this.#listedBytes -= weighText(device) + LISTED_BYTES;
    const listed = new Set<string>();
    for (const device of deviceIds) listed.add(cut(device));
    for (const device of listed) this.#listedBytes += weighText(device) + LISTED_BYTES;
    this.#listed.set(id, listed);
    const task = this.#tasks.get(id);
    if (task !== undefined) {
      task.listedSeen = 0;
      for (const device of task.devices.keys()) if (listed.has(device)) task.listedSeen += 1;
      task.version += 1;
    }
    while (this.#held() > this.#maxBytes && this.#tasks.size > 0) this.#evictDevice(undefined);
  }

  /** The size of a task's list, and how many of its devices have not reported; undefined without a list. */
  listed(operationId: string): { expected: number; notReported: number } | undefined {
    const listed = this.#listed.get(operationId);
    if (listed === undefined) return undefined;
    return { expected: listed.size, notReported: listed.size - (this.#tasks.get(operationId)?.listedSeen ?? 0) };
  }

  /** A page of a task's listed devices that have not reported, in the list's order. */
  notReported(operationId: string, offset: number, limit: number): { total: number; deviceIds: string[] } | undefined {
    const listed = this.#listed.get(operationId);
    if (listed === undefined) return undefined;
    const seen = this.#tasks.get(operationId)?.devices;
    const deviceIds: string[] = [];
    let skip = offset;
    for (const device of listed) {
      if (deviceIds.length === limit) break;
      if (seen?.has(device) === true) continue;
      if (skip > 0) skip -= 1;
      else deviceIds.push(device);
    }
    return { total: listed.size - (this.#tasks.get(operationId)?.listedSeen ?? 0), deviceIds };
  }

  /** A task's own "silent for" threshold, in place of the dashboard's; undefined goes back to the dashboard's. */
  staleAfter(operationId: string, ms: number | undefined): void {
    const id = cut(operationId);
    if (ms === undefined) this.#staleAfter.delete(id);
    else this.#staleAfter.set(id, ms);
    const task = this.#tasks.get(id);
    if (task !== undefined) task.version += 1;
  }

  staleAfterMs(task: Task): number {
    return this.#staleAfter.get(task.operationId) ?? this.#staleAfterMs;
  }

  isStale(task: Task, device: Device, now: number): boolean {
    return device.result === null && device.lastSeen < now - this.staleAfterMs(task);
  }

  // What one push says about its device, written into it; returns the push's history entry. Written
  // out field by field: this runs for every push while the dashboard is attached (no spreads).
  #read(device: Device, notification: Folded, at: number): Device['history'][number] {
    const shared = this.#shared;
    switch (notification.notifyType) {
      case 'iotdaDeviceResult': {
        const result = notification.status === 'Success' ? 'SUCCESS' : 'FAIL';
        device.result = result;
        device.state = result === 'SUCCESS' ? 'succeeded' : 'failed';
        device.errorCode = result === 'FAIL' ? shared.keep(notification.error?.error_code ?? notification.status) : null;
        device.resultDesc = shared.keepOrNull(notification.error?.error_msg ?? notification.output);
        device.description = null;
        device.statusDesc = null;
        device.reconciled = false;
        return { at, notifyType: notification.notifyType, result };
      }
      case 'reconciledResult':
        device.result = notification.result;
        device.state = notification.result === 'SUCCESS' ? 'succeeded' : 'failed';
        device.errorCode = notification.result === 'FAIL' ? shared.keepOrNull(notification.detailInfo) : null;
        device.resultDesc = shared.keepOrNull(notification.detailInfo);
        device.description = null;
        device.statusDesc = null;
        device.reconciled = true;
        return { at, notifyType: notification.notifyType, result: notification.result };
      case 'swUpgradeStateChangeNotify':
      case 'fwUpgradeStateChangeNotify': {
        const state = notification.notifyType === 'swUpgradeStateChangeNotify' ? shared.keep(notification.swUpgradeState) : FIRMWARE_STEPS[notification.step];
        // A state that arrives after the result (pushes overtake each other) does not undo it.
        if (device.result === null) device.state = state;
        return { at, notifyType: notification.notifyType, state };
      }
      case 'swUpgradeResultNotify':
        device.errorCode = notification.swUpgradeResult === 'FAIL' ? shared.keep(notification.errorCode) : null;
        device.resultDesc = shared.keep(notification.resultDesc);
        device.description = shared.keep(notification.description);
        device.statusDesc = null;
        return this.#versions(device, notification, notification.swUpgradeResult, at);
      case 'fwUpgradeResultNotify':
        device.errorCode = notification.status === 'FAIL' ? shared.keep(notification.statusDesc) : null;
        device.resultDesc = null;
        device.description = null;
        device.statusDesc = shared.keep(notification.statusDesc);
        return this.#versions(device, notification, notification.status, at);
    }
  }

  #versions(device: Device, notification: DeviceDelivered & { sourceVersion: string; curVersion: string; targetVersion: string; upgradeTime: string | number }, result: UpgradeResult, at: number): Device['history'][number] {
    const shared = this.#shared;
    // The latest result wins: a SUCCESS after a FAIL is a success.
    device.result = result;
    device.state = result === 'SUCCESS' ? 'succeeded' : 'failed';
    device.reconciled = false;
    device.sourceVersion = shared.keep(notification.sourceVersion);
    device.curVersion = shared.keep(notification.curVersion);
    device.targetVersion = shared.keep(notification.targetVersion);
    device.upgradeTime = shared.keep(String(notification.upgradeTime));
    return { at, notifyType: notification.notifyType, result };
  }

  #task(notification: Folded, time: number): Task {
    const operationId = cut(notification.notifyType === 'iotdaDeviceResult' ? notification.taskId : notification.operationId);
    let task = this.#tasks.get(operationId);
    if (task === undefined) {
      task = {
        operationId,
        kind: kindOf(notification),
        firstSeen: time,
        lastSeen: time,
        lastPush: null,
        lastFilled: null,
        devices: new Map(),
        active: new Map(),
        succeeded: 0,
        failed: 0,
        reconciled: 0,
        states: new Map(),
        errorCodes: new Map(),
        targetVersions: new Map(),
        versions: new Map(),
        rate: { minute: Math.floor(time / MINUTE), counts: [0] },
        version: 0,
        listedSeen: 0,
      };
      if (this.#tasks.size >= this.#maxTasks) this.#evictTask();
      this.#bytes += TASK_BYTES + weighText(operationId);
    }
    task.lastSeen = Math.max(task.lastSeen, time);
    if (notification.notifyType === 'reconciledResult') task.lastFilled = Math.max(task.lastFilled ?? time, time);
    else task.lastPush = Math.max(task.lastPush ?? time, time);
    this.#tasks.delete(task.operationId);
    this.#tasks.set(task.operationId, task);
    return task;
  }

  // A device's part in its task's counts, added (1) or taken away (-1).
  #count(task: Task, device: Device, sign: 1 | -1): void {
    add(task.targetVersions, device.targetVersion, sign);
    if (device.reconciled) task.reconciled += sign;
    if (device.result === null) {
      add(task.states, device.state ?? 'unknown', sign);
      return;
    }
    if (device.result === 'SUCCESS') task.succeeded += sign;
    else {
      task.failed += sign;
      add(task.errorCodes, device.errorCode ?? '(none)', sign);
    }
    if (device.sourceVersion !== null && device.targetVersion !== null) {
      const key = `${device.sourceVersion}\u0000${device.targetVersion}`;
      const counts = task.versions.get(key) ?? { sourceVersion: device.sourceVersion, targetVersion: device.targetVersion, succeeded: 0, failed: 0 };
      if (device.result === 'SUCCESS') counts.succeeded += sign;
      else counts.failed += sign;
      if (counts.succeeded + counts.failed === 0) task.versions.delete(key);
      else task.versions.set(key, counts);
    }
  }

  #rate(task: Task, time: number): void {
    const minute = Math.floor(time / MINUTE);
    const { rate } = task;
    // Pushes are folded in the order received; one from an earlier minute (a journal read late) counts in the newest.
    const gap = minute - rate.minute;
    if (gap > 0) {
      rate.counts = gap >= RATE_MINUTES ? [0] : [...new Array<number>(gap).fill(0), ...rate.counts].slice(0, RATE_MINUTES);
      rate.minute = minute;
    }
    rate.counts[0] = (rate.counts[0] ?? 0) + 1;
  }

  // Called only when the map is full, so it has a first entry.
  #evictTask(): void {
    const oldest = this.#tasks.values().next().value as Task;
    this.#drop(oldest);
  }

  #drop(task: Task): void {
    this.#tasks.delete(task.operationId);
    this.#devices -= task.devices.size;
    for (const device of task.devices.values()) this.#bytes -= device.bytes;
    this.#bytes -= TASK_BYTES + weighText(task.operationId);
    this.#droppedDevices += task.devices.size;
    this.#droppedTasks += 1;
  }

  // The least recently active device of the least recently active task (an empty task goes too); never
  // the device just folded (`current`'s last one). Returns false when nothing more can go.
  #evictDevice(current: Task | undefined): boolean {
    const task = this.#tasks.values().next().value as Task;
    if (task === current && task.devices.size <= 1) return false;
    const oldest = task.devices.values().next().value as Device;
    this.#count(task, oldest, -1);
    task.devices.delete(oldest.deviceId);
    task.active.delete(oldest.deviceId);
    task.version += 1;
    this.#devices -= 1;
    this.#bytes -= oldest.bytes;
    this.#droppedDevices += 1;
    if (this.#listed.get(task.operationId)?.has(oldest.deviceId) === true) task.listedSeen -= 1;
    if (task.devices.size === 0) {
      this.#tasks.delete(task.operationId);
      this.#bytes -= TASK_BYTES + weighText(task.operationId);
      this.#droppedTasks += 1;
    }
    return true;
  }

  summary(task: Task, now: number): TaskSummary {
    let stale = 0;
    // Least recently active first: stop at the first device that is not stale.
    for (const device of task.active.values()) {
      if (!this.isStale(task, device, now)) break;
      stale += 1;
    }
    const devices = task.devices.size;
    const minute = Math.floor(now / MINUTE);
    const recent = task.rate.counts.slice(0, Math.max(0, RATE_MINUTES - (minute - task.rate.minute)));
    return {
      operationId: task.operationId,
      kind: task.kind,
      devices,
      succeeded: task.succeeded,
      failed: task.failed,
      reconciled: task.reconciled,
      inProgress: devices - task.succeeded - task.failed,
      stale,
      staleAfterMs: this.staleAfterMs(task),
      states: record(task.states),
      errorCodes: record(task.errorCodes),
      targetVersions: record(task.targetVersions),
      versions: [...task.versions.values()].map((counts) => ({ ...counts })),
      firstSeen: new Date(task.firstSeen),
      lastSeen: new Date(task.lastSeen),
      lastPush: task.lastPush === null ? null : new Date(task.lastPush),
      lastFilled: task.lastFilled === null ? null : new Date(task.lastFilled),
      resultsPerMinute: recent.reduce((sum, count) => sum + count, 0) / RATE_MINUTES,
    };
  }
}
