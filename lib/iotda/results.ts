// IoTDA pushes no device's result, only a task's status: each device's final outcome must be read
// from the task's details. This reads them, page by page, when a task push arrives (the router's
// batchTaskUpdate or batchTaskStatusUpdate), for the tasks it is told to follow, and on a timer, and
// hands each device that finished to the router's journal as `iotdaDeviceResult`: at least once (a
// task is read again until every device finished and was kept), never twice for the same task,
// device and status (the journal's key), whichever instance reads it.
import { checkOptions, checks, kindOf, requireOption, type OptionTable } from '../core/option-checks';
import { codedError } from '../core/errors';
import { describeThrown } from '../core/thrown';
import type { IotdaDeviceResult } from '../core/events';
import { isDeviceNotification } from '../core/notification-types';
import { extensionOf, type RouterExtension } from '../router/extension';
import type { UpgradeRouter } from '../router/router';
import { IotdaClient } from './client';
import { parsePlatformTime } from '../platform/contract';
import { FINAL_DETAIL_STATUSES, type BatchTaskStatus, type TaskDetail } from './contract';

export interface IotdaResultsOptions {
  /** The router whose journal keeps the results (it must have one) and whose task pushes say when to read. */
  router: UpgradeRouter;
  /** The IoTDA client (`createIotdaClient`). */
  client: IotdaClient;
  /** Tasks to follow from the start, beside those the pushes name. */
  tasks?: readonly string[];
  /** Time between reads of the tasks followed and not finished. Default 60 s. */
  intervalMs?: number;
  /** Reads on a timer (default true); false: on pushes and when you call `pull()`. */
  schedule?: boolean;
  /**
   * At start, the platform's tasks made this recently (or not finished) are read once: a task whose
   * last push came while this process was down, or before its read ended, is not missed. Default 2
   * days; 0: none.
   */
  lookBackMs?: number;
}

export interface PullReport {
  taskId: string;
  status: BatchTaskStatus;
  /** Devices in the task. */
  devices: number;
  /** Of those, finished (Success, Fail or Stopped). */
  finished: number;
  /** Results kept by this read (the others were in the journal already). */
  keptNow: number;
  /** Whether the task is done with: finished, every device finished and kept. Then it is no longer read. */
  complete: boolean;
}

export interface IotdaResults {
  /** Follows a task (one created by your code, say): read now, and on the timer until complete. */
  track(taskId: string): void;
  /** Reads a task now; asked while a read of it is under way, once more after that one (asks meanwhile share it). */
  pull(taskId: string): Promise<PullReport>;
  /** The tasks followed and not complete. */
  following(): string[];
  stats(): { pulls: number; kept: number; lastError: string | undefined };
  /** Stops the timer and waits for reads under way. */
  close(): Promise<void>;
}

const EXAMPLE = 'createIotdaResults({ router, client })';
const optionTable: OptionTable = {
  router: { check: (value) => (extensionOf(value) === undefined ? `must be a router made by createUpgradeRouter(), got ${kindOf(value)}` : undefined), example: EXAMPLE },
  client: { check: (value) => (value instanceof IotdaClient ? undefined : `must be a client made by createIotdaClient(), got ${kindOf(value)}`), example: EXAMPLE },
  tasks: { check: checks.arrayOf(checks.nonEmptyString), example: "createIotdaResults({ router, client, tasks: ['64c3…'] })" },
  intervalMs: { check: checks.wholeNumber, example: 'createIotdaResults({ router, client, intervalMs: 60_000 })' },
  schedule: { check: checks.oneOf(true, false), example: 'createIotdaResults({ router, client, schedule: false })' },
  lookBackMs: { check: (value) => (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? undefined : `must be a whole number of at least 0, got ${kindOf(value)}`), example: 'createIotdaResults({ router, client, lookBackMs: 2 * 86_400_000 })' },
};

const FINISHED: readonly BatchTaskStatus[] = ['Success', 'Fail', 'PartialSuccess', 'Stopped'];


const isFinal = (detail: TaskDetail): detail is TaskDetail & { status: IotdaDeviceResult['status'] } => FINAL_DETAIL_STATUSES.includes(detail.status);

class Results implements IotdaResults {
  readonly #client: IotdaClient;
  readonly #access: RouterExtension;
  readonly #followed = new Set<string>();
  readonly #reading = new Map<string, Promise<PullReport>>();
  /** A read asked for while one was under way: it runs once that one ends (the one under way may predate what asked). */
  readonly #next = new Map<string, Promise<PullReport>>();
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #unobserve: () => void;
  #discovered: Promise<void> = Promise.resolve();
  #pulls = 0;
  #kept = 0;
  #lastError: string | undefined;

  constructor(options: IotdaResultsOptions, access: RouterExtension) {
    this.#client = options.client;
    this.#access = access;
    // A task push says a task moved: read it (whatever its status, a device may have finished).
    this.#unobserve = access.observe((notification) => {
      if (isDeviceNotification(notification)) return;
      this.track('body' in notification.notify_data ? notification.notify_data.body.task_id : notification.notify_data.task_id);
    });
    for (const taskId of options.tasks ?? []) this.track(taskId);
    const lookBackMs = options.lookBackMs ?? 2 * 86_400_000;
    if (lookBackMs > 0) this.#discovered = this.#discover(lookBackMs);
    if (options.schedule !== false) {
      this.#timer = setInterval(() => {
        for (const taskId of this.#followed) this.#background(taskId);
      }, options.intervalMs ?? 60_000);
      this.#timer.unref();
    }
  }

  track(taskId: string): void {
    this.#followed.add(taskId);
    this.#background(taskId);
  }

  following(): string[] {
    return [...this.#followed];
  }

  stats(): { pulls: number; kept: number; lastError: string | undefined } {
    return { pulls: this.#pulls, kept: this.#kept, lastError: this.#lastError };
  }

  pull(taskId: string): Promise<PullReport> {
    const under = this.#reading.get(taskId);
    if (under === undefined) return this.#start(taskId);
    let next = this.#next.get(taskId);
    if (next === undefined) {
      next = under.catch(() => undefined).then(() => this.#start(taskId));
      this.#next.set(taskId, next);
    }
    return next;
  }

  #start(taskId: string): Promise<PullReport> {
    this.#next.delete(taskId);
    const read = this.#read(taskId).finally(() => this.#reading.delete(taskId));
    this.#reading.set(taskId, read);
    return read;
  }

  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#unobserve();
    await this.#discovered;
    await Promise.allSettled([...this.#reading.values(), ...this.#next.values()]);
  }

  /** The platform's tasks made within `lookBackMs`, or not finished, followed (and read). */
  async #discover(lookBackMs: number): Promise<void> {
    const since = Date.now() - lookBackMs;
    try {
      for (const taskType of ['firmwareUpgrade', 'softwareUpgrade'] as const) {
        for await (const tasks of this.#client.batchTasks({ taskType })) {
          for (const task of tasks) if (!FINISHED.includes(task.status) || (parsePlatformTime(task.create_time) ?? 0) >= since) this.track(task.task_id);
        }
      }
    } catch (error) {
      this.#lastError = describeThrown(error);
      this.#access.report(codedError('ERR_IOTDA_RESULTS', `IoTDA results: listing the platform's tasks at start: ${this.#lastError}`, { cause: error }));
    }
  }

  /** A read nobody awaits: a failure is the router's `error` event, and the task stays followed. */
  #background(taskId: string): void {
    this.pull(taskId).catch((error: unknown) => {
      this.#lastError = describeThrown(error);
      this.#access.report(codedError('ERR_IOTDA_RESULTS', `IoTDA results of task ${taskId}: ${this.#lastError}`, { cause: error }));
    });
  }

  async #read(taskId: string): Promise<PullReport> {
    this.#pulls += 1;
    const first = await this.#client.getBatchTask(taskId, { limit: 1 });
    const task = first.batchtask;
    let devices = 0;
    let finished = 0;
    let keptNow = 0;
    for await (const page of this.#client.taskDetails(taskId)) {
      devices += page.length;
      // Each page's results kept before the next is read: a crash loses at most a page's reading, never a kept result.
      const kept = await Promise.all(
        page.filter(isFinal).map((detail) => {
          finished += 1;
          const result: IotdaDeviceResult = {
            notifyType: 'iotdaDeviceResult',
            taskId,
            taskType: task.task_type,
            deviceId: detail.target,
            status: detail.status,
            ...(detail.output !== undefined && { output: detail.output }),
            ...(detail.error !== undefined && { error: detail.error }),
            ...(task.document?.package_id !== undefined && { packageId: task.document.package_id }),
          };
          return this.#access.fillIotda(result);
        }),
      );
      keptNow += kept.filter(Boolean).length;
    }
    this.#kept += keptNow;
    const taskFinished = FINISHED.includes(task.status);
    const complete = taskFinished && finished === devices && devices === task.task_progress.total;
    if (complete) this.#followed.delete(taskId);
    return { taskId, status: task.status, devices, finished, keptNow, complete };
  }
}

/** Reads IoTDA tasks' device outcomes into `router`'s journal as `iotdaDeviceResult` events. */
export function createIotdaResults(options: IotdaResultsOptions): IotdaResults {
  checkOptions(options, optionTable);
  requireOption(options.router, 'router', EXAMPLE);
  requireOption(options.client, 'client', EXAMPLE);
  const access = extensionOf(options.router);
  if (access === undefined) throw codedError('ERR_INVALID_OPTION', `huawei-iot-upgrade-router: router must be a router made by createUpgradeRouter(). Example: ${EXAMPLE}`, { kind: TypeError });
  if (access.journal === undefined) throw codedError('ERR_NO_JOURNAL', 'huawei-iot-upgrade-router: createIotdaResults needs a router with a journal: the results are kept there before they are delivered', { kind: TypeError });
  return new Results(options, access);
}
