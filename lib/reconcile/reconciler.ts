// The reconciler: asks the platform, for each upgrade task it knows, what became of each device, and
// fills in the final results no push brought (a receiver down past the platform's 10-minute re-send
// window, a push lost on the way). Filled-in results go through the router's journal as
// `reconciledResult`: at least once, never twice for a sub-task, never for one whose push arrived.
//
// The tasks it follows come from the platform (its list of running tasks, a page of 100 a call), from
// `tasks` and `track()`. A push only hints at a task: the callback is unauthenticated, so a flood of
// pushes naming tasks that do not exist must not spend the platform's call budget. A few hinted
// tasks a pass, the most active first, are asked about; those the platform does not know are
// remembered as unknown and cost nothing again.
import { RECONCILER } from './attached';
import { ignore, describeThrown } from '../core/thrown';
import type { ReconcileProgress, ReconcilerStats } from '../core/stats';
import type { ReconciledResult } from '../core/events';
import { checkOptions, checks, kindOf, requireOption, type OptionTable } from '../core/option-checks';
import { pages } from '../platform/paging';
import { PlatformClient } from '../platform/client';
import { PlatformError } from '../platform/errors';
import { SlidingWindow, latest as latestWait } from '../platform/rate-limit';
import type { UpgradeRouter } from '../router/router';
import { extensionOf } from '../router/extension';
import { checkTask, finalsFrom, type CheckProgress, type FinalsBySubTask, type TaskReport, type TaskState, type WaitingDevice } from './check';
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
const COMPLETED_KEPT = 100;
/** Hinted tasks kept (the least active dropped past it), asked about a pass, and unknown ones remembered. */
const HINTS_KEPT = 1000;
const HINTS_PER_PASS = 10;
const UNKNOWN_KEPT = 10_000;
/** Pushed final results a hinted task keeps before it is followed. */
const HINTED_PUSHES_KEPT = 1000;
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

interface Followed extends TaskState {
  /** Final results pushes brought to this process (the journal holds the rest; without one, this is all there is). */
  pushed: Set<string>;
  report?: TaskReport;
  /** When a push of the task last arrived (0: none): tasks are checked most recently active first. */
  activeAt: number;
}

/** A task named by pushes that is not followed yet. */
interface Hint {
  pushes: number;
  activeAt: number;
  pushed: Set<string>;
}

const isFinalPush = (notifyType: string): boolean => notifyType === 'swUpgradeResultNotify' || notifyType === 'fwUpgradeResultNotify';

/** Creates a reconciler for `router`'s tasks; it starts passing at once unless `schedule` is false. */
export function createReconciler(options: ReconcilerOptions): Reconciler {
  checkOptions(options, optionTable);
  requireOption(options.router, 'router', 'createReconciler({ router, client })');
  requireOption(options.client, 'client', 'createReconciler({ router, client })');
  const { router, client } = options;
  const access = extensionOf(router);
  if (access === undefined) throw codedError('ERR_INVALID_OPTION', 'huawei-iot-upgrade-router: router must be a router made by createUpgradeRouter()', { kind: TypeError });
  const journal = access.journal;
  const now = options.now ?? Date.now;
  const resendWindowMs = options.resendWindowMs ?? 12 * MINUTE;
  const stuckAfterMs = options.stuckAfterMs ?? 24 * 60 * MINUTE;
  const recheckMs = options.recheckMs ?? 30 * MINUTE;
  const budget = new SlidingWindow(options.callsPerMinute ?? 50, MINUTE);
  const followed = new Map<string, Followed>();
  const completed: TaskReport[] = [];
  const stats: ReconcilerStats = {
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
  let progress: Omit<ReconcileProgress, 'waitingForCallsUntil'> | undefined;
  const waitingForCalls = (): Date | undefined => latestWait([budget.waitingUntil(), client.waitingUntil()]);
  const statsNow = (): ReconcilerStats => ({ ...stats, progress: progress === undefined ? undefined : { ...progress, waitingForCallsUntil: waitingForCalls() } });
  let closed = false;
  // One pass or check at a time, in order.
  let queue: Promise<unknown> = Promise.resolve();

  const hints = new Map<string, Hint>();
  /** Tasks the platform said it does not know, oldest first. */
  const unknownTasks = new Set<string>();

  const follow = (operationId: string): Followed => {
    let task = followed.get(operationId);
    if (task === undefined) {
      const hint = hints.get(operationId);
      hints.delete(operationId);
      unknownTasks.delete(operationId);
      task = { pushed: hint?.pushed ?? new Set(), seenFinished: new Map(), activeAt: hint?.activeAt ?? 0 };
      followed.set(operationId, task);
    }
    return task;
  };
  for (const operationId of options.tasks ?? []) follow(operationId);

  const hint = (operationId: string, activeAt: number): Hint | undefined => {
    if (unknownTasks.has(operationId) || completed.some((report) => report.operationId === operationId)) return undefined;
    let entry = hints.get(operationId);
    if (entry === undefined) {
      if (hints.size >= HINTS_KEPT) {
        const least = [...hints].reduce((a, b) => (b[1].pushes < a[1].pushes || (b[1].pushes === a[1].pushes && b[1].activeAt < a[1].activeAt) ? b : a));
        hints.delete(least[0]);
      }
      entry = { pushes: 0, activeAt, pushed: new Set() };
      hints.set(operationId, entry);
    }
    entry.pushes += 1;
    entry.activeAt = activeAt;
    return entry;
  };

  const unobserve = access.observe((notification) => {
    const at = Date.now();
    const task = followed.get(notification.operationId);
    const final = isFinalPush(notification.notifyType);
    if (task !== undefined) {
      task.activeAt = at;
      if (final) task.pushed.add(notification.subOperationId);
      return;
    }
    const entry = hint(notification.operationId, at);
    if (entry !== undefined && final && entry.pushed.size < HINTED_PUSHES_KEPT) entry.pushed.add(notification.subOperationId);
  });

  /** Aborted when the reconciliation lock is lost mid-pass: no platform call is made without it. */
  let lock: AbortSignal | undefined;
  const call = async <T>(work: () => Promise<T>): Promise<T> => {
    lock?.throwIfAborted();
    const held = setTimeout(() => {
      const until = waitingForCalls();
      if (until !== undefined) access.warn(`reconciliation waits for flow control until ${until.toISOString()} (callsPerMinute ${budget.calls}, or a 1010009 from the platform): no platform call meanwhile`);
    }, HELD_BACK_WARN_MS).unref();
    try {
      await budget.acquire();
      lock?.throwIfAborted();
      stats.calls += 1;
      return await work();
    } finally {
      clearTimeout(held);
    }
  };

  const onPage = (page: CheckProgress): void => {
    if (progress === undefined) return;
    progress.operationId = page.operationId;
    progress.listing = page.listing;
    progress.pagesRead = page.pagesRead;
    progress.pages = page.pages;
  };

  const finalsOf = async (operationId: string, task: Followed): Promise<FinalsBySubTask> => {
    const finals = finalsFrom(journal === undefined ? [] : await journal.finalResults(operationId));
    // Pushes accepted while the journal failed wait in its spill folder: this process heard them.
    for (const subOperationId of task.pushed) finals.set(subOperationId, 'push');
    return finals;
  };

  const check = async (operationId: string): Promise<TaskReport> => {
    const task = follow(operationId);
    if (progress !== undefined) Object.assign(progress, { operationId, listing: undefined, pagesRead: 0, pages: 0 });
    const platformTask = await call(() => client.getTask(operationId));
    const finals = await finalsOf(operationId, task);
    // Counted as each is committed, not when the check ends: a check of a big task takes minutes.
    const fill =
      journal === undefined
        ? undefined
        : async (result: ReconciledResult): Promise<boolean> => {
            const filled = await access.fill(result);
            if (filled) {
              stats.filledIn += 1;
              if (progress !== undefined) progress.filledIn += 1;
            }
            return filled;
          };
    const report = await checkTask({ client, call, finals, fill, now: now(), resendWindowMs, stuckAfterMs, recheckMs, state: task, progress: onPage }, platformTask);
    task.report = report;
    if (report.complete) {
      followed.delete(operationId);
      // One report per task: a task checked again on demand replaces its earlier one.
      const earlier = completed.findIndex((kept) => kept.operationId === operationId);
      if (earlier !== -1) completed.splice(earlier, 1);
      completed.push(report);
      if (completed.length > COMPLETED_KEPT) completed.shift();
    }
    return report;
  };

  const failed = (error: unknown, what: string): void => {
    stats.errors += 1;
    stats.lastError = `${what}: ${describeThrown(error)}`;
    access.report(codedError('ERR_RECONCILE_FAILED', `reconciliation: ${stats.lastError}`, { cause: error }));
  };

  // Tasks the platform runs now: found even when not one push of theirs arrived.
  const discover = async (): Promise<void> => {
    for (const operationStatus of ['wait', 'processing'] as const) {
      for await (const task of pages((pageNo, pageSize) => call(() => client.listTasks({ operationStatus, pageNo, pageSize })))) follow(task.operationId);
    }
  };

  // A few hinted tasks a pass, the most active first: those the platform knows are followed (a task
  // that ran and ended between two passes is found this way), the others remembered as unknown.
  const askAboutHints = async (): Promise<void> => {
    const asked = [...hints].sort((a, b) => b[1].pushes - a[1].pushes || b[1].activeAt - a[1].activeAt).slice(0, HINTS_PER_PASS);
    for (const [operationId] of asked) {
      if (closed) return;
      try {
        await call(() => client.getTask(operationId));
        follow(operationId);
      } catch (error) {
        if (!(error instanceof PlatformError && error.code === '123009')) throw error;
        hints.delete(operationId);
        unknownTasks.add(operationId);
        if (unknownTasks.size > UNKNOWN_KEPT) unknownTasks.delete(unknownTasks.values().next().value as string);
      }
    }
  };

  const pass = async (): Promise<TaskReport[]> => {
    progress = { startedAt: new Date(), tasksChecked: 0, tasks: followed.size, operationId: undefined, listing: undefined, pagesRead: 0, pages: 0, filledIn: 0 };
    try {
      return await passOver();
    } finally {
      progress = undefined;
    }
  };

  const passOver = async (): Promise<TaskReport[]> => {
    await remember().catch((error: unknown) => failed(error, 'the journal could not be read for tasks'));
    await discover().catch((error: unknown) => failed(error, 'the running tasks could not be listed'));
    await askAboutHints().catch((error: unknown) => failed(error, 'a task named by pushes could not be looked up'));
    const reports: TaskReport[] = [];
    const order = [...followed].sort((a, b) => b[1].activeAt - a[1].activeAt).map(([operationId]) => operationId);
    if (progress !== undefined) progress.tasks = order.length;
    for (const operationId of order) {
      if (closed || lock?.aborted === true) break;
      try {
        reports.push(await check(operationId));
      } catch (error) {
        // A task the platform does not know (another application's, a typo) is not asked about again.
        if (error instanceof PlatformError && error.code === '123009') followed.delete(operationId);
        failed(error, `task ${operationId}`);
      }
      if (progress !== undefined) progress.tasksChecked += 1;
    }
    stats.passes += 1;
    stats.lastPassAt = new Date();
    const latest = [...followed.values()].flatMap((task) => (task.report === undefined ? [] : [task.report]));
    stats.tasks = followed.size;
    stats.hinted = hints.size;
    stats.unknownTasks = unknownTasks.size;
    stats.missing = latest.reduce((sum, report) => sum + report.missing.length, 0);
    stats.waiting = latest.reduce((sum, report) => sum + report.waiting, 0);
    stats.stuck = latest.reduce((sum, report) => sum + report.stuck.length, 0);
    return reports;
  };

  // Only one instance reconciles: each one's logins would invalidate the others' tokens. The journal
  // keeps the lock between passes, and aborts its signal the moment it is lost.
  const exclusive = async <T>(work: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> => {
    if (journal === undefined) return { ran: true, value: await work() };
    return journal.exclusive(async (signal) => {
      lock = signal;
      try {
        return await work();
      } finally {
        lock = undefined;
      }
    });
  };

  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const turn = queue.then(work);
    queue = turn.catch(ignore);
    return turn;
  };

  const reconcileAll = (): Promise<TaskReport[] | undefined> =>
    serial(async () => {
      const outcome = await exclusive(pass);
      if (outcome.ran) return outcome.value;
      stats.skipped += 1;
      return undefined;
    });

  // Tasks of the last days, from the journal, read before the first pass: a restart forgets nothing it was following.
  let remembered = false;
  const remember = async (): Promise<void> => {
    if (remembered || journal === undefined) return;
    const since = new Date(Date.now() - (options.lookBackMs ?? 2 * 24 * 60 * MINUTE));
    // Only hints: the journal holds whatever the callback was sent, forged pushes included.
    for (const operationId of await journal.tasksSince(since)) if (!followed.has(operationId)) hint(operationId, 0);
    remembered = true;
  };

  let timer: NodeJS.Timeout | undefined;
  const started = options.schedule === false ? Promise.resolve() : reconcileAll().catch((error: unknown) => failed(error, 'a pass failed'));
  if (options.schedule !== false) {
    timer = setInterval(() => {
      reconcileAll().catch((error: unknown) => failed(error, 'a pass failed'));
    }, options.intervalMs ?? 5 * MINUTE).unref();
  }
  const waiting = (operationId: string, limit = 1000): Promise<WaitingDevice[] | undefined> =>
    serial(async () => {
      const outcome = await exclusive(async () => {
        const devices: WaitingDevice[] = [];
        for (const status of ['wait', 'processing'] as const) {
          for await (const sub of pages((pageNo, pageSize) => call(() => client.listSubTasks(operationId, { status, pageNo, pageSize })))) {
            if (devices.length >= limit) break;
            devices.push({ deviceId: sub.deviceId, subOperationId: sub.subOperationId, status, ...(sub.startTime !== undefined && { startTime: sub.startTime }) });
          }
          if (devices.length >= limit) break;
        }
        return devices;
      });
      return outcome.ran ? outcome.value : undefined;
    });
  const latest = (operationId: string): TaskReport | undefined => followed.get(operationId)?.report ?? completed.findLast((report) => report.operationId === operationId);
  access.attach(RECONCILER, { report: latest, waiting });
  access.reconciliationStats(statsNow);

  return {
    reconcileAll,
    reconcile: (operationId) =>
      serial(async () => {
        const outcome = await exclusive(() => check(operationId));
        if (!outcome.ran) throw codedError('ERR_RECONCILE_LOCK_HELD', 'another instance holds the reconciliation lock now: its passes cover this task, or try again');
        return outcome.value;
      }),
    track: (operationId) => void follow(operationId),
    waiting,
    reports: () => [...completed, ...[...followed.values()].flatMap((task) => (task.report === undefined ? [] : [task.report]))],
    stats: statsNow,
    close: async () => {
      closed = true;
      clearInterval(timer);
      unobserve();
      await started;
      await queue;
      // Another instance's reconciler may take over now.
      await journal?.relinquish?.();
    },
  };
}
