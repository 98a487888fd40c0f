// IoTDA's (API v5) batch tasks, emulated from the same contract as the client (../iotda/contract.ts):
// calls signed with the project's AK/SK and checked as the gateway checks them (a wrong or expired
// signature is 401 APIGW.0301), tasks whose devices move Waitting -> Processing -> Success | Fail on
// the emulated clock, ShowBatchTask's paging rules (limit 1..50, offset 0..500, then the marker),
// stop, retry and confirm, and the rule engine's batchtask:update push to a forwarding URL or, over
// AMQP 1.0, to a queue on a real broker; OTA
// packages and the devices' versions (a device that succeeds shows the package's version).
import { randomBytes } from 'node:crypto';
import { Agent, request as send } from 'undici';
import { seeded } from '../core/random';
import { ignore } from '../core/thrown';
import { parseAuthorization, signRequest } from '../iotda/sign';
import {
  FINAL_DETAIL_STATUSES,
  FIRST_MARKER,
  MAX_DETAIL_LIMIT,
  MAX_OFFSET,
  MAX_TASK_TARGETS,
  type BatchTask,
  type BatchTaskStatus,
  type BatchTaskType,
  type IotdaDevice,
  type OtaPackage,
  type TaskDetail,
  type TaskDetailStatus,
  type TaskProgress,
} from '../iotda/contract';
import { parsePlatformTime, platformTime } from '../platform/contract';
import { AmqpForwarder, type IotdaAmqpTarget } from './amqp-forwarder';
import type { EmulatedClock } from './clock';
import type { PushDrops } from './drops';
import type { DeviceBehaviour } from './tasks';
import type { EmulatorAnswer, EmulatorRequest } from './northbound';

/** An OTA package of the project: what a task installs, and how badly. */
export interface IotdaPackage {
  package_id: string;
  package_type: OtaPackage['package_type'];
  version: string;
  /** Share of devices it fails on (default: the devices' failureRatio). */
  failureRatio?: number;
}

/** One batchtask:update push to the forwarding URL or queue, and what became of it. */
export interface IotdaPushRecord {
  body: { resource: 'batchtask'; event: 'update'; event_time: string; request_id: string; notify_data: { body: { app_id: string; task_id: string; task_type: BatchTaskType; status: BatchTaskStatus; status_desc: string } } };
  /** Over HTTP(S) to a URL, or over AMQP 1.0 to a queue. */
  via: 'http' | 'amqp';
  /** `dropped`: lost on the platform's side by a dropPushes fault (notifyType `batchtask`), never sent. */
  status: 'pending' | 'delivered' | 'failed' | 'dropped';
  attempts: number;
}

type Forwarding = { via: 'http'; url: string } | { via: 'amqp'; forwarder: AmqpForwarder };

interface Detail extends TaskDetail {
  marker: string;
  /** Bumped by stop and retry: a device's scheduled steps of an older round do nothing. */
  round: number;
}

interface Task {
  task: Omit<BatchTask, 'status' | 'status_desc' | 'task_progress'>;
  details: Detail[];
  /** Kept as devices move: a task of 30 000 devices is not counted again at each move. */
  progress: TaskProgress;
  pkg: IotdaPackage;
  stopped: boolean;
  lastStatus: BatchTaskStatus | undefined;
}

// The device side's result codes (the OTA upgrade_progress_report table), as a failed device's error.
const DEVICE_FAILURES: ReadonlyArray<[string, string]> = [
  ['1', 'Device in use.'],
  ['2', 'Poor signal quality.'],
  ['4', 'Low battery.'],
  ['5', 'Insufficient free space.'],
  ['6', 'Download timed out.'],
  ['7', 'Package verification failed.'],
  ['10', 'Installation failed.'],
];

/** The gateway's and the platform's refusals as the emulator answers them. */
const refusal = (status: number, code: string, message: string): EmulatorAnswer => ({ status, body: { error_code: code, error_msg: message } });
const wrongProject = (): EmulatorAnswer => refusal(403, 'IOTDA.000002', 'The project ID does not match the credentials.');
const badInput = (message: string): EmulatorAnswer => refusal(400, 'IOTDA.000006', `Invalid input data. ${message}`);
const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const SIGNATURE_WINDOW_MS = 15 * 60_000;
/** After a failed push the host is tried again this often (emulated time), as the rule engine does. */
const RETRY_MS = 3 * 60_000;

export class IotdaEmulation {
  readonly projectId = hex(16);
  readonly ak = hex(10).toUpperCase();
  readonly sk = hex(20);
  readonly appId = hex(16);
  readonly packages = new Map<string, IotdaPackage>();
  readonly #tasks = new Map<string, Task>();
  /** The versions each device a task targeted reports (1.0.0 until it installs a package). */
  readonly #devices = new Map<string, IotdaDevice>();
  readonly #pushes: IotdaPushRecord[] = [];
  readonly #random: () => number;
  readonly #dispatcher: Agent;
  #forwarding: Forwarding | undefined;
  readonly #drops: PushDrops;
  #clockSkewMs = 0;
  #inFlight = 0;

  constructor(
    private readonly clock: EmulatedClock,
    private readonly behaviour: () => DeviceBehaviour,
    options: { seed: number; drops: PushDrops; receiverCa?: string | Buffer },
  ) {
    this.#drops = options.drops;
    this.#random = seeded(options.seed + 5);
    this.#dispatcher = new Agent({ connect: { ...(options.receiverCa !== undefined && { ca: options.receiverCa }) } });
  }

  addPackage(fields: { version: string; failureRatio?: number; packageType?: OtaPackage['package_type'] }): IotdaPackage {
    const { packageType = 'firmwarePackage', ...rest } = fields;
    const added: IotdaPackage = { package_id: hex(12), package_type: packageType, ...rest };
    this.packages.set(added.package_id, added);
    return added;
  }

  /**
   * Where the rule engine forwards batchtask:update: a URL (an HTTP(S) push action), a queue on an
   * AMQP 1.0 broker (an AMQP forwarding action), or nowhere (undefined). Pushes waiting for a retry
   * go to the new place.
   */
  forwardTo(target: string | { amqp: IotdaAmqpTarget } | undefined): void {
    if (this.#forwarding?.via === 'amqp') this.#forwarding.forwarder.close().catch(ignore);
    this.#forwarding = target === undefined ? undefined : typeof target === 'string' ? { via: 'http', url: target } : { via: 'amqp', forwarder: new AmqpForwarder(target.amqp) };
  }

  /** The gateway's clock runs this far from the real one (to test a client's skew correction). */
  setClockSkew(ms: number): void {
    this.#clockSkewMs = ms;
  }

  pushes(): IotdaPushRecord[] {
    return this.#pushes.map((record) => ({ ...record }));
  }

  /** Pushes still being sent or waiting for a retry. */
  pending(): number {
    return this.#inFlight;
  }

  /** Every task with all its devices, for tests. */
  tasks(): Array<BatchTask & { details: TaskDetail[] }> {
    return [...this.#tasks.values()].map((task) => ({ ...view(task), details: task.details.map(strip) }));
  }

  async close(): Promise<void> {
    // The emulator's close() may be called twice (a test's afterEach after the test closed it).
    if (!this.#dispatcher.closed) await this.#dispatcher.close();
    if (this.#forwarding?.via === 'amqp') await this.#forwarding.forwarder.close();
  }

  /** A `/v5/iot/...` request: checked as signed, then routed. */
  answer(request: EmulatorRequest): EmulatorAnswer {
    const answer = this.#authorized(request) ?? this.#route(request);
    return { ...answer, headers: { date: new Date(Date.now() + this.#clockSkewMs).toUTCString() } };
  }

  #authorized(request: EmulatorRequest): EmulatorAnswer | undefined {
    const denied = (why: string): EmulatorAnswer => refusal(401, 'APIGW.0301', `Incorrect IAM authentication information: ${why}`);
    // A header sent once is a string; absent (or repeated) it counts as empty, which no check passes.
    const header = (name: string): string => String(request.headers[name] ?? '');
    const auth = parseAuthorization(header('authorization'));
    if (auth?.ak !== this.ak) return denied('verify aksk signature fail');
    const signedAt = parsePlatformTime(header('x-sdk-date'));
    if (signedAt === undefined) return denied('x-sdk-date missing or malformed');
    if (Math.abs(signedAt - (Date.now() + this.#clockSkewMs)) > SIGNATURE_WINDOW_MS) return denied('signature expired');
    const headers = Object.fromEntries(auth.signedHeaders.filter((name) => name !== 'host' && name !== 'x-sdk-date').map((name) => [name, header(name)]));
    const [, region, service] = (auth.info ?? '').split('/');
    const expected = signRequest(
      { method: request.method, url: new URL(request.url ?? request.path, `http://${header('host')}`), headers, body: request.raw ?? '' },
      { ak: this.ak, sk: this.sk, ...(auth.algorithm === 'V11-HMAC-SHA256' && { derived: { regionId: region ?? '', service: service ?? '' } }) },
      signedAt,
    );
    return parseAuthorization(expected.Authorization)?.signature === auth.signature ? undefined : denied('verify aksk signature fail');
  }

  #route(request: EmulatorRequest): EmulatorAnswer {
    const read = /^\/v5\/iot\/([^/]+)\/(ota-upgrades\/packages|devices)\/([^/]+)$/.exec(request.path);
    if (read !== null && request.method === 'GET') return read[1] !== this.projectId ? wrongProject() : this.#read(read[2] === 'devices' ? 'device' : 'package', decodeURIComponent(read[3] ?? ''));
    const match = /^\/v5\/iot\/([^/]+)\/batchtasks(?:\/([^/]+)(?:\/(stop|retry|confirm))?)?$/.exec(request.path);
    if (match === null) return refusal(404, 'IOTDA.000001', `No such API: ${request.method} ${request.path}`);
    const [, project, taskId, action] = match;
    if (project !== this.projectId) return wrongProject();
    if (taskId === undefined) return request.method === 'POST' ? this.#create(request.body) : request.method === 'GET' ? this.#list(request.query) : badInput(`${request.method} is not supported.`);
    const task = this.#tasks.get(taskId);
    if (task === undefined) return refusal(404, 'IOTDA.014000', `The batch task ${taskId} does not exist.`);
    if (action === undefined) return request.method === 'GET' ? this.#show(task, request.query) : badInput(`${request.method} is not supported.`);
    if (request.method !== 'POST') return badInput(`${request.method} is not supported.`);
    const targets = (request.body as { targets?: unknown } | undefined)?.targets;
    if (targets !== undefined && !(Array.isArray(targets) && targets.every((id) => typeof id === 'string'))) return badInput('targets must be a list of device IDs.');
    const only = targets === undefined ? undefined : new Set(targets);
    const chosen = (detail: Detail): boolean => only === undefined || only.has(detail.target);
    if (action === 'stop') {
      task.stopped = true;
      for (const detail of task.details) if (!FINAL_DETAIL_STATUSES.includes(detail.status)) this.#set(task, detail, 'Stopped');
    } else if (action === 'retry') {
      const again = task.details.filter((detail) => chosen(detail) && (detail.status === 'Fail' || detail.status === 'FailWaitRetry' || detail.status === 'Stopped'));
      task.stopped = false;
      const now = this.clock.now();
      for (const detail of again) this.#run(task, detail, now);
    } else {
      for (const detail of task.details) if (chosen(detail) && detail.status === 'Waitting') this.#start(task, detail);
    }
    return { status: 200, body: {} };
  }

  #read(kind: 'device' | 'package', id: string): EmulatorAnswer {
    if (kind === 'device') {
      const device = this.#devices.get(id);
      return device === undefined ? refusal(404, 'IOTDA.014000', `The device ${id} does not exist.`) : { status: 200, body: { ...device } };
    }
    const pkg = this.packages.get(id);
    if (pkg === undefined) return refusal(404, 'IOTDA.014000', `The OTA package ${id} does not exist.`);
    const shown: OtaPackage = { package_id: pkg.package_id, package_type: pkg.package_type, version: pkg.version };
    return { status: 200, body: shown };
  }

  #create(body: unknown): EmulatorAnswer {
    const input = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const { task_name: name, task_type: type, targets, document } = input;
    if (typeof name !== 'string' || name === '') return badInput('task_name is required.');
    if (type !== 'firmwareUpgrade' && type !== 'softwareUpgrade') return badInput('task_type must be firmwareUpgrade or softwareUpgrade.');
    if (!Array.isArray(targets) || targets.length === 0 || !targets.every((id) => typeof id === 'string' && id !== '')) return badInput('targets must be a list of device IDs.');
    if (targets.length > MAX_TASK_TARGETS) return badInput(`targets holds at most ${MAX_TASK_TARGETS} devices.`);
    const packageId = (document as { package_id?: unknown } | undefined)?.package_id;
    const pkg = typeof packageId === 'string' ? this.packages.get(packageId) : undefined;
    if (pkg === undefined) return refusal(404, 'IOTDA.014000', `The OTA package ${String(packageId)} does not exist.`);
    const taskId = hex(12);
    const unique = [...new Set(targets as string[])];
    for (const target of unique) if (!this.#devices.has(target)) this.#devices.set(target, { device_id: target, fw_version: '1.0.0', sw_version: '1.0.0', status: 'ONLINE' });
    const task: Task = {
      task: { task_id: taskId, task_name: name, task_type: type, targets: unique, document: { package_id: pkg.package_id }, create_time: platformTime(this.clock.now()), ...(typeof input['task_policy'] === 'object' && { task_policy: input['task_policy'] as BatchTask['task_policy'] }) },
      details: unique.map((target, index) => ({ target, status: 'Waitting', marker: (index + 1).toString(16).padStart(24, '0'), round: 0 })),
      progress: { total: unique.length, processing: 0, success: 0, fail: 0, waitting: unique.length, fail_wait_retry: 0, stopped: 0 },
      pkg,
      stopped: false,
      lastStatus: undefined,
    };
    this.#tasks.set(taskId, task);
    const now = this.clock.now();
    for (const detail of task.details) this.#run(task, detail, now);
    this.#changed(task);
    return { status: 201, body: view(task) };
  }

  #list(query: URLSearchParams): EmulatorAnswer {
    const type = query.get('task_type');
    if (type === null) return badInput('task_type is required.');
    const status = query.get('status');
    const limit = Number(query.get('limit') ?? 10);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_DETAIL_LIMIT) return badInput(`limit must be 1 to ${MAX_DETAIL_LIMIT}.`);
    const rows = [...this.#tasks.values()].filter((task) => task.task.task_type === type).map(view).filter((task) => status === null || task.status === status);
    // The marker is the last task read (tasks in the order they were made).
    const marker = query.get('marker') ?? FIRST_MARKER;
    const from = marker === FIRST_MARKER ? 0 : rows.findIndex((task) => task.task_id === marker) + 1;
    const page = rows.slice(from, from + limit);
    return { status: 200, body: { batchtasks: page, page: { count: rows.length, marker: page.at(-1)?.task_id ?? marker } } };
  }

  #show(task: Task, query: URLSearchParams): EmulatorAnswer {
    const limit = Number(query.get('limit') ?? 10);
    const offset = Number(query.get('offset') ?? 0);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_DETAIL_LIMIT) return badInput(`limit must be 1 to ${MAX_DETAIL_LIMIT}.`);
    if (!Number.isInteger(offset) || offset < 0 || offset > MAX_OFFSET) return badInput(`offset must be 0 to ${MAX_OFFSET}.`);
    const status = query.get('task_detail_status');
    const target = query.get('target');
    const marker = query.get('marker') ?? FIRST_MARKER;
    const rows = task.details.filter((detail) => (status === null || detail.status === status) && (target === null || detail.target === target));
    const from = marker === FIRST_MARKER ? 0 : rows.findIndex((detail) => detail.marker > marker);
    const page = from === -1 ? [] : rows.slice(from + offset, from + offset + limit);
    return { status: 200, body: { batchtask: view(task), task_details: page.map(strip), page: { count: rows.length, marker: page.at(-1)?.marker ?? marker } } };
  }

  /** A device's round: it starts within the spread, then succeeds, fails, or (silent) never answers. */
  // From one `now` for the whole task: read per device, the clock moves on while a busy machine
  // loops, and the order the devices start in (and so which ones fail, for a seed) changed with load.
  #run(task: Task, detail: Detail, now: number): void {
    detail.round += 1;
    this.#set(task, detail, 'Waitting');
    delete detail.error;
    const { durationMs, startSpread } = this.behaviour();
    const round = detail.round;
    this.clock.at(now + this.#random() * durationMs * startSpread, () => {
      if (detail.round === round && detail.status === 'Waitting') this.#start(task, detail);
    });
  }

  #start(task: Task, detail: Detail): void {
    const { durationMs, durationSpread, failureRatio, silentRatio } = this.behaviour();
    const round = detail.round;
    const silent = this.#random() < silentRatio;
    const fails = !silent && this.#random() < (task.pkg.failureRatio ?? failureRatio);
    const failure = DEVICE_FAILURES[Math.floor(this.#random() * DEVICE_FAILURES.length)] ?? DEVICE_FAILURES[0];
    const took = durationMs * (1 - durationSpread + this.#random() * 2 * durationSpread);
    this.#set(task, detail, 'Processing');
    if (silent) return;
    this.clock.at(this.clock.now() + took, () => {
      if (detail.round !== round || detail.status !== 'Processing') return;
      if (fails && failure !== undefined) detail.error = { error_code: failure[0], error_msg: failure[1] };
      detail.output = fails ? 'upgrade failed' : `upgraded to ${task.pkg.version}`;
      const device = this.#devices.get(detail.target);
      if (!fails && device !== undefined) device[task.task.task_type === 'firmwareUpgrade' ? 'fw_version' : 'sw_version'] = task.pkg.version;
      this.#set(task, detail, fails ? 'Fail' : 'Success');
    });
  }

  #set(task: Task, detail: Detail, status: TaskDetailStatus): void {
    task.progress[progressKey[detail.status]] -= 1;
    task.progress[progressKey[status]] += 1;
    detail.status = status;
    this.#changed(task);
  }

  /** A change of the task's status is pushed to the forwarding URL. */
  #changed(task: Task): void {
    const current = view(task);
    if (current.status === task.lastStatus) return;
    task.lastStatus = current.status;
    const forwarding = this.#forwarding;
    if (forwarding === undefined || current.status === 'Initializing') return;
    const record: IotdaPushRecord = {
      body: {
        resource: 'batchtask',
        event: 'update',
        event_time: platformTime(this.clock.now()),
        request_id: hex(16),
        notify_data: { body: { app_id: this.appId, task_id: current.task_id, task_type: current.task_type, status: current.status, status_desc: current.status_desc } },
      },
      via: forwarding.via,
      status: 'pending',
      attempts: 0,
    };
    this.#pushes.push(record);
    if (this.#drops.take('batchtask')) record.status = 'dropped';
    else this.#deliver(record);
  }

  /** One try of a push, where the forwarding points now: true once taken (a 200, or the broker's accept). */
  async #send(record: IotdaPushRecord): Promise<boolean> {
    const forwarding = this.#forwarding;
    if (forwarding === undefined) return false;
    record.via = forwarding.via;
    const timeoutMs = this.clock.real(15_000);
    if (forwarding.via === 'amqp') return forwarding.forwarder.send(record.body, timeoutMs);
    const answer = await send(forwarding.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(record.body), dispatcher: this.#dispatcher, signal: AbortSignal.timeout(timeoutMs) });
    await answer.body.dump();
    return answer.statusCode === 200;
  }

  #deliver(record: IotdaPushRecord): void {
    this.#inFlight += 1;
    record.attempts += 1;
    const done = (delivered: boolean): void => {
      this.#inFlight -= 1;
      if (delivered) {
        record.status = 'delivered';
        return;
      }
      record.status = 'failed';
      // Kept and tried again every 3 minutes (the host is blocklisted meanwhile): at most a day's worth.
      if (record.attempts < 480) {
        this.#inFlight += 1;
        this.clock.after(RETRY_MS, () => {
          this.#inFlight -= 1;
          record.status = 'pending';
          this.#deliver(record);
        });
      }
    };
    this.#send(record).then(done, () => done(false));
  }
}

const strip = ({ marker: _marker, round: _round, ...detail }: Detail): TaskDetail => detail;

const progressKey: Record<TaskDetailStatus, keyof TaskProgress> = {
  Waitting: 'waitting',
  Processing: 'processing',
  Success: 'success',
  Fail: 'fail',
  FailWaitRetry: 'fail_wait_retry',
  Stopped: 'stopped',
};

/** The task as the platform answers it: status and counters follow from its devices. */
function view(task: Task): BatchTask {
  const progress = { ...task.progress };
  const open = progress.waitting + progress.processing + progress.fail_wait_retry;
  const status: BatchTaskStatus =
    progress.waitting === progress.total
      ? 'Waitting'
      : open > 0
        ? 'Processing'
        : task.stopped && progress.stopped > 0
          ? 'Stopped'
          : progress.success === progress.total
            ? 'Success'
            : progress.success === 0
              ? 'Fail'
              : 'PartialSuccess';
  return { ...task.task, status, status_desc: `${progress.success} of ${progress.total} succeeded`, task_progress: progress };
}
