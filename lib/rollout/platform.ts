// What a rollout asks of the platform, one seam with an adapter per platform: the legacy northbound
// API (tasks by operationId, results pushed and reconciled) and IoTDA's v5 (tasks by task_id, named
// so a lost create is found by its name, results read from the task, tasks that can be stopped).
import type { Journal } from '../journal/journal';
import { PlatformClient } from '../platform/client';
import type { OperateType } from '../platform/contract';
import { PlatformError } from '../platform/errors';
import type { Reconciler } from '../reconcile/reconciler';
import type { IotdaClient } from '../iotda/client';
import type { IotdaResults } from '../iotda/results';
import { findCreated } from './recover';

export interface RolloutPlatform {
  readonly name: 'legacy' | 'iotda';
  /** The package's version (what a success must show) and kind. */
  packageOf(fileId: string): Promise<{ version: string; operateType: OperateType }>;
  /** Creates one task; `name` is unique to the rollout, wave and task. Resolves with the platform's task ID. */
  create(operateType: OperateType, fileId: string, devices: string[], name: string): Promise<string>;
  /** The task a create (whose answer was never recorded) made, if it made one. */
  findCreated(operateType: OperateType, devices: readonly string[], sinceMs: number, name: string): Promise<string | undefined>;
  /** A create's failure that says the task was not made (not a lost answer, flow control or a token). */
  refusedOutright(error: unknown): error is PlatformError;
  /** The version a device shows, undefined when it cannot be read. */
  deviceVersion(deviceId: string, operateType: OperateType): Promise<string | undefined>;
  /** Makes the results reader follow a task the rollout runs. */
  follow(taskId: string): void;
  /** The task's devices the platform has as finished (their results are on their way to the journal). */
  finishedOnPlatform(taskId: string): Promise<Set<string>>;
  /** Stops a task; undefined where the platform cannot (the legacy API). */
  stop?: (taskId: string) => Promise<void>;
}

const versionOf = (operateType: OperateType, device: { fw?: string | undefined; sw?: string | undefined }): string | undefined => (operateType === 'software_upgrade' ? device.sw : device.fw);

export function legacyPlatform(client: PlatformClient, reconciler: Reconciler | undefined): RolloutPlatform {
  return {
    name: 'legacy',
    packageOf: async (fileId) => {
      const found = await client.getPackage(fileId);
      return { version: found.version, operateType: found.fileType === 'softwarePackage' ? 'software_upgrade' : 'firmware_upgrade' };
    },
    create: async (operateType, fileId, devices) => {
      const input = { fileId, targets: { devices } };
      return (await (operateType === 'software_upgrade' ? client.createSoftwareUpgradeTask(input) : client.createFirmwareUpgradeTask(input))).operationId;
    },
    findCreated: (operateType, devices, sinceMs) => findCreated(client, operateType, devices, sinceMs),
    // Flow control (1010009) and an expired token (1010005) say nothing about the task.
    refusedOutright: (error): error is PlatformError => error instanceof PlatformError && error.status >= 400 && error.status < 500 && error.code !== '1010009' && error.code !== '1010005',
    deviceVersion: async (deviceId, operateType) => {
      const { deviceInfo } = await client.getDevice(deviceId);
      return versionOf(operateType, { fw: deviceInfo.fwVersion, sw: deviceInfo.swVersion });
    },
    follow: (taskId) => reconciler?.track(taskId),
    // Without a reconciler nothing is known beyond the journal.
    finishedOnPlatform: async (taskId) => (reconciler === undefined ? new Set() : new Set((await reconciler.reconcile(taskId)).missing.map((device) => device.deviceId))),
  };
}

/** The name a task is created with where the platform takes one (IoTDA's task_name): a lost create's task is found by it. */
export const taskNameOf = (rolloutId: string, wave: number, task: number): string => `rollout-${rolloutId}-wave-${wave}-task-${task + 1}`;

export function iotdaPlatform(client: IotdaClient, results: IotdaResults, journal: Journal): RolloutPlatform {
  const taskType = (operateType: OperateType): 'firmwareUpgrade' | 'softwareUpgrade' => (operateType === 'software_upgrade' ? 'softwareUpgrade' : 'firmwareUpgrade');
  return {
    name: 'iotda',
    packageOf: async (packageId) => {
      const found = await client.getOtaPackage(packageId);
      return { version: found.version, operateType: found.package_type === 'softwarePackage' ? 'software_upgrade' : 'firmware_upgrade' };
    },
    create: async (operateType, packageId, devices, name) => (await client.createBatchTask({ taskName: name, taskType: taskType(operateType), targets: devices, packageId })).task_id,
    findCreated: async (operateType, _devices, _sinceMs, name) => {
      for await (const tasks of client.batchTasks({ taskType: taskType(operateType) })) {
        const found = tasks.find((task) => task.task_name === name);
        if (found !== undefined) return found.task_id;
      }
      return undefined;
    },
    // Flow control (429) says nothing about the task.
    refusedOutright: (error): error is PlatformError => error instanceof PlatformError && error.status >= 400 && error.status < 500 && error.status !== 429,
    deviceVersion: async (deviceId, operateType) => {
      const device = await client.getDevice(deviceId);
      return versionOf(operateType, { fw: device.fw_version, sw: device.sw_version });
    },
    follow: (taskId) => results.track(taskId),
    // A read of the task keeps every finished device in the journal before it resolves.
    finishedOnPlatform: async (taskId) => {
      await results.pull(taskId);
      return new Set((await journal.finalResultBodies(taskId)).flatMap((row) => (row.deviceId === null ? [] : [row.deviceId])));
    },
    stop: (taskId) => client.stopBatchTask(taskId),
  };
}

export const isLegacyClient = (client: unknown): client is PlatformClient => client instanceof PlatformClient;
