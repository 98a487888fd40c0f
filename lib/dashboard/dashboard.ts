// The upgrade dashboard: a request handler to mount where the host chooses, behind its own
// authentication or the `authorize` option (it shows device identifiers). This file makes the fold,
// feeds it, and answers the questions (tasks, a page of devices, versions, health, exports); http.ts
// serves them as a JSON API, CSV, a live stream and one self-contained page.
import type { ServerResponse } from 'node:http';
import { codedError } from '../core/errors';
import { log, type Logger } from '../core/log';
import { checkOptions, checks, kindOf, type OptionTable } from '../core/option-checks';
import { asError, describeThrown } from '../core/thrown';
import { RECONCILER } from '../reconcile/attached';
import type { TaskReport } from '../reconcile/check';
import { extensionOf, type RouterExtension } from '../router/extension';
import type { DashboardTask, DashboardTaskDetail, NotReportedPage, PlatformSummary, UpgradeDashboard, UpgradeDashboardOptions } from './api';
import { DEVICE_COLUMNS, TASK_COLUMNS, deviceLines, exportCsv, taskLines } from './exports';
import { UpgradeFold, type Device, type FoldStats, type Task, type VersionCounts } from './fold';
import { healthOf, type DashboardHealth } from './health';
import { dashboardHandler } from './http';
import { WaitingReads } from './platform-reads';
import { DeviceViews, MAX_PAGE, checkQuery, rowOf, type DashboardDevice, type DevicePage, type DeviceQuery } from './query';
import { followJournal, followRouter } from './sources';
import { ChangeStreams } from './streams';
import { cut } from './strings';

export type { DashboardTask, DashboardTaskDetail, NotReportedPage, PlatformSummary, UpgradeDashboard, UpgradeDashboardOptions };

const optionTable: OptionTable = {
  router: {
    check: (value) => (typeof value === 'function' && typeof (value as { on?: unknown }).on === 'function' ? undefined : `must be a router made by createUpgradeRouter(), got ${kindOf(value)}`),
    example: 'createUpgradeDashboard({ router: upgrades })',
  },
  journal: { check: checks.withMethod('notificationsAfter'), example: 'createUpgradeDashboard({ router, journal }) with the journal given to the router' },
  staleAfterMs: { check: checks.wholeNumber, example: 'createUpgradeDashboard({ router, staleAfterMs: 60 * 60_000 })' },
  logger: { check: checks.withMethod('error'), example: 'createUpgradeDashboard({ router, logger: console })' },
  rolloutActions: { check: checks.oneOf(true, false), example: 'createUpgradeDashboard({ router, authorize, rolloutActions: true })' },
  authorize: { check: checks.fn, example: "createUpgradeDashboard({ router, authorize: (req) => req.headers.authorization === `Bearer ${token}` })" },
  errorCodes: {
    check: (value) => (checks.object(value) ?? (Object.values(value as object).every((text) => typeof text === 'string') ? undefined : 'must map each code to a text (string)')),
    example: "createUpgradeDashboard({ router, errorCodes: { '120006': 'battery too low' } })",
  },
  limits: {
    check: checks.object,
    example: 'createUpgradeDashboard({ router, limits: { tasks: 1000, devices: 200_000, bytes: 256 * 1024 * 1024, streams: 100 } })',
    keys: {
      tasks: { check: checks.wholeNumber, example: 'limits: { tasks: 1000 }' },
      devices: { check: checks.wholeNumber, example: 'limits: { devices: 200_000 } (all tasks together)' },
      bytes: { check: checks.wholeNumber, example: 'limits: { bytes: 256 * 1024 * 1024 } (all tasks together)' },
      streams: { check: checks.wholeNumber, example: 'limits: { streams: 100 }' },
      streamLifetimeMs: { check: checks.wholeNumber, example: 'limits: { streamLifetimeMs: 5 * 60_000 }' },
    },
  },
};

/** Devices of the reconciler's never-reported lists shown in a task's detail. */
const NEVER_SHOWN = 1000;

const refuseQuery = (query: { offset?: number; limit?: number }): void => {
  const problem = checkQuery(query);
  if (problem !== undefined) throw codedError('ERR_INVALID_ARG_VALUE', `huawei-iot-upgrade-router: ${problem}`, { kind: TypeError });
};

class Dashboard {
  readonly #options: UpgradeDashboardOptions;
  readonly #logger: Logger;
  readonly #errorCodes: Map<string, string>;
  readonly #fold: UpgradeFold;
  readonly streams: ChangeStreams;
  readonly #views: DeviceViews;
  // A view read stale is rebuilt on the next read after its second: tell the pages to read again then.
  readonly #retell = new Map<string, NodeJS.Timeout>();
  // The reconciler, when one is attached to the router (now or later): its latest report per task.
  readonly #access: RouterExtension | undefined;
  readonly #waiting = new WaitingReads();
  readonly #stop: () => void;
  #failing = false;
  /** Drops the answers the HTTP side keeps (set once it is made). */
  forget: () => void = () => {};

  constructor(options: UpgradeDashboardOptions) {
    this.#options = options;
    this.#logger = options.logger ?? console;
    this.#errorCodes = new Map(Object.entries(options.errorCodes ?? {}));
    this.#fold = new UpgradeFold(options.staleAfterMs ?? 60 * 60_000, options.limits);
    this.streams = new ChangeStreams(options.limits?.streams ?? 100, options.limits?.streamLifetimeMs);
    this.#views = new DeviceViews(
      (task, device, now) => this.#fold.isStale(task, device, now),
      (operationId, inMs) => this.#retellIn(operationId, inMs),
    );
    this.#access = extensionOf(options.router);
    this.#stop = this.#follow();
  }

  #retellIn(operationId: string, inMs: number): void {
    if (this.#retell.has(operationId)) return;
    const timer = setTimeout(() => {
      this.#retell.delete(operationId);
      this.streams.changed(operationId);
    }, inMs + 10).unref();
    this.#retell.set(operationId, timer);
  }

  #follow(): () => void {
    const apply = (notification: Parameters<UpgradeFold['apply']>[0], at: Date): void => this.streams.changed(this.#fold.apply(notification, at));
    if (this.#options.journal === undefined) return followRouter(this.#options.router, apply);
    return followJournal(
      this.#options.journal,
      apply,
      () => {
        this.#failing = false;
      },
      (error) => {
        if (this.#failing) return;
        this.#failing = true;
        log(this.#logger, 'error', `the upgrade dashboard could not read the journal (it keeps trying): ${describeThrown(error)}`, { error: asError(error, 'the journal threw') });
      },
    );
  }

  #reportOf(operationId: string): TaskReport | undefined {
    return this.#access?.attached(RECONCILER)?.report(operationId);
  }

  #summaryOf(task: Task, now: number): DashboardTask {
    const summary = this.#fold.summary(task, now);
    const report = this.#reportOf(task.operationId);
    const finals = summary.succeeded + summary.failed;
    const listed = this.#fold.listed(task.operationId);
    const expected = report?.expected ?? listed?.expected ?? null;
    const neverSeen = Math.max(0, (expected ?? summary.devices) - summary.devices);
    const silent = summary.stale + (now - task.firstSeen > summary.staleAfterMs ? neverSeen : 0);
    const left = (expected ?? summary.devices) - finals - silent;
    const estimatedEnd = left > 0 && summary.resultsPerMinute > 0 ? new Date(now + (left / summary.resultsPerMinute) * 60_000) : null;
    const withTimes: DashboardTask = { ...summary, expected, notReported: listed?.notReported ?? null, durationMs: task.lastSeen - task.firstSeen, silent, estimatedEnd };
    if (report === undefined) return withTimes;
    const { status, received, filledIn, waiting, checkedAt } = report;
    return { ...withTimes, platform: { status, expected: report.expected, received, filledIn, missing: report.missing.length, waiting, stuck: report.stuck.length, checkedAt } };
  }

  tasks(): DashboardTask[] {
    const now = Date.now();
    return [...this.#fold.all()].reverse().map((task) => this.#summaryOf(task, now));
  }

  task(operationId: string): DashboardTaskDetail | undefined {
    const found = this.#fold.get(operationId);
    if (found === undefined) return undefined;
    const errorTexts: Record<string, string> = {};
    for (const code of found.errorCodes.keys()) {
      const text = this.#errorCodes.get(code);
      if (text !== undefined) errorTexts[code] = text;
    }
    const detail: DashboardTaskDetail = { task: this.#summaryOf(found, Date.now()), errorTexts };
    const report = this.#reportOf(operationId);
    if (report !== undefined) detail.neverReported = { missing: report.missing.slice(0, NEVER_SHOWN), stuck: report.stuck.slice(0, NEVER_SHOWN) };
    return detail;
  }

  #row(found: Task, device: Device, now: number): DashboardDevice {
    return rowOf(device, this.#fold.isStale(found, device, now), device.errorCode === null ? null : (this.#errorCodes.get(device.errorCode) ?? null));
  }

  devices(operationId: string, query: DeviceQuery = {}): DevicePage | undefined {
    refuseQuery(query);
    const found = this.#fold.get(operationId);
    if (found === undefined) return undefined;
    const now = Date.now();
    const offset = query.offset ?? 0;
    const limit = Math.min(query.limit ?? 100, MAX_PAGE);
    const { total, rows } = this.#views.page(found, query, offset, limit, now);
    return { total, offset, limit, devices: rows.map((device) => this.#row(found, device, now)) };
  }

  // What the answers say changed at once: the kept answers are dropped, the pages told.
  #changed(operationId: string): void {
    this.forget();
    this.streams.changed(operationId);
  }

  expect(operationId: string, deviceIds: Iterable<string>): void {
    if (typeof operationId !== 'string' || typeof (deviceIds as Partial<Iterable<string>> | null | undefined)?.[Symbol.iterator] !== 'function') {
      throw codedError('ERR_INVALID_ARG_VALUE', 'huawei-iot-upgrade-router: expect(operationId, deviceIds) takes a task id and an iterable of device ids', { kind: TypeError });
    }
    this.#fold.expect(operationId, [...deviceIds].map(String));
    this.#changed(operationId);
  }

  staleAfter(operationId: string, ms: number | undefined): void {
    if (typeof operationId !== 'string' || (ms !== undefined && !(Number.isInteger(ms) && ms >= 0))) {
      throw codedError('ERR_INVALID_ARG_VALUE', 'huawei-iot-upgrade-router: staleAfter(operationId, ms) takes a task id and a whole number of milliseconds (or undefined)', { kind: TypeError });
    }
    this.#fold.staleAfter(operationId, ms);
    this.#changed(operationId);
  }

  async neverPushed(operationId: string, page: { offset?: number; limit?: number } = {}): Promise<NotReportedPage | undefined> {
    refuseQuery(page);
    const reconciler = this.#access?.attached(RECONCILER);
    if (reconciler === undefined) return undefined;
    const devices = await this.#waiting.of(reconciler, operationId);
    const heard = this.#fold.get(operationId)?.devices;
    const never = devices.filter((device) => heard?.has(cut(device.deviceId)) !== true).map((device) => device.deviceId);
    const offset = page.offset ?? 0;
    const limit = page.limit ?? 100;
    return { total: never.length, offset, limit, deviceIds: never.slice(offset, offset + limit) };
  }

  notReported(operationId: string, page: { offset?: number; limit?: number } = {}): NotReportedPage | undefined {
    refuseQuery(page);
    const offset = page.offset ?? 0;
    const limit = page.limit ?? 100;
    const found = this.#fold.notReported(operationId, offset, limit);
    return found === undefined ? undefined : { total: found.total, offset, limit, deviceIds: found.deviceIds };
  }

  versions(): VersionCounts[] {
    const all = new Map<string, VersionCounts>();
    for (const found of this.#fold.all()) {
      for (const [key, counts] of found.versions) {
        const sum = all.get(key) ?? { sourceVersion: counts.sourceVersion, targetVersion: counts.targetVersion, succeeded: 0, failed: 0 };
        sum.succeeded += counts.succeeded;
        sum.failed += counts.failed;
        all.set(key, sum);
      }
    }
    return [...all.values()];
  }

  has(operationId: string): boolean {
    return this.#fold.get(operationId) !== undefined;
  }

  stats(): FoldStats & { streams: number } {
    return { ...this.#fold.stats(), streams: this.streams.size };
  }

  health(): DashboardHealth {
    return healthOf(this.#options.router, this.stats());
  }

  csvTasks(res: ServerResponse): void {
    exportCsv(this.#logger, res, 'tasks.csv', TASK_COLUMNS, taskLines(this.tasks()));
  }

  csvDevices(res: ServerResponse, operationId: string | undefined, query: DeviceQuery): void {
    const found = operationId === undefined ? [...this.#fold.all()].reverse() : [this.#fold.get(operationId)].filter((one) => one !== undefined);
    const lines = deviceLines(
      found,
      (task, now) => this.#views.rows(task, query, now),
      (task, device, now) => this.#row(task, device, now),
    );
    exportCsv(this.#logger, res, operationId === undefined ? 'devices.csv' : `task-${operationId}.csv`, DEVICE_COLUMNS, lines);
  }

  close(): void {
    this.#stop();
    this.streams.close();
    this.#views.clear();
    this.forget();
    for (const timer of this.#retell.values()) clearTimeout(timer);
    this.#retell.clear();
    this.#waiting.clear();
  }
}

/** Creates the dashboard; mount it with `app.use('/upgrades', requireAuth, dashboard)` or give it `authorize`. */
export function createUpgradeDashboard(options: UpgradeDashboardOptions): UpgradeDashboard {
  checkOptions(options, optionTable);
  if ((options as Partial<UpgradeDashboardOptions> | undefined)?.router === undefined) {
    throw codedError('ERR_INVALID_OPTION', 'huawei-iot-upgrade-router: router is required; for example createUpgradeDashboard({ router: upgrades })', { kind: TypeError });
  }
  const dashboard = new Dashboard(options);
  const api = {
    tasks: () => dashboard.tasks(),
    task: (operationId: string) => dashboard.task(operationId),
    devices: (operationId: string, query?: DeviceQuery) => dashboard.devices(operationId, query),
    versions: () => dashboard.versions(),
    health: () => dashboard.health(),
    notReported: (operationId: string, page?: { offset?: number; limit?: number }) => dashboard.notReported(operationId, page),
    neverPushed: (operationId: string, page?: { offset?: number; limit?: number }) => dashboard.neverPushed(operationId, page),
  };
  const http = dashboardHandler({
    api,
    has: (operationId) => dashboard.has(operationId),
    csv: { tasks: (res) => dashboard.csvTasks(res), devices: (res, operationId, query) => dashboard.csvDevices(res, operationId, query) },
    streams: dashboard.streams,
    authorize: options.authorize,
    logger: options.logger ?? console,
    router: options.router,
    rolloutActions: options.rolloutActions === true,
  });
  dashboard.forget = http.forget;
  return Object.assign(http.handle, {
    ...api,
    expect: (operationId: string, deviceIds: Iterable<string>) => dashboard.expect(operationId, deviceIds),
    staleAfter: (operationId: string, ms: number | undefined) => dashboard.staleAfter(operationId, ms),
    stats: () => dashboard.stats(),
    close: () => dashboard.close(),
  });
}
