// `createRollouts`: runs upgrade rollouts in waves on a router's journal. Any instance can start a
// rollout or make a request (they are written to the journal); the instance that holds the journal's
// reconciliation lock drives them, so with Postgres another instance takes over when it dies.
import { EventEmitter } from 'node:events';
import { checkOptions, checks, kindOf, requireOption, type OptionTable } from '../core/option-checks';
import { codedError } from '../core/errors';
import { ignore } from '../core/thrown';
import type { Journal } from '../journal/journal';
import type { PlatformClient } from '../platform/client';
import type { Reconciler } from '../reconcile/reconciler';
import { IotdaClient } from '../iotda/client';
import type { IotdaResults } from '../iotda/results';
import { iotdaPlatform, isLegacyClient, legacyPlatform } from './platform';
import { extensionOf, type RouterExtension } from '../router/extension';
import type { UpgradeRouter } from '../router/router';
import { RolloutDriver } from './driver';
import type { RolloutOptions } from './options';
import { recordRollout, requestRollout } from './record';
import { ROLLOUTS, type AttachedRollouts } from './attached';
import type { RetrySelection, RolloutAction } from './requests';
import { foldRollout, type RolloutView } from './state';
import type { Step } from './steps';
import type { RolloutEvents } from './events';
import { eventNameOf } from './events';

export interface RolloutsOptions {
  /** The router whose journal (SQLite or Postgres) keeps the rollouts and holds the results their gates read. */
  router: UpgradeRouter;
  /**
   * The platform client that creates the tasks: `createPlatformClient` (the legacy API; its budget is
   * shared with your other calls through it) or `createIotdaClient` (IoTDA).
   */
  client: PlatformClient | IotdaClient;
  /** Legacy API: the reconciler beside the router: it follows the rollout's tasks, fills in results no push brought, and confirms timed-out devices. */
  reconciler?: Reconciler;
  /** IoTDA (required there): the results reader beside the router (`createIotdaResults`): the devices' outcomes the gates read come from it. */
  results?: IotdaResults;
  /** How often rollouts are taken further. Default 5 s. */
  tickMs?: number;
  /** The clock soak times and timeouts are read against. Default `Date.now` (the emulator's `now()` when it runs fast). */
  now?: () => number;
  /** Drive rollouts from this instance when it holds the lock (default true); false: only start, read and request. */
  drive?: boolean;
}

export interface Rollouts {
  /** Records a rollout (checked, planned); the driver starts it at its next tick. */
  start(options: RolloutOptions): Promise<RolloutView>;
  get(id: string): Promise<RolloutView | undefined>;
  list(): Promise<RolloutView[]>;
  /** Requests: each is recorded at once and answered by the driver with a step (done, or refused and why). Resolve with the request's number. */
  pause(id: string): Promise<number>;
  resume(id: string): Promise<number>;
  abort(id: string): Promise<number>;
  approve(id: string): Promise<number>;
  retry(id: string, selection?: RetrySelection): Promise<number>;
  /** Takes every rollout further now (the timer does it every tickMs); false when another instance drives them. */
  tick(): Promise<boolean>;
  on<E extends keyof RolloutEvents>(event: E, listener: (...args: RolloutEvents[E]) => void): Rollouts;
  once<E extends keyof RolloutEvents>(event: E, listener: (...args: RolloutEvents[E]) => void): Rollouts;
  off<E extends keyof RolloutEvents>(event: E, listener: (...args: RolloutEvents[E]) => void): Rollouts;
  /** Stops the timer and waits for the tick under way. */
  close(): Promise<void>;
}

const optionTable: OptionTable = {
  router: { check: (value) => (extensionOf(value) !== undefined ? undefined : `must be a router made by createUpgradeRouter(), got ${kindOf(value)}`), example: 'createRollouts({ router, client })' },
  client: {
    check: (value) => (isLegacyClient(value) || value instanceof IotdaClient ? undefined : `must be a client made by createPlatformClient() or createIotdaClient(), got ${kindOf(value)}`),
    example: 'createRollouts({ router, client: createPlatformClient({ url, appId, secret }) })',
  },
  reconciler: { check: checks.withMethod('track'), example: 'createRollouts({ router, client, reconciler: createReconciler({ router, client }) })' },
  results: { check: checks.withMethod('pull'), example: 'createRollouts({ router, client: iotdaClient, results: createIotdaResults({ router, client: iotdaClient }) })' },
  tickMs: { check: checks.wholeNumber, example: 'createRollouts({ router, client, tickMs: 5000 })' },
  now: { check: (value) => (typeof value === 'function' ? undefined : `must be a function returning epoch ms, got ${kindOf(value)}`), example: 'createRollouts({ router, client, now: () => emulator.now() })' },
  drive: { check: checks.oneOf(true, false), example: 'createRollouts({ router, client, drive: false })' },
};

class RolloutManager {
  readonly #journal: Journal;
  readonly #driver: RolloutDriver;
  readonly #events = new EventEmitter();
  readonly #access: RouterExtension;
  #ticking: Promise<boolean> | undefined;

  constructor(options: RolloutsOptions, access: RouterExtension, journal: Journal) {
    this.#access = access;
    this.#journal = journal;
    const { client, reconciler, results } = options;
    this.#driver = new RolloutDriver({
      journal,
      // Checked by createRollouts: an IoTDA client comes with its results reader.
      platform: isLegacyClient(client) ? legacyPlatform(client, reconciler) : iotdaPlatform(client, results as IotdaResults, journal),
      now: options.now ?? Date.now,
      written: (rolloutId, seq, step) => this.#emit(rolloutId, seq, step),
    });
  }

  get events(): EventEmitter {
    return this.#events;
  }

  #emit(rolloutId: string, seq: number, step: Step): void {
    const name = eventNameOf(step.kind);
    try {
      this.#events.emit(name, { rolloutId, seq, ...step });
    } catch (error) {
      // A listener's throw must not stop the driver: it is the router's error event's to tell.
      this.#access.report(error instanceof Error ? error : new Error(String(error)));
    }
  }

  async start(options: RolloutOptions): Promise<RolloutView> {
    const spec = await recordRollout(this.#journal, options);
    this.kick();
    return (await this.get(spec.id)) as RolloutView;
  }

  async get(id: string): Promise<RolloutView | undefined> {
    const record = await this.#journal.readRollout(id);
    if (record === undefined) return undefined;
    const state: RolloutView = foldRollout(record);
    const live = this.#driver.live.get(id);
    if (live !== undefined && state.current?.number === live.wave) state.live = live;
    return state;
  }

  async list(): Promise<RolloutView[]> {
    const views: RolloutView[] = [];
    for (const row of await this.#journal.listRollouts()) {
      const view = await this.get(row.id);
      if (view !== undefined) views.push(view);
    }
    return views;
  }

  async request(id: string, action: RolloutAction, data: unknown = {}): Promise<number> {
    const request = await requestRollout(this.#journal, id, action, data);
    this.kick();
    return request;
  }

  tick(): Promise<boolean> {
    // One tick at a time: a second caller shares the one under way.
    this.#ticking ??= this.#driver.tick().finally(() => {
      this.#ticking = undefined;
    });
    return this.#ticking;
  }

  /** A tick soon, its failure reported: after a start or a request, not to wait for the timer. */
  kick(): void {
    this.tick().catch((error: unknown) => this.failed(error));
  }

  failed(error: unknown): void {
    // A tick cut short by close() is no failure.
    if (this.#driver.closed) return;
    const failure = error instanceof Error ? error : new Error(String(error));
    if (this.#events.listenerCount('error') > 0) this.#events.emit('error', failure);
    else this.#access.report(failure);
  }

  /** Stops the driver (a tick waiting for the call budget ends at once) and waits for the tick under way. */
  async close(): Promise<void> {
    this.#driver.close();
    await this.#ticking?.catch(ignore);
  }
}

/** The reader of results that goes with the client: a reconciler with the legacy API, a results reader (required) with IoTDA. */
function checkPlatform({ client, reconciler, results }: RolloutsOptions): void {
  const refuse = (why: string): never => {
    throw codedError('ERR_INVALID_OPTION', `huawei-iot-upgrade-router: ${why}`, { kind: TypeError });
  };
  if (isLegacyClient(client)) {
    if (results !== undefined) refuse('results (createIotdaResults) goes with an IoTDA client; with createPlatformClient, give a reconciler');
    return;
  }
  if (reconciler !== undefined) refuse('reconciler goes with createPlatformClient; with an IoTDA client, give results: createIotdaResults({ router, client })');
  if (results === undefined) refuse("on IoTDA a rollout's gates read the devices' outcomes from the tasks: give results: createIotdaResults({ router, client })");
}

/** Runs rollouts on `router`'s journal; a timer takes them further every tickMs unless `drive` is false. */
export function createRollouts(options: RolloutsOptions): Rollouts {
  checkOptions(options, optionTable);
  requireOption(options.router, 'router', 'createRollouts({ router, client })');
  requireOption(options.client, 'client', 'createRollouts({ router, client })');
  checkPlatform(options);
  const access = extensionOf(options.router) as RouterExtension;
  const journal = access.journal;
  if (journal === undefined) {
    throw codedError('ERR_INVALID_OPTION', "huawei-iot-upgrade-router: rollouts live in the router's journal: give the router one (sqliteJournal or postgresJournal)", { kind: TypeError });
  }
  const manager = new RolloutManager(options, access, journal);
  const drive = options.drive !== false;
  const timer = drive ? setInterval(() => manager.kick(), options.tickMs ?? 5000).unref() : undefined;
  if (drive) manager.kick();
  const attached: AttachedRollouts = { get: (id) => manager.get(id), list: () => manager.list(), request: (id, action, data) => manager.request(id, action, data) };
  access.attach(ROLLOUTS, attached);
  const rollouts: Rollouts = {
    start: (rollout) => manager.start(rollout),
    get: (id) => manager.get(id),
    list: () => manager.list(),
    pause: (id) => manager.request(id, 'pause'),
    resume: (id) => manager.request(id, 'resume'),
    abort: (id) => manager.request(id, 'abort'),
    approve: (id) => manager.request(id, 'approve'),
    retry: (id, selection = {}) => manager.request(id, 'retry', selection),
    tick: () => manager.tick(),
    on: (event, listener) => {
      manager.events.on(event, listener as (...args: unknown[]) => void);
      return rollouts;
    },
    once: (event, listener) => {
      manager.events.once(event, listener as (...args: unknown[]) => void);
      return rollouts;
    },
    off: (event, listener) => {
      manager.events.off(event, listener as (...args: unknown[]) => void);
      return rollouts;
    },
    close: async () => {
      clearInterval(timer);
      await manager.close();
    },
  };
  return rollouts;
}
