// IoTDA's (API v5) batch task calls, each signed with the application's AK/SK: create, read a task
// with its devices page by page, list, stop, retry, confirm; and an OTA package's and a device's versions. A clock that is off is corrected from
// the gateway's Date header: it refuses a signature more than 15 minutes off as expired.
import { Agent, request } from 'undici';
import { checkOptions, checks, requireOption, type OptionTable } from '../core/option-checks';
import { codedError } from '../core/errors';
import type { PlatformError } from '../platform/errors';
import { readAnswer } from '../platform/client';
import { noAnswer, outcomeOf } from '../platform/answer';
import { signRequest, type SigningKeys } from './sign';
import {
  FIRST_MARKER,
  MAX_DETAIL_LIMIT,
  v5Paths,
  type BatchTask,
  type BatchTaskStatus,
  type BatchTaskType,
  type CreateBatchTaskInput,
  type IotdaDevice,
  type ListBatchTasksAnswer,
  type OtaPackage,
  type ShowBatchTaskAnswer,
  type TaskDetail,
  type TaskDetailStatus,
} from './contract';

type Pem = string | Buffer;

export interface IotdaClientOptions {
  /** The instance's application endpoint, e.g. `https://iotda.cn-north-4.myhuaweicloud.com` (or the emulator's URL). */
  endpoint: string;
  /** The project ID of the region (Huawei Cloud console, My Credentials). */
  projectId: string;
  /** The access key and secret key (from the environment, never from code). */
  ak: string;
  sk: string;
  /** A standard or enterprise edition's instance ID, sent as `Instance-Id`. */
  instanceId?: string;
  /** Sign with the derived key (V11-HMAC-SHA256), as the official SDKs do where asked to: the region, e.g. `cn-north-4`. */
  derivedRegion?: string;
  /** CA certificates to trust for the endpoint (the emulator's test CA, say). */
  ca?: Pem | Pem[];
  rejectUnauthorized?: boolean;
  /** Per call, the whole answer included (default 30 000 ms). */
  timeoutMs?: number;
  /** Retries of a read, stop, retry or confirm that got no answer or a 5xx (default 3; a create is never sent twice). */
  retries?: number;
  retryDelayMs?: number;
}

const EXAMPLE = "createIotdaClient({ endpoint: 'https://iotda.cn-north-4.myhuaweicloud.com', projectId, ak, sk })";
const optionTable: OptionTable = {
  endpoint: { check: checks.nonEmptyString, example: EXAMPLE },
  projectId: { check: checks.nonEmptyString, example: EXAMPLE },
  ak: { check: checks.nonEmptyString, example: `${EXAMPLE} (from the environment)` },
  sk: { check: checks.nonEmptyString, example: `${EXAMPLE} (from the environment, never from code)` },
  instanceId: { check: checks.nonEmptyString, example: 'createIotdaClient({ …, instanceId })' },
  derivedRegion: { check: checks.nonEmptyString, example: "createIotdaClient({ …, derivedRegion: 'cn-north-4' })" },
  ca: { check: checks.pemOrList, example: "createIotdaClient({ …, ca: readFileSync('ca.pem') })" },
  rejectUnauthorized: { check: checks.oneOf(true, false), example: 'createIotdaClient({ …, rejectUnauthorized: true })' },
  timeoutMs: { check: checks.wholeNumber, example: 'createIotdaClient({ …, timeoutMs: 30_000 })' },
  retries: { check: checks.countFrom(0), example: 'createIotdaClient({ …, retries: 3 })' },
  retryDelayMs: { check: checks.countFrom(0), example: 'createIotdaClient({ …, retryDelayMs: 500 })' },
};

/** A Date header this far from the local clock is taken as the gateway's time (it has 1 s precision). */
const SKEW_NOTICED_MS = 60_000;

interface Call {
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, string | number | undefined>;
  json?: unknown;
  /** False for a call whose repetition could do the thing twice (creating a task). */
  idempotent?: boolean;
}

export interface CreateBatchTaskOptions {
  taskName: string;
  taskType: BatchTaskType;
  /** Device IDs, at most 30 000. */
  targets: string[];
  /** The OTA package to install. */
  packageId: string;
  appId?: string;
  /** Automatic retries of a failed device (at most 5), minutes apart (at most 1440). */
  retryCount?: number;
  retryIntervalMinutes?: number;
}

export class IotdaClient {
  readonly #base: URL;
  readonly #projectId: string;
  readonly #keys: SigningKeys;
  readonly #instanceId: string | undefined;
  readonly #dispatcher: Agent;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #retryDelayMs: number;
  /** The gateway's clock minus ours, once a Date header showed them apart. */
  #skewMs = 0;
  #calls = 0;

  constructor(options: IotdaClientOptions) {
    checkOptions(options, optionTable);
    for (const name of ['endpoint', 'projectId', 'ak', 'sk'] as const) requireOption(options[name], name, EXAMPLE);
    const base = URL.canParse(options.endpoint) ? new URL(options.endpoint) : undefined;
    if (base?.protocol !== 'https:' && base?.protocol !== 'http:') throw codedError('ERR_INVALID_OPTION', `huawei-iot-upgrade-router: endpoint must be an http(s) URL, got ${JSON.stringify(options.endpoint)}`, { kind: TypeError });
    this.#base = base;
    this.#projectId = options.projectId;
    this.#keys = { ak: options.ak, sk: options.sk, ...(options.derivedRegion !== undefined && { derived: { regionId: options.derivedRegion, service: 'iotdm' } }) };
    this.#instanceId = options.instanceId;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#retries = options.retries ?? 3;
    this.#retryDelayMs = options.retryDelayMs ?? 500;
    this.#dispatcher = new Agent({ connect: { ...(options.ca !== undefined && { ca: options.ca }), rejectUnauthorized: options.rejectUnauthorized ?? true } });
  }

  /** Calls sent (retries included), and the clock correction in use (the gateway's time minus ours). */
  stats(): { calls: number; clockSkewMs: number } {
    return { calls: this.#calls, clockSkewMs: this.#skewMs };
  }

  /** Creates an upgrade task; the platform answers with the task (its `task_id`). */
  createBatchTask(options: CreateBatchTaskOptions): Promise<BatchTask> {
    const input: CreateBatchTaskInput = {
      ...(options.appId !== undefined && { app_id: options.appId }),
      task_name: options.taskName,
      task_type: options.taskType,
      targets: options.targets,
      document: { package_id: options.packageId },
      ...((options.retryCount !== undefined || options.retryIntervalMinutes !== undefined) && {
        task_policy: { ...(options.retryCount !== undefined && { retry_count: options.retryCount }), ...(options.retryIntervalMinutes !== undefined && { retry_interval: options.retryIntervalMinutes }) },
      }),
    };
    return this.#send({ method: 'POST', path: v5Paths.batchTasks(this.#projectId), json: input, idempotent: false });
  }

  /** A task and one page of its devices (`limit` at most 50; read on with the page's `marker`). */
  getBatchTask(taskId: string, page: { limit?: number; marker?: string; offset?: number; status?: TaskDetailStatus; target?: string } = {}): Promise<ShowBatchTaskAnswer> {
    return this.#send({
      method: 'GET',
      path: v5Paths.batchTask(this.#projectId, taskId),
      query: { limit: page.limit, marker: page.marker, offset: page.offset, task_detail_status: page.status, target: page.target },
    });
  }

  /**
   * Every device of a task (or those in one status), page after page of 50, each page read on from
   * the last one's marker: `offset` stops at 500, the marker does not.
   */
  async *taskDetails(taskId: string, options: { status?: TaskDetailStatus } = {}): AsyncGenerator<TaskDetail[], void, undefined> {
    let marker = FIRST_MARKER;
    for (;;) {
      const answer = await this.getBatchTask(taskId, { limit: MAX_DETAIL_LIMIT, marker, ...(options.status !== undefined && { status: options.status }) });
      if (answer.task_details.length > 0) yield answer.task_details;
      if (answer.task_details.length < MAX_DETAIL_LIMIT || answer.page.marker === marker) return;
      marker = answer.page.marker;
    }
  }

  /** Every task of a type (in one status, if given), page after page of 50. */
  async *batchTasks(filter: { taskType: BatchTaskType; status?: BatchTaskStatus }): AsyncGenerator<BatchTask[], void, undefined> {
    let marker = FIRST_MARKER;
    for (;;) {
      const answer = await this.listBatchTasks({ ...filter, limit: MAX_DETAIL_LIMIT, marker });
      if (answer.batchtasks.length > 0) yield answer.batchtasks;
      if (answer.batchtasks.length < MAX_DETAIL_LIMIT || answer.page.marker === marker) return;
      marker = answer.page.marker;
    }
  }

  /** One page of the tasks of a type. */
  listBatchTasks(filter: { taskType: BatchTaskType; status?: BatchTaskStatus; limit?: number; marker?: string }): Promise<ListBatchTasksAnswer> {
    return this.#send({ method: 'GET', path: v5Paths.batchTasks(this.#projectId), query: { task_type: filter.taskType, status: filter.status, limit: filter.limit, marker: filter.marker } });
  }

  /** An OTA package: its type and version (what a device that installed it shows). */
  getOtaPackage(packageId: string): Promise<OtaPackage> {
    return this.#send({ method: 'GET', path: v5Paths.otaPackage(this.#projectId, packageId) });
  }

  /** A device: the firmware and software versions it reported last. */
  getDevice(deviceId: string): Promise<IotdaDevice> {
    return this.#send({ method: 'GET', path: v5Paths.device(this.#projectId, deviceId) });
  }

  /** Stops a task: its devices that have not finished are Stopped. */
  async stopBatchTask(taskId: string): Promise<void> {
    await this.#send({ method: 'POST', path: v5Paths.action(this.#projectId, taskId, 'stop'), json: {} });
  }

  /** Runs again the devices that failed or were stopped (all, or the `targets` given). */
  async retryBatchTask(taskId: string, targets?: string[]): Promise<void> {
    await this.#send({ method: 'POST', path: v5Paths.action(this.#projectId, taskId, 'retry'), json: targets === undefined ? {} : { targets } });
  }

  /** Confirms the devices waiting for the application's go-ahead (all, or the `targets` given). */
  async confirmBatchTask(taskId: string, targets?: string[]): Promise<void> {
    await this.#send({ method: 'POST', path: v5Paths.action(this.#projectId, taskId, 'confirm'), json: targets === undefined ? {} : { targets } });
  }

  async close(): Promise<void> {
    await this.#dispatcher.close();
  }

  async #send<T>(call: Call): Promise<T> {
    const name = `${call.method} ${call.path}`;
    let skewRetried = false;
    for (let attempt = 0; ; attempt += 1) {
      const outcome = await this.#once(call, name);
      if (outcome.ok) return outcome.body as T;
      const { error, skewChanged } = outcome;
      // An expired signature because our clock is off: once more, on the gateway's time.
      if (error.status === 401 && skewChanged && !skewRetried) {
        skewRetried = true;
        attempt -= 1;
        continue;
      }
      const transient = error.status === 0 || error.status >= 500;
      if (!transient || call.idempotent === false || attempt >= this.#retries) throw error;
      await new Promise((resolve) => setTimeout(resolve, this.#retryDelayMs * 2 ** attempt));
    }
  }

  async #once(call: Call, name: string): Promise<{ ok: true; body: unknown } | { ok: false; error: PlatformError; skewChanged: boolean }> {
    this.#calls += 1;
    const url = new URL(call.path, this.#base);
    for (const [key, value] of Object.entries(call.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    const body = call.json === undefined ? '' : JSON.stringify(call.json);
    const headers: Record<string, string> = { 'Content-Type': 'application/json', ...(this.#instanceId !== undefined && { 'Instance-Id': this.#instanceId }) };
    const signed = signRequest({ method: call.method, url, headers, body }, this.#keys, Date.now() + this.#skewMs);
    try {
      const answer = await request(url, {
        method: call.method,
        headers: signed,
        ...(body !== '' && { body }),
        dispatcher: this.#dispatcher,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      const skewChanged = this.#notice(answer.headers['date']);
      const outcome = outcomeOf(answer.statusCode, await readAnswer(answer.body), name);
      return outcome.ok ? outcome : { ...outcome, skewChanged };
    } catch (cause) {
      return { ok: false, error: noAnswer(cause, this.#timeoutMs, name), skewChanged: false };
    }
  }

  /** Takes the gateway's Date as the time to sign with when it is a minute or more from ours; whether that changed the correction. */
  #notice(date: string | string[] | undefined): boolean {
    const server = typeof date === 'string' ? Date.parse(date) : Number.NaN;
    if (Number.isNaN(server)) return false;
    const skew = server - Date.now();
    const next = Math.abs(skew) < SKEW_NOTICED_MS ? 0 : skew;
    if (Math.abs(next - this.#skewMs) < SKEW_NOTICED_MS) return false;
    this.#skewMs = next;
    return true;
  }
}

/** A client of IoTDA's batch task API at `options.endpoint`. */
export function createIotdaClient(options: IotdaClientOptions): IotdaClient {
  return new IotdaClient(options);
}

