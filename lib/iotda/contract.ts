// IoTDA's (API v5) batch task API as both the client and the emulator speak it: one contract, the
// paths, field names (snake_case, as the platform sends them) and limits of Huawei's reference
// (ShowBatchTask, CreateBatchTask, StopBatchTask, RetryBatchTask, ConfirmBatchTask), and the two
// reads a rollout needs beside them: an OTA package's version (ShowOtaPackage) and a device's
// (ShowDevice), since a task's details carry no versions.

export type BatchTaskType = 'firmwareUpgrade' | 'softwareUpgrade';

/** A task's status. `Waitting` is the platform's spelling. */
export type BatchTaskStatus = 'Initializing' | 'Waitting' | 'Processing' | 'Success' | 'Fail' | 'PartialSuccess' | 'Stopped';

/** A device's (sub-task's) status. */
export type TaskDetailStatus = 'Waitting' | 'Processing' | 'Success' | 'Fail' | 'FailWaitRetry' | 'Stopped';

/** The statuses after which a device does nothing more unless the task is retried. */
export const FINAL_DETAIL_STATUSES: readonly TaskDetailStatus[] = ['Success', 'Fail', 'Stopped'];

export interface TaskProgress {
  total: number;
  processing: number;
  success: number;
  fail: number;
  waitting: number;
  fail_wait_retry: number;
  stopped: number;
}

export interface TaskPolicy {
  /** `yyyyMMdd'T'HHmmss'Z'`, at most 7 days ahead. */
  schedule_time?: string;
  /** Automatic retries of a failed device, at most 5. */
  retry_count?: number;
  /** Minutes between them, at most 1440. */
  retry_interval?: number;
}

export interface BatchTask {
  task_id: string;
  task_name: string;
  task_type: BatchTaskType;
  targets?: string[];
  document?: { package_id: string };
  task_policy?: TaskPolicy;
  status: BatchTaskStatus;
  status_desc: string;
  task_progress: TaskProgress;
  /** `yyyyMMdd'T'HHmmss'Z'`. */
  create_time: string;
}

/** One device of a task: `target` is its device_id; no versions (read them from the device). */
export interface TaskDetail {
  target: string;
  status: TaskDetailStatus;
  output?: string;
  error?: { error_code: string; error_msg: string };
}

export interface Page {
  /** Records matching the query. */
  count: number;
  /** The last record's marker: pass it to read on from there. */
  marker: string;
}

export interface ShowBatchTaskAnswer {
  batchtask: BatchTask;
  task_details: TaskDetail[];
  page: Page;
}

export interface ListBatchTasksAnswer {
  batchtasks: BatchTask[];
  page: Page;
}

export interface CreateBatchTaskInput {
  app_id?: string;
  task_name: string;
  task_type: BatchTaskType;
  targets: string[];
  document: { package_id: string };
  task_policy?: TaskPolicy;
}

/** An OTA package (ShowOtaPackage): what a task installs. */
export interface OtaPackage {
  package_id: string;
  package_type: 'firmwarePackage' | 'softwarePackage';
  version: string;
  product_id?: string;
  description?: string;
}

/** A device (ShowDevice), the fields a rollout reads: the versions it reported last. */
export interface IotdaDevice {
  device_id: string;
  fw_version?: string;
  sw_version?: string;
  product_id?: string;
  status?: string;
}

/** ShowBatchTask's `limit`: 1 to 50 (default 10); `offset`: 0 to 500. */
export const MAX_DETAIL_LIMIT = 50;
export const MAX_OFFSET = 500;
/** CreateBatchTask takes at most 30 000 device IDs. */
export const MAX_TASK_TARGETS = 30_000;
/** The marker that reads from the first record. */
export const FIRST_MARKER = 'ffffffffffffffffffffffff';

export const v5Paths = {
  batchTasks: (projectId: string) => `/v5/iot/${encodeURIComponent(projectId)}/batchtasks`,
  batchTask: (projectId: string, taskId: string) => `/v5/iot/${encodeURIComponent(projectId)}/batchtasks/${encodeURIComponent(taskId)}`,
  otaPackage: (projectId: string, packageId: string) => `/v5/iot/${encodeURIComponent(projectId)}/ota-upgrades/packages/${encodeURIComponent(packageId)}`,
  device: (projectId: string, deviceId: string) => `/v5/iot/${encodeURIComponent(projectId)}/devices/${encodeURIComponent(deviceId)}`,
  action: (projectId: string, taskId: string, action: 'stop' | 'retry' | 'confirm') =>
    `/v5/iot/${encodeURIComponent(projectId)}/batchtasks/${encodeURIComponent(taskId)}/${action}`,
};
