// The reconciler: asks the platform, for each upgrade task it knows, what became of each device, and
// fills in the final results no push brought (a receiver down past the platform's 10-minute re-send
// window, a push lost on the way). Filled-in results go through the router's journal as
// `reconciledResult`: at least once, never twice for a sub-task, never for one whose push arrived.
//
// The tasks it follows come from the platform (its list of running tasks, a page of 100 a call), from
// `tasks` and `track()`, and from the pushes that hint at them (following.ts).
import { RECONCILER } from './attached';
import { ignore, describeThrown } from '../core/thrown';
import type { ReconcileProgress, ReconcilerStats } from '../core/stats';
import type { ReconciledResult } from '../core/events';
import { isDeviceNotification } from '../core/notification-types';
import { checkOptions, checks, kindOf, requireOption, type OptionTable } from '../core/option-checks';
import { pages } from '../platform/paging';
import { PlatformClient } from '../platform/client';
import { PlatformError } from '../platform/errors';
import { SlidingWindow, latest as latestWait } from '../platform/rate-limit';
import type { UpgradeRouter } from '../router/router';
import { extensionOf } from '../router/extension';
import { checkTask, finalsFrom, type CheckProgress, type FinalsBySubTask, type TaskReport, type WaitingDevice } from './check';
import { Following, type Followed } from './following';
import type { RouterExtension } from '../router/extension';
import type { Journal } from '../journal/journal';
import { codedError } from '../core/errors';

export interface ReconcilerOptions {
  /** The router whose results are completed; it needs a journal to fill any in (without one, the reconciler reports only). */
  router: UpgradeRouter;
  /** The platform client (`createPlatformClient`): its session and call budget are shared with your own calls through it. */
  client: PlatformClient;
  /** Tasks to reconcile beside those seen in pushes, in the journal and running on the platform. */
  tasks?: readonly string[];
  /** Time between passes. Default 5 minutes. */
  intervalMs?: number;
  /**
   * How long after a device finished its push may still come: a result is filled in only after it.
   * The platform re-sends for 10 minutes; default 12 minutes (clocks differ).
   */
  resendWindowMs?: number;
  /**
   * While a task runs, results in flight always make its counts differ a little: its sub-task pages are
   * read at most this often then (after it ends, at every pass until complete). Default 30 minutes.
   */
  recheckMs?: number;
  /** A device still waiting or in progress this long after it started is reported stuck. Default 24 hours (sleepy NB-IoT devices wake daily). */
  stuckAfterMs?: number;
  /** Platform calls a minute the reconciler may use, of the application's 100: the rest stays yours. Default 50. */
  callsPerMinute?: number;
  /** How far back the journal is read, at start, for tasks to follow. Default 2 days. */
  lookBackMs?: number;
  /** Passes on a timer (default true); false: only when you call `reconcileAll()` or `reconcile(id)`. */
  schedule?: boolean;
  /** The clock the platform's times are read against. Default `Date.now` (the emulator's `now()` when it runs fast). */
  now?: () => number;
}

export interface Reconciler {
  /** A pass now over every task known; undefined when another instance holds the reconciliation lock. */
  reconcileAll(): Promise<TaskReport[] | undefined>;
  /** One task now (followed from then on). Rejects when another instance holds the lock. */
  reconcile(operationId: string): Promise<TaskReport>;
  /** Follows a task from now on. */
  track(operationId: string): void;
  /**
   * The task's devices waiting or in progress on the platform, read now (the first `limit`, default
   * 1 000; a call per 100), within the reconciler's call budget; undefined when another instance holds
   * the reconciliation lock (its calls would log this instance in and out of the platform's session).
   */
  waiting(operationId: string, limit?: number): Promise<WaitingDevice[] | undefined>;
  /** The latest report of each task followed, and of the last 100 completed. */
  reports(): TaskReport[];
  stats(): ReconcilerStats;
  /** Stops the timer and waits for a pass in progress. */
  close(): Promise<void>;
}

const MINUTE = 60_000;
/** A call held back this long by flow control is said in the log (once per call): the reconciler looks hung otherwise. */
const HELD_BACK_WARN_MS = 30_000;

const optionTable: OptionTable = {
  router: { check: (value) => (extensionOf(value) !== undefined ? undefined : `must be a router made by createUpgradeRouter(), got ${kindOf(value)}`), example: 'createReconciler({ router, client })' },
  client: { check: (value) => (value instanceof PlatformClient ? undefined : `must be a client made by createPlatformClient(), got ${kindOf(value)}`), example: 'createReconciler({ router, client: createPlatformClient({ url, appId, secret }) })' },
  tasks: { check: checks.arrayOf(checks.nonEmptyString), example: "createReconciler({ router, client, tasks: ['<operationId>'] })" },
  intervalMs: { check: checks.wholeNumber, example: 'createReconciler({ router, client, intervalMs: 5 * 60_000 })' },
  resendWindowMs: { check: checks.wholeNumber, example: 'createReconciler({ router, client, resendWindowMs: 12 * 60_000 })' },
  recheckMs: { check: checks.wholeNumber, example: 'createReconciler({ router, client, recheckMs: 30 * 60_000 })' },
  stuckAfterMs: { check: checks.wholeNumber, example: 'createReconciler({ router, client, stuckAfterMs: 24 * 60 * 60_000 })' },
  callsPerMinute: { check: checks.wholeNumber, example: 'createReconciler({ router, client, callsPerMinute: 50 })' },
  lookBackMs: { check: checks.wholeNumber, example: 'createReconciler({ router, client, lookBackMs: 2 * 24 * 60 * 60_000 })' },
  schedule: { check: (value) => (typeof value === 'boolean' ? undefined : `must be true or false, got ${kindOf(value)}`), example: 'createReconciler({ router, client, schedule: false })' },
  now: { check: (value) => (typeof value === 'function' ? undefined : `must be a function returning epoch ms, got ${kindOf(value)}`), example: 'createReconciler({ router, client, now: () => emulator.now() })' },
};

type Exclusive<T> = { ran: true; value: T } | { ran: false };

class Reconciliation {
  readonly #options: ReconcilerOptions;
  readonly #client: PlatformClient;
  readonly #access: RouterExtension;
  readonly #journal: Journal | undefined;
  readonly #now: () => number;
  readonly #budget: SlidingWindow;
  readonly #tasks = new Following();
  readonly #stats: ReconcilerStats = {
    passes: 0,
    skipped: 0,
    errors: 0,
    calls: 0,
    tasks: 0,
    hinted: 0,
    unknownTasks: 0,
    filledIn: 0,
    missing: 0,
    waiting: 0,
    stuck: 0,
    lastPassAt: undefined,
    lastError: undefined,
    progress: undefined,
  };
  /** The pass under way (see ReconcileProgress); its flow-control wait is read when asked for. */
  #progress: Omit<ReconcileProgress, 'waitingForCallsUntil'> | undefined;
  /** Aborted when the reconciliation lock is lost mid-pass: no platform call is made without it. */
  #lock: AbortSignal | undefined;
  // One pass or check at a time, in order.
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  #remembered = false;

  constructor(options: ReconcilerOptions, access: RouterExtension) {
    this.#options = options;
    this.#client = options.client;
    this.#access = access;
    this.#journal = access.journal;
    this.#now = options.now ?? Date.now;
    this.#budget = new SlidingWindow(options.callsPerMinute ?? 50, MINUTE);
    for (const operationId of options.tasks ?? []) this.#tasks.follow(operationId);
  }

  observe(notification: { operationId: string; subOperationId: string; notifyType: string }): void {
    this.#tasks.observe(notification);
  }

  track(operationId: string): void {
    this.#tasks.follow(operationId);
  }

  latest(operationId: string): TaskReport | undefined {
    return this.#tasks.latest(operationId);
  }

  reports(): TaskReport[] {
    return this.#tasks.reports();
  }

  stats(): ReconcilerStats {
    const progress = this.#progress;
    return { ...this.#stats, progress: progress === undefined ? undefined : { ...progress, waitingForCallsUntil: this.#waitingForCalls() } };
  }

  #waitingForCalls(): Date | undefined {
    return latestWait([this.#budget.waitingUntil(), this.#client.waitingUntil()]);
  }

  readonly call = async <T>(work: () => Promise<T>): Promise<T> => {
    this.#lock?.throwIfAborted();
    const held = setTimeout(() => {
      const until = this.#waitingForCalls();
      if (until !== undefined) {
        this.#access.warn(`reconciliation waits for flow control until ${until.toISOString()} (callsPerMinute ${this.#budget.calls}, or a 1010009 from the platform): no platform call meanwhile`);
      }
    }, HELD_BACK_WARN_MS).unref();
    try {
      await this.#budget.acquire();
      this.#lock?.throwIfAborted();
      this.#stats.calls += 1;
      return await work();
    } finally {
      clearTimeout(held);
    }
  };

  #onPage(page: CheckProgress): void {
    const progress = this.#progress;
    if (progress === undefined) return;
    progress.operationId = page.operationId;
    progress.listing = page.listing;
    progress.pagesRead = page.pagesRead;
    progress.pages = page.pages;
  }

  async #finalsOf(operationId: string, task: Followed): Promise<FinalsBySubTask> {
    const finals = finalsFrom(this.#journal === undefined ? [] : await this.#journal.finalResults(operationId));
    // Pushes accepted while the journal failed wait in its spill folder: this process heard them.
    for (const subOperationId of task.pushed) finals.set(subOperationId, 'push');
    return finals;
  }

  // Counted as each is committed, not when the check ends: a check of a big task takes minutes.
  async #fill(result: ReconciledResult): Promise<boolean> {
    const filled = await this.#access.fill(result);
    if (filled) {
      this.#stats.filledIn += 1;
      if (this.#progress !== undefined) this.#progress.filledIn += 1;
    }
    return filled;
  }

  async check(operationId: string): Promise<TaskReport> {
    const task = this.#tasks.follow(operationId);
    if (this.#progress !== undefined) Object.assign(this.#progress, { operationId, listing: undefined, pagesRead: 0, pages: 0 });
    const platformTask = await this.call(() => this.#client.getTask(operationId));
    const finals = await this.#finalsOf(operationId, task);
    const report = await checkTask(
      {
        client: this.#client,
        call: this.call,
        finals,
        fill: this.#journal === undefined ? undefined : (result) => this.#fill(result),
        now: this.#now(),
        resendWindowMs: this.#options.resendWindowMs ?? 12 * MINUTE,
        stuckAfterMs: this.#options.stuckAfterMs ?? 24 * 60 * MINUTE,
        recheckMs: this.#options.recheckMs ?? 30 * MINUTE,
        state: task,
        progress: (page) => this.#onPage(page),
      },
      platformTask,
    );
    task.report = report;
    if (report.complete) this.#tasks.completed(operationId, report);
    return report;
  }

  failed(error: unknown, what: string): void {
    this.#stats.errors += 1;
    this.#stats.lastError = `${what}: ${describeThrown(error)}`;
    this.#access.report(codedError('ERR_RECONCILE_FAILED', `reconciliation: ${this.#stats.lastError}`, { cause: error }));
  }

  // Tasks the platform runs now: found even when not one push of theirs arrived.
  async #discover(): Promise<void> {
    for (const operationStatus of ['wait', 'processing'] as const) {
      for await (const task of pages((pageNo, pageSize) => this.call(() => this.#client.listTasks({ operationStatus, pageNo, pageSize })))) this.#tasks.follow(task.operationId);
    }
  }

  // A few hinted tasks a pass: those the platform knows are followed (a task that ran and ended
  // between two passes is found this way), the others remembered as unknown.
  async #askAboutHints(): Promise<void> {
    for (const operationId of this.#tasks.hintsToAsk()) {
      if (this.#closed) return;
      try {
        await this.call(() => this.#client.getTask(operationId));
        this.#tasks.follow(operationId);
      } catch (error) {
        if (!(error instanceof PlatformError && error.code === '123009')) throw error;
        this.#tasks.unknown(operationId);
      }
    }
  }

  // Tasks of the last days, from the journal, read before the first pass: a restart forgets nothing it was following.
  async #remember(): Promise<void> {
    if (this.#remembered || this.#journal === undefined) return;
    const since = new Date(Date.now() - (this.#options.lookBackMs ?? 2 * 24 * 60 * MINUTE));
    // Only hints: the journal holds whatever the callback was sent, forged pushes included.
    for (const operationId of await this.#journal.tasksSince(since)) if (!this.#tasks.isFollowed(operationId)) this.#tasks.hint(operationId, 0);
    this.#remembered = true;
  }

  async #pass(): Promise<TaskReport[]> {
    this.#progress = { startedAt: new Date(), tasksChecked: 0, tasks: this.#tasks.counts.tasks, operationId: undefined, listing: undefined, pagesRead: 0, pages: 0, filledIn: 0 };
    try {
      await this.#remember().catch((error: unknown) => this.failed(error, 'the journal could not be read for tasks'));
      await this.#discover().catch((error: unknown) => this.failed(error, 'the running tasks could not be listed'));
      await this.#askAboutHints().catch((error: unknown) => this.failed(error, 'a task named by pushes could not be looked up'));
      const reports = await this.#checkAll();
      this.#passed();
      return reports;
    } finally {
      this.#progress = undefined;
    }
  }

  async #checkAll(): Promise<TaskReport[]> {
    const reports: TaskReport[] = [];
    const order = this.#tasks.order();
    if (this.#progress !== undefined) this.#progress.tasks = order.length;
    for (const operationId of order) {
      if (this.#closed || this.#lock?.aborted === true) break;
      try {
        reports.push(await this.check(operationId));
      } catch (error) {
        // A task the platform does not know (another application's, a typo) is not asked about again.
        if (error instanceof PlatformError && error.code === '123009') this.#tasks.drop(operationId);
        this.failed(error, `task ${operationId}`);
      }
      if (this.#progress !== undefined) this.#progress.tasksChecked += 1;
    }
    return reports;
  }

  #passed(): void {
    const stats = this.#stats;
    stats.passes += 1;
    stats.lastPassAt = new Date();
    const latest = this.#tasks.followedReports();
    Object.assign(stats, this.#tasks.counts);
    stats.missing = latest.reduce((sum, report) => sum + report.missing.length, 0);
    stats.waiting = latest.reduce((sum, report) => sum + report.waiting, 0);
    stats.stuck = latest.reduce((sum, report) => sum + report.stuck.length, 0);
  }

  // Only one instance reconciles: each one's logins would invalidate the others' tokens. The journal
  // keeps the lock between passes, and aborts its signal the moment it is lost.
  async exclusive<T>(work: () => Promise<T>): Promise<Exclusive<T>> {
    if (this.#journal === undefined) return { ran: true, value: await work() };
    return this.#journal.exclusive(async (signal) => {
      this.#lock = signal;
      try {
        return await work();
      } finally {
        this.#lock = undefined;
      }
    });
  }

  serial<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.#queue.then(work);
    this.#queue = turn.catch(ignore);
    return turn;
  }

  reconcileAll(): Promise<TaskReport[] | undefined> {
    return this.serial(async () => {
      const outcome = await this.exclusive(() => this.#pass());
      if (outcome.ran) return outcome.value;
      this.#stats.skipped += 1;
      return undefined;
    });
  }

  reconcile(operationId: string): Promise<TaskReport> {
    return this.serial(async () => {
      const outcome = await this.exclusive(() => this.check(operationId));
      if (!outcome.ran) throw codedError('ERR_RECONCILE_LOCK_HELD', 'another instance holds the reconciliation lock now: its passes cover this task, or try again');
      return outcome.value;
    });
  }

  waiting(operationId: string, limit = 1000): Promise<WaitingDevice[] | undefined> {
    return this.serial(async () => {
      const outcome = await this.exclusive(async () => {
        const devices: WaitingDevice[] = [];
        for (const status of ['wait', 'processing'] as const) {
          for await (const sub of pages((pageNo, pageSize) => this.call(() => this.#client.listSubTasks(operationId, { status, pageNo, pageSize })))) {
            if (devices.length >= limit) break;
            devices.push({ deviceId: sub.deviceId, subOperationId: sub.subOperationId, status, ...(sub.startTime !== undefined && { startTime: sub.startTime }) });
          }
          if (devices.length >= limit) break;
        }
        return devices;
      });
      return outcome.ran ? outcome.value : undefined;
    });
  }

  /** Stops passes at the next task, then waits for the first one (`started`) and what is queued. */
  async close(started: Promise<unknown>): Promise<void> {
    this.#closed = true;
    await started;
    await this.#queue;
    // Another instance's reconciler may take over now.
    await this.#journal?.relinquish?.();
  }
}

/** Creates a reconciler for `router`'s tasks; it starts passing at once unless `schedule` is false. */
export function createReconciler(options: ReconcilerOptions): Reconciler {
  checkOptions(options, optionTable);
  requireOption(options.router, 'router', 'createReconciler({ router, client })');
  requireOption(options.client, 'client', 'createReconciler({ router, client })');
  const access = extensionOf(options.router);
  if (access === undefined) throw codedError('ERR_INVALID_OPTION', 'huawei-iot-upgrade-router: router must be a router made by createUpgradeRouter()', { kind: TypeError });
  const reconciliation = new Reconciliation(options, access);
  const unobserve = access.observe((notification) => {
    if (isDeviceNotification(notification)) reconciliation.observe(notification);
  });
  const passFailed = (error: unknown): void => reconciliation.failed(error, 'a pass failed');
  let timer: NodeJS.Timeout | undefined;
  const started = options.schedule === false ? Promise.resolve() : reconciliation.reconcileAll().catch(passFailed);
  if (options.schedule !== false) {
    timer = setInterval(() => {
      reconciliation.reconcileAll().catch(passFailed);
    }, options.intervalMs ?? 5 * MINUTE).unref();
  }
  access.attach(RECONCILER, { report: (operationId) => reconciliation.latest(operationId), waiting: (operationId, limit) => reconciliation.waiting(operationId, limit) });
  access.reconciliationStats(() => reconciliation.stats());
  return {
    reconcileAll: () => reconciliation.reconcileAll(),
    reconcile: (operationId) => reconciliation.reconcile(operationId),
    track: (operationId) => reconciliation.track(operationId),
    waiting: (operationId, limit) => reconciliation.waiting(operationId, limit),
    reports: () => reconciliation.reports(),
    stats: () => reconciliation.stats(),
    close: async () => {
      clearInterval(timer);
      unobserve();
      await reconciliation.close(started);
    },
  };
}
