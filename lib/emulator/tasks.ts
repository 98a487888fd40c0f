// Version packages, devices and upgrade tasks. Each device of a task is a sub-task that moves through
// the documented states (wait -> processing -> success | fail) on a schedule drawn from a seeded
// random source, and tells the application on the way with the pushes the platform sends.
import { seeded } from '../core/random';
import { randomUUID } from 'node:crypto';
import type { DeviceNotifyType, NotificationTypes } from '../core/notification-types';
import {
  platformTime,
  type CreateUpgradeTaskInput,
  type DeviceData,
  type OperatePolicy,
  type OperateType,
  type OperationStaResult,
  type PackageType,
  type SubTaskStatus,
  type TaskStatus,
  type UpgradeTargets,
  type UpgradeSubTask,
  type UpgradeTask,
  type VersionPackage,
} from '../platform/contract';
import { EmulatorError } from './apps';
import type { EmulatedClock } from './clock';
import { firmwareFailures, softwareFailures } from './failures';

/** How the devices of the next tasks behave. */
export interface DeviceBehaviour {
  /** Emulated time a device takes from its first state to its result (default 2 minutes). */
  durationMs: number;
  /** Share of devices that end in FAIL (default 0.1). */
  failureRatio: number;
  /** Share of devices that start, then never answer again: no result, sub-task stays processing (default 0). */
  silentRatio: number;
  /** Devices start at random within this share of `durationMs` after the task is created (default 0.1). */
  startSpread: number;
  /** Each device takes `durationMs`, give or take this share of it, at random (default 0.2: 80 % to 120 %). */
  durationSpread: number;
}

export type UpgradePush = NotificationTypes[DeviceNotifyType];

interface Device {
  deviceId: string;
  versions: Partial<Record<PackageType, string>>;
  model?: string;
}

interface SubTask extends UpgradeSubTask {
  appId: string;
}

interface Task {
  appId: string;
  task: Omit<UpgradeTask, 'status' | 'staResult'>;
  fileId: string;
  subTasks: SubTask[];
}

/** A version package as the emulator keeps it: the version devices come from, too. */
export interface EmulatedPackage extends VersionPackage {
  /** The version devices run before this package (for `sourceVersion`). */
  fromVersion: string;
  /** Share of devices this package fails on (a bad firmware); default the devices' failureRatio. */
  failureRatio?: number;
  /** Per device model, the share it fails on: overrides failureRatio for devices of that model. */
  modelFailureRatios?: Record<string, number>;
  /** Share of its successes that leave the device's version as it was (an unverified success). Default 0. */
  unverifiedRatio?: number;
  /** The failure every failing device reports: an errorCode of the PCP table (software) or an LwM2M result text (firmware). */
  failWith?: string;
}

const MAX_TARGETS = 256;

const hex = (): string => randomUUID().replaceAll('-', '');

export class Tasks {
  readonly packages = new Map<string, EmulatedPackage>();
  readonly #devices = new Map<string, Device>();
  /** Device groups are made in the console; the emulator takes them from its control surface. */
  readonly groups = new Map<string, string[]>();
  readonly #tasks = new Map<string, Task>();
  readonly #random: () => number;
  behaviour: DeviceBehaviour;

  constructor(
    private readonly clock: EmulatedClock,
    private readonly push: (appId: string, body: UpgradePush) => void,
    options: { seed: number; behaviour: DeviceBehaviour },
  ) {
    this.#random = seeded(options.seed);
    this.behaviour = options.behaviour;
  }

  addPackage(fields: Partial<EmulatedPackage> & { fileType: PackageType; version: string }): EmulatedPackage {
    const software = fields.fileType === 'softwarePackage';
    const added: EmulatedPackage = {
      fileId: hex(),
      name: `${software ? 'software' : 'firmware'}-${fields.version}`,
      deviceType: 'WaterMeter',
      model: 'NBIoTDevice',
      manufacturerName: 'Huawei',
      protocolType: software ? 'CoAP' : 'LWM2M',
      description: '',
      date: platformTime(this.clock.now()),
      uploadTime: platformTime(this.clock.now()),
      fromVersion: software ? 'V1.0.0' : 'FW_1.0.0',
      ...fields,
    };
    this.packages.set(added.fileId, added);
    return added;
  }

  getPackage(fileId: string): EmulatedPackage {
    const found = this.packages.get(fileId);
    if (found === undefined) throw new EmulatorError('notFound');
    return found;
  }

  /** Validates as the platform documents (the codes of northbound.md §2.1), then starts every device. */
  create(appId: string, operateType: OperateType, body: unknown): string {
    const input = (typeof body === 'object' && body !== null ? body : {}) as Partial<Record<keyof CreateUpgradeTaskInput, unknown>>;
    if (typeof input.fileId !== 'string' || typeof input.targets !== 'object' || input.targets === null) throw new EmulatorError('badRequest');
    const targets = input.targets as { devices?: unknown; deviceGroups?: unknown };
    if (targets.devices === undefined && targets.deviceGroups === undefined) throw new EmulatorError('targetsMissing');
    if (targets.devices !== undefined && targets.deviceGroups !== undefined) throw new EmulatorError('targetsBoth');
    const file = this.getPackage(input.fileId);
    const deviceIds = [...new Set(targets.devices === undefined ? this.#groupDevices(input.targets as Record<string, unknown>, file) : this.#listed(targets.devices))];
    if (deviceIds.length === 0) throw new EmulatorError('targetsMissing');
    const policy = input.policy as OperatePolicy | undefined;
    if (policy?.executeType !== undefined && policy.executeType !== 'now') throw new EmulatorError('executeType');
    if (policy?.retryType === true && (!Number.isInteger(policy.retryTimes) || (policy.retryTimes as number) < 1 || (policy.retryTimes as number) > 5)) {
      throw new EmulatorError('retryTimes');
    }
    if ((file.fileType === 'softwarePackage') !== (operateType === 'software_upgrade')) {
      throw new EmulatorError('badRequest', 'error_code', `package ${file.fileId} is a ${file.fileType}, not for a ${operateType}.`);
    }
    const now = this.clock.now();
    const operationId = hex();
    const task: Task = {
      appId,
      fileId: file.fileId,
      task: { operationId, createTime: platformTime(now), startTime: platformTime(now), operateType, targets: input.targets as UpgradeTargets, policy: { executeType: 'now', ...policy } },
      subTasks: [],
    };
    for (const deviceId of deviceIds) {
      const device = this.#devices.get(deviceId) ?? { deviceId, versions: {} };
      this.#devices.set(deviceId, device);
      const subTask: SubTask = { appId, subOperationId: hex(), createTime: platformTime(now), operateType, deviceId, status: 'wait', detailInfo: '', extendInfo: {} };
      task.subTasks.push(subTask);
      this.#schedule(task, subTask, device, file);
    }
    this.#tasks.set(operationId, task);
    return operationId;
  }

  /** Up to 256 device IDs. */
  #listed(devices: unknown): string[] {
    if (!Array.isArray(devices) || !devices.every((id) => typeof id === 'string' && id !== '')) throw new EmulatorError('badRequest', 'error_code', 'targets.devices must be a list of device IDs.');
    if (devices.length > MAX_TARGETS) throw new EmulatorError('targetsTooMany');
    return devices as string[];
  }

  /** Up to 256 groups, with the device kind they hold, which must be the package's. */
  #groupDevices(targets: Record<string, unknown>, file: EmulatedPackage): string[] {
    const groups = targets['deviceGroups'];
    if (!Array.isArray(groups) || !groups.every((name) => typeof name === 'string')) throw new EmulatorError('badRequest', 'error_code', 'targets.deviceGroups must be a list of group names.');
    if (groups.length > MAX_TARGETS) throw new EmulatorError('targetsTooMany');
    const kind = { manufacturerName: 'manufacturerMissing', deviceType: 'deviceTypeMissing', model: 'modelMissing' } as const;
    for (const [name, error] of Object.entries(kind)) {
      if (typeof targets[name] !== 'string' || targets[name] === '') throw new EmulatorError(error);
      if (targets[name] !== file[name as keyof typeof kind]) throw new EmulatorError('versionMismatch');
    }
    return groups.flatMap((name: string) => {
      const members = this.groups.get(name);
      if (members === undefined) throw new EmulatorError('notFound', 'error_code', `Device group ${name} not found.`);
      return members;
    });
  }

  /** Sets the model of devices (by ID), for packages that fail on some models only. */
  setModels(models: Record<string, string>): void {
    for (const [deviceId, model] of Object.entries(models)) {
      const device = this.#devices.get(deviceId) ?? { deviceId, versions: {} };
      device.model = model;
      this.#devices.set(deviceId, device);
    }
  }

  /** A device the application upgraded (one it never targeted is not found), with the versions it runs. */
  device(appId: string, deviceId: string): DeviceData {
    const known = [...this.#tasks.values()].some((task) => task.appId === appId && task.subTasks.some((subTask) => subTask.deviceId === deviceId));
    const device = this.#devices.get(deviceId);
    if (!known || device === undefined) throw new EmulatorError('notFound', 'error_code', `Device ${deviceId} not found.`);
    const software = device.versions.softwarePackage;
    const firmware = device.versions.firmwarePackage;
    return { deviceId, deviceInfo: { ...(software !== undefined && { swVersion: software }), ...(firmware !== undefined && { fwVersion: firmware }), ...(device.model !== undefined && { model: device.model }) } };
  }

  get(appId: string, operationId: string): UpgradeTask {
    return view(this.#task(appId, operationId));
  }

  /** Every task of every application, oldest first, with the package it installs: what a test checks a rollout against. */
  all(): Array<UpgradeTask & { appId: string; fileId: string }> {
    return [...this.#tasks.values()].map((task) => ({ ...view(task), appId: task.appId, fileId: task.fileId }));
  }

  /** The application's tasks, or those `deviceId` took part in. */
  list(appId: string, deviceId: string | undefined): UpgradeTask[] {
    return [...this.#tasks.values()]
      .filter((task) => task.appId === appId && (deviceId === undefined || task.subTasks.some((subTask) => subTask.deviceId === deviceId)))
      .map(view);
  }

  subTasks(appId: string, operationId: string, status: string | undefined): UpgradeSubTask[] {
    return this.#task(appId, operationId)
      .subTasks.filter((subTask) => status === undefined || subTask.status === status)
      .map(({ appId: _appId, ...subTask }) => subTask);
  }

  #task(appId: string, operationId: string): Task {
    const task = this.#tasks.get(operationId);
    if (task?.appId !== appId) throw new EmulatorError('taskNotFound');
    return task;
  }

  /** The device's timeline: its states, then its result, as pushes on the emulated clock. */
  #schedule(task: Task, subTask: SubTask, device: Device, file: EmulatedPackage): void {
    const { durationMs, failureRatio, silentRatio, startSpread, durationSpread } = this.behaviour;
    const random = this.#random;
    const silent = random() < silentRatio;
    const ratio = (device.model === undefined ? undefined : file.modelFailureRatios?.[device.model]) ?? file.failureRatio ?? failureRatio;
    const fails = !silent && random() < ratio;
    const failure = random();
    // Drawn only for a package that asks: the draws of every other task stay as they were for a seed.
    const unverified = !silent && !fails && file.unverifiedRatio !== undefined && random() < file.unverifiedRatio;
    const start = this.clock.now() + random() * durationMs * startSpread;
    const took = durationMs * (1 - durationSpread + random() * 2 * durationSpread);
    const software = task.task.operateType === 'software_upgrade';
    const ids = { deviceId: device.deviceId, appId: task.appId, operationId: task.task.operationId, subOperationId: subTask.subOperationId };
    const steps = software
      ? (['downloading', 'downloaded', 'updating'] as const).map((swUpgradeState): UpgradePush => ({ notifyType: 'swUpgradeStateChangeNotify', ...ids, swUpgradeState }))
      : ([['1', 'downloading'], ['2', 'downloaded'], ['3', 'updating']] as const).map(([step, stepDesc]): UpgradePush => ({ notifyType: 'fwUpgradeStateChangeNotify', ...ids, step, stepDesc }));
    this.clock.at(start, () => {
      subTask.status = 'processing';
      subTask.startTime = platformTime(this.clock.now());
      this.push(task.appId, steps[0] as UpgradePush);
    });
    if (silent) return;
    // A failing device stops after its download (most failures in the tables are download-time ones).
    for (const [i, at] of (fails ? [0.5] : [0.5, 0.8]).entries()) this.clock.at(start + took * at, () => this.push(task.appId, steps[i + 1] as UpgradePush));
    this.clock.at(start + took, () => {
      const sourceVersion = device.versions[file.fileType] ?? file.fromVersion;
      subTask.status = fails ? 'fail' : 'success';
      subTask.stopTime = platformTime(this.clock.now());
      const upgraded = !fails && !unverified;
      if (upgraded) device.versions[file.fileType] = file.version;
      else device.versions[file.fileType] = sourceVersion;
      const upgradeTime = String(Math.round(took / 1000));
      const versions = { curVersion: upgraded ? file.version : sourceVersion, targetVersion: file.version, sourceVersion };
      if (software) {
        const reason = failureOf(softwareFailures, (entry) => entry.errorCode === file.failWith, failure);
        subTask.detailInfo = fails ? reason.description : 'upgrade success';
        this.push(task.appId, {
          notifyType: 'swUpgradeResultNotify',
          ...ids,
          ...versions,
          swUpgradeResult: fails ? 'FAIL' : 'SUCCESS',
          upgradeTime,
          resultDesc: fails ? 'upgrade failed' : 'upgrade success',
          errorCode: fails ? reason.errorCode : '0',
          description: fails ? reason.description : '',
        });
      } else {
        const reason = failureOf(firmwareFailures, (entry) => entry === file.failWith, failure);
        subTask.detailInfo = fails ? reason : 'Firmware updated successfully.';
        this.push(task.appId, { notifyType: 'fwUpgradeResultNotify', ...ids, ...versions, status: fails ? 'FAIL' : 'SUCCESS', statusDesc: fails ? reason : 'Firmware updated successfully.', upgradeTime });
      }
    });
  }
}

/** The package's own failure (failWith), or one drawn from the table. */
function failureOf<T>(table: readonly T[], chosen: (entry: T) => boolean, draw: number): T {
  return table.find(chosen) ?? (table[Math.floor(draw * table.length)] as T);
}

const counted: Record<SubTaskStatus, keyof OperationStaResult> = { wait: 'wait', processing: 'processing', success: 'success', fail: 'fail', stop: 'stop' };

/** The task as the platform answers it: status and counters follow from its sub-tasks. */
function view(task: Task): UpgradeTask {
  const staResult: OperationStaResult = { total: task.subTasks.length, wait: 0, processing: 0, success: 0, fail: 0, stop: 0, timeout: 0 };
  for (const subTask of task.subTasks) staResult[counted[subTask.status]] += 1;
  const open = staResult.wait + staResult.processing;
  const status: TaskStatus = staResult.wait === staResult.total ? 'wait' : open > 0 ? 'processing' : staResult.success === staResult.total ? 'success' : 'failed';
  const lastStop = task.subTasks.reduce((last, subTask) => (subTask.stopTime !== undefined && subTask.stopTime > last ? subTask.stopTime : last), '');
  return { ...task.task, status, staResult, ...(open === 0 && { stopTime: lastStop }) };
}
