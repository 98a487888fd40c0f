// `createPlatformClient`: the application side of the platform's northbound API, for what an upgrade
// campaign needs (tasks, their per-device sub-tasks, version packages, the push subscriptions). It
// logs in as documented, keeps under the platform's rate limit itself, retries what is safe to retry,
// verifies the platform's certificate, and turns every failure into a `PlatformError`.
import { Agent, request } from 'undici';
import {
  DEFAULT_RATE_LIMIT,
  MAX_PAGE_SIZE,
  UPGRADE_NOTIFY_TYPES,
  paths,
  type AccessToken,
  type CreateUpgradeTaskInput,
  type DeviceData,
  type OperateType,
  type PackageType,
  type Page,
  type SubTaskStatus,
  type Subscription,
  type TaskStatus,
  type UpgradeNotifyType,
  type UpgradeSubTask,
  type UpgradeTask,
  type VersionPackage,
} from './contract';
import { checkClientOptions } from './client-options';
import { PlatformError } from './errors';
import { noAnswer, outcomeOf } from './answer';
import { pages } from './paging';
import { budgetOf, latest, type SlidingWindow } from './rate-limit';
import { credentialsDigest, sessionOf, type Session, type TokenCalls } from './session';
import { codedError } from '../core/errors';

type Pem = string | Buffer;

export interface PlatformClientOptions {
  /** The platform's northbound address, e.g. `https://iot-api.example.com:8743`. */
  url: string;
  appId: string;
  secret: string;
  /** The CA certificate(s) that signed the platform's certificate (the platform publishes its CA). */
  ca?: Pem | Pem[];
  /** A client certificate and its key, for a platform that asks for one. */
  cert?: Pem;
  key?: Pem;
  /** Verify the platform's certificate (default true). Turning it off is for a lab, never production. */
  rejectUnauthorized?: boolean;
  /** The header that carries the appId (default `app_key`; some deployments expect `x-app-key`). */
  appKeyHeader?: 'app_key' | 'x-app-key';
  /** Calls allowed per window (default the platform's 100 per 60 s); `false` leaves it to the platform. */
  rateLimit?: { calls: number; windowMs: number } | false;
  /** Further tries after a 5xx, a 1010009 or no answer (default 3); creating a task is never retried. */
  retries?: number;
  /** The first wait before a retry, doubled each time (default 500 ms). */
  retryDelayMs?: number;
  /** The deadline of one call, from its request to the last byte of its answer (default 30 s). Answers are at most 8 MiB. */
  timeoutMs?: number;
}

export interface TaskFilters {
  operationType?: OperateType;
  operationStatus?: TaskStatus;
  deviceType?: string;
  model?: string;
  manufacturerName?: string;
  /** The tasks one device took part in. */
  deviceId?: string;
}

export interface PackageFilters {
  fileType?: PackageType;
  deviceType?: string;
  model?: string;
  manufacturerName?: string;
  version?: string;
}

export interface PageRequest {
  pageNo?: number;
  pageSize?: number;
}

export interface EnsuredSubscriptions {
  /** The types subscribed now (missing, or subscribed to another URL before). */
  created: UpgradeNotifyType[];
  /** The types already subscribed to this URL. */
  existing: UpgradeNotifyType[];
}

interface Call {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  query?: Record<string, string | number | undefined>;
  json?: unknown;
  form?: Record<string, string>;
  /** Calls that log in carry no token. */
  anonymous?: boolean;
  /** False for a call whose repetition could do the thing twice (creating a task). */
  idempotent?: boolean;
}

export class PlatformClient {
  readonly #options: Required<Pick<PlatformClientOptions, 'appId' | 'secret' | 'retries' | 'retryDelayMs' | 'timeoutMs'>> & { appKeyHeader: string };
  readonly #base: URL;
  readonly #dispatcher: Agent;
  /** The call budgets every call waits for: the appId's, shared in this process, and a stricter one of this client's. */
  readonly #windows: SlidingWindow[];
  readonly #session: Session;
  readonly #tokenCalls: TokenCalls;
  #calls = 0;

  constructor(options: PlatformClientOptions) {
    checkClientOptions(options);
    const base = URL.canParse(options.url) ? new URL(options.url) : undefined;
    if (base?.protocol !== 'https:' && base?.protocol !== 'http:') throw codedError('ERR_INVALID_OPTION', `huawei-iot-upgrade-router: url must be http(s), got ${JSON.stringify(options.url)}`, { kind: TypeError });
    const retries = options.retries ?? 3;
    this.#base = base;
    this.#options = {
      appId: options.appId,
      secret: options.secret,
      retries,
      retryDelayMs: options.retryDelayMs ?? 500,
      timeoutMs: options.timeoutMs ?? 30_000,
      appKeyHeader: options.appKeyHeader ?? 'app_key',
    };
    this.#dispatcher = new Agent({
      connect: {
        ...(options.ca !== undefined && { ca: options.ca }),
        ...(options.cert !== undefined && { cert: options.cert }),
        ...(options.key !== undefined && { key: options.key }),
        rejectUnauthorized: options.rejectUnauthorized ?? true,
      },
    });
    const limit = options.rateLimit ?? DEFAULT_RATE_LIMIT;
    this.#windows = limit === false ? [] : budgetOf(base.origin, options.appId, limit.calls, limit.windowMs);
    this.#session = sessionOf(
      base.origin,
      options.appId,
      credentialsDigest([options.secret, options.ca === undefined ? undefined : String(options.ca), options.cert === undefined ? undefined : String(options.cert), options.key === undefined ? undefined : String(options.key), options.rejectUnauthorized ?? true]),
    );
    this.#tokenCalls = {
      login: () => this.#send<AccessToken>({ method: 'POST', path: paths.login, form: { appId: this.#options.appId, secret: this.#options.secret }, anonymous: true }),
      refresh: (refreshToken) =>
        this.#send<AccessToken>({ method: 'POST', path: paths.refreshToken, json: { appId: this.#options.appId, secret: this.#options.secret, refreshToken }, anonymous: true }),
    };
  }

  /** Logs in now (otherwise the first call does), even when a token is held: checks the address, the certificate and the secret. */
  async login(): Promise<void> {
    await this.#session.login(this.#tokenCalls);
  }

  /** Calls made, and the logins and refreshes of this appId's session (shared by its clients in this process). */
  /** The application this client logs in as. */
  get appId(): string {
    return this.#options.appId;
  }

  /**
   * When calls held back by flow control (this process's share of the application's budget, or a whole
   * window after the platform answered 1010009) may go on; undefined when none is held back.
   */
  waitingUntil(): Date | undefined {
    return latest(this.#windows.map((window) => window.waitingUntil()));
  }

  stats(): { calls: number; logins: number; refreshes: number } {
    return { calls: this.#calls, logins: this.#session.logins, refreshes: this.#session.refreshes };
  }

  /** Starts a software upgrade of the target devices; resolves with the task's id. */
  createSoftwareUpgradeTask(input: CreateUpgradeTaskInput): Promise<{ operationId: string }> {
    return this.#send({ method: 'POST', path: paths.softwareUpgrade, json: input, idempotent: false });
  }

  /** Starts a firmware upgrade of the target devices; resolves with the task's id. */
  createFirmwareUpgradeTask(input: CreateUpgradeTaskInput): Promise<{ operationId: string }> {
    return this.#send({ method: 'POST', path: paths.firmwareUpgrade, json: input, idempotent: false });
  }

  getTask(operationId: string): Promise<UpgradeTask> {
    return this.#send({ method: 'GET', path: `${paths.operations}/${encodeURIComponent(operationId)}` });
  }

  /** One page of tasks (pageSize at most 100). */
  async listTasks(filters: TaskFilters & PageRequest = {}): Promise<Page<UpgradeTask>> {
    return page(await this.#send({ method: 'GET', path: paths.operations, query: pageQuery({ ...filters }) }));
  }

  /** Every task that matches, page after page. */
  tasks(filters: TaskFilters = {}): AsyncIterable<UpgradeTask> {
    return pages((pageNo, pageSize) => this.listTasks({ ...filters, pageNo, pageSize }));
  }

  /** One page of a task's sub-tasks, one per device (pageSize at most 100). */
  async listSubTasks(operationId: string, options: { status?: SubTaskStatus } & PageRequest = {}): Promise<Page<UpgradeSubTask>> {
    const { status, ...rest } = options;
    return page(
      await this.#send({
        method: 'GET',
        path: `${paths.operations}/${encodeURIComponent(operationId)}/subOperations`,
        query: pageQuery({ ...rest, subOperationStatus: status }),
      }),
    );
  }

  /** Every sub-task of a task (optionally only those in one state), fetched in pages of 100. */
  subTasks(operationId: string, options: { status?: SubTaskStatus } = {}): AsyncIterable<UpgradeSubTask> {
    return pages((pageNo, pageSize) => this.listSubTasks(operationId, { ...options, pageNo, pageSize }));
  }

  async listPackages(filters: PackageFilters & PageRequest = {}): Promise<Page<VersionPackage>> {
    return page(await this.#send({ method: 'GET', path: paths.categories, query: pageQuery({ ...filters }) }));
  }

  getPackage(fileId: string): Promise<VersionPackage> {
    return this.#send({ method: 'GET', path: `${paths.categories}/${encodeURIComponent(fileId)}` });
  }

  /** One device's data, its software and firmware versions among it: how a result is checked against the device. */
  getDevice(deviceId: string): Promise<DeviceData> {
    return this.#send({ method: 'GET', path: `${paths.devices}/${encodeURIComponent(deviceId)}` });
  }

  /** Subscribes one upgrade push to `callbackUrl` (a second call for the same type replaces its URL). */
  async subscribe(notifyType: UpgradeNotifyType, callbackUrl: string): Promise<void> {
    await this.#send({ method: 'POST', path: paths.subscribe, json: { notifyType, callbackUrl } });
  }

  async listSubscriptions(filters: { notifyType?: string; callbackUrl?: string } & PageRequest = {}): Promise<Page<Subscription>> {
    const answer = await this.#send<{ subscriptions?: Subscription[]; totalCount?: number; pageNo?: number; pageSize?: number }>({
      method: 'GET',
      path: paths.subscriptions,
      query: pageQuery({ appId: this.#options.appId, ...filters }),
    });
    return page({ ...answer, data: answer.subscriptions ?? [] });
  }

  async deleteSubscription(subscriptionId: string): Promise<void> {
    await this.#send({ method: 'DELETE', path: `${paths.subscriptions}/${encodeURIComponent(subscriptionId)}` });
  }

  /**
   * Makes the upgrade pushes (all four by default) go to `callbackUrl`: subscribes each type that is
   * missing or points elsewhere, leaves the others. Safe to call at every start.
   */
  async ensureSubscriptions(callbackUrl: string, notifyTypes: readonly UpgradeNotifyType[] = UPGRADE_NOTIFY_TYPES): Promise<EnsuredSubscriptions> {
    const subscribed = new Set<string>();
    for await (const subscription of pages((pageNo, pageSize) => this.listSubscriptions({ pageNo, pageSize }))) {
      if (subscription.callbackUrl === callbackUrl) subscribed.add(subscription.notifyType);
    }
    const result: EnsuredSubscriptions = { created: [], existing: [] };
    for (const notifyType of notifyTypes) {
      if (subscribed.has(notifyType)) {
        result.existing.push(notifyType);
        continue;
      }
      await this.subscribe(notifyType, callbackUrl);
      result.created.push(notifyType);
    }
    return result;
  }

  /** Closes the client's connections. */
  async close(): Promise<void> {
    await this.#dispatcher.close();
  }

  async #send<T>(call: Call): Promise<T> {
    const name = `${call.method} ${call.path}`;
    let reloggedIn = false;
    for (let attempt = 0; ; attempt += 1) {
      const token = call.anonymous === true ? undefined : await this.#session.token(this.#tokenCalls);
      const answer = await this.#once(call, name, token);
      if (answer.ok) return answer.body as T;
      const error = answer.error;
      // An expired or replaced token: log in again and try again, once; never a loop.
      if (token !== undefined && error.status === 403 && error.code === '1010005' && !reloggedIn) {
        reloggedIn = true;
        await this.#session.relogin(this.#tokenCalls, token);
        attempt -= 1;
        continue;
      }
      const throttled = error.status === 403 && error.code === '1010009';
      const retryable = throttled || (call.idempotent !== false && (error.status === 0 || error.status >= 500));
      if (!retryable || attempt >= this.#options.retries) throw error;
      if (throttled) for (const window of this.#windows) window.saturate();
      const delay = this.#options.retryDelayMs * 2 ** attempt;
      await new Promise((resolve) => setTimeout(resolve, delay * (0.5 + Math.random() / 2)));
    }
  }

  async #once(call: Call, name: string, token: string | undefined): Promise<{ ok: true; body: unknown } | { ok: false; error: PlatformError }> {
    for (const window of this.#windows) await window.acquire();
    this.#calls += 1;
    const url = new URL(call.path, this.#base);
    for (const [key, value] of Object.entries(call.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    const headers: Record<string, string> = { accept: 'application/json' };
    let body: string | undefined;
    if (call.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(call.form).toString();
    } else if (call.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(call.json);
    }
    if (token !== undefined) {
      headers[this.#options.appKeyHeader] = this.#options.appId;
      // Always `Bearer ` as documented, whatever tokenType the login answered.
      headers['authorization'] = `Bearer ${token}`;
    }
    try {
      // One deadline over the whole answer, headers and body: a server that trickles its body a byte
      // at a time must not hold a call past timeoutMs.
      const answer = await request(url, {
        method: call.method,
        headers,
        ...(body !== undefined && { body }),
        dispatcher: this.#dispatcher,
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
      return outcomeOf(answer.statusCode, await readAnswer(answer.body), name);
    } catch (cause) {
      return { ok: false, error: noAnswer(cause, this.#options.timeoutMs, name) };
    }
  }
}

/** A client of the platform at `options.url`, logged in on first use. */
export function createPlatformClient(options: PlatformClientOptions): PlatformClient {
  return new PlatformClient(options);
}

/** An answer larger than this is cut off: a page of 100 sub-tasks is about 50 KB. */
export const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

export async function readAnswer(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_ANSWER_BYTES) {
      body.destroy();
      throw codedError('ERR_ANSWER_TOO_LARGE', `an answer larger than ${MAX_ANSWER_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function pageQuery(request: { [key: string]: string | number | undefined } & PageRequest): Record<string, string | number | undefined> {
  // Both always sent: one reference page says an absent pageNo means "not paged".
  return { ...request, pageNo: request['pageNo'] ?? 0, pageSize: request['pageSize'] ?? MAX_PAGE_SIZE };
}

function page<T>(answer: { data?: T[]; pageNo?: number; pageSize?: number; totalCount?: number; totalSize?: number }): Page<T> {
  const data = answer.data ?? [];
  return { data, pageNo: answer.pageNo ?? 0, pageSize: answer.pageSize ?? data.length, totalCount: answer.totalCount ?? answer.totalSize ?? data.length };
}


