// The upgrade dashboard: a request handler to mount where the host chooses, behind its own
// authentication or the `authorize` option (it shows device identifiers). This file makes the fold,
// feeds it, and answers the questions (tasks, a page of devices, versions, health, exports); http.ts
// serves them as a JSON API, CSV, a live stream and one self-contained page.
import { RECONCILER } from '../reconcile/attached';
import type { ServerResponse } from 'node:http';
import { checkOptions, checks, kindOf, type OptionTable } from '../core/option-checks';
import { extensionOf } from '../router/extension';
import type { TaskReport, WaitingDevice } from '../reconcile/check';
import { cut } from './strings';
import { log } from '../core/log';
import { asError, describeThrown } from '../core/thrown';
import { streamCsv, type CsvValue } from './csv';
import { UpgradeFold, type Device, type FoldStats, type Task, type VersionCounts } from './fold';
import { DeviceViews, MAX_PAGE, checkQuery, rowOf, type DashboardDevice, type DevicePage, type DeviceQuery } from './query';
import { ChangeStreams } from './streams';
import { followJournal, followRouter } from './sources';
import { healthOf, type DashboardHealth } from './health';
import { dashboardHandler } from './http';
import type { DashboardTask, DashboardTaskDetail, NotReportedPage, PlatformSummary, UpgradeDashboard, UpgradeDashboardOptions } from './api';
import { codedError } from '../core/errors';

export type { DashboardTask, DashboardTaskDetail, NotReportedPage, PlatformSummary, UpgradeDashboard, UpgradeDashboardOptions };

const optionTable: OptionTable = {
  router: {
    check: (value) => (typeof value === 'function' && typeof (value as { on?: unknown }).on === 'function' ? undefined : `must be a router made by createUpgradeRouter(), got ${kindOf(value)}`),
    example: 'createUpgradeDashboard({ router: upgrades })',
  },
  journal: { check: checks.withMethod('notificationsAfter'), example: 'createUpgradeDashboard({ router, journal }) with the journal given to the router' },
  staleAfterMs: { check: checks.wholeNumber, example: 'createUpgradeDashboard({ router, staleAfterMs: 60 * 60_000 })' },
  logger: { check: checks.withMethod('error'), example: 'createUpgradeDashboard({ router, logger: console })' },
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

/** Waiting devices read from the platform for `neverPushed`, kept this long, for this many tasks. */
const WAITING_READ = 1000;
const WAITING_FRESH_MS = 60_000;
const WAITING_TASKS = 100;
/** Devices of the reconciler's never-reported lists shown in a task's detail. */
const NEVER_SHOWN = 1000;
const DEVICE_COLUMNS = ['operationId', 'deviceId', 'subOperationId', 'state', 'result', 'errorCode', 'errorText', 'resultDesc', 'description', 'statusDesc', 'reconciled', 'sourceVersion', 'curVersion', 'targetVersion', 'upgradeTime', 'stale', 'firstSeen', 'lastSeen'] as const;
const TASK_COLUMNS = ['operationId', 'kind', 'devices', 'expected', 'notReported', 'succeeded', 'failed', 'reconciled', 'inProgress', 'stale', 'staleAfterMs', 'missing', 'stuck', 'resultsPerMinute', 'firstSeen', 'lastSeen', 'lastPush', 'lastFilled', 'silent', 'estimatedEnd'] as const;

/** Creates the dashboard; mount it with `app.use('/upgrades', requireAuth, dashboard)` or give it `authorize`. */
export function createUpgradeDashboard(options: UpgradeDashboardOptions): UpgradeDashboard {
  checkOptions(options, optionTable);
  if ((options as Partial<UpgradeDashboardOptions> | undefined)?.router === undefined) {
    throw codedError('ERR_INVALID_OPTION', 'huawei-iot-upgrade-router: router is required; for example createUpgradeDashboard({ router: upgrades })', { kind: TypeError });
  }
  const staleAfterMs = options.staleAfterMs ?? 60 * 60_000;
  const logger = options.logger ?? console;
  const errorCodes = new Map(Object.entries(options.errorCodes ?? {}));
  const fold = new UpgradeFold(staleAfterMs, options.limits);
  const streams = new ChangeStreams(options.limits?.streams ?? 100, options.limits?.streamLifetimeMs);

  // A view read stale is rebuilt on the next read after its second: tell the pages to read again then.
  const retell = new Map<string, NodeJS.Timeout>();
  const views = new DeviceViews(
    (task, device, now) => fold.isStale(task, device, now),
    (operationId, inMs) => {
      if (retell.has(operationId)) return;
      retell.set(
        operationId,
        setTimeout(() => {
          retell.delete(operationId);
          streams.changed(operationId);
        }, inMs + 10).unref(),
      );
    },
  );

  let failing = false;
  const stop =
    options.journal === undefined
      ? followRouter(options.router, (notification, at) => streams.changed(fold.apply(notification, at)))
      : followJournal(
          options.journal,
          (notification, at) => streams.changed(fold.apply(notification, at)),
          () => {
            failing = false;
          },
          (error) => {
            if (failing) return;
            failing = true;
            log(logger, 'error', `the upgrade dashboard could not read the journal (it keeps trying): ${describeThrown(error)}`, { error: asError(error, 'the journal threw') });
          },
        );

  // The reconciler, when one is attached to the router (now or later): its latest report per task.
  const access = extensionOf(options.router);
  const reportOf = (operationId: string): TaskReport | undefined => access?.attached(RECONCILER)?.report(operationId);
  const summaryOf = (task: Task, now: number): DashboardTask => {
    const summary = fold.summary(task, now);
    const report = reportOf(task.operationId);
    const finals = summary.succeeded + summary.failed;
    const listed = fold.listed(task.operationId);
    const expected = report?.expected ?? listed?.expected ?? null;
    const neverSeen = Math.max(0, (expected ?? summary.devices) - summary.devices);
    const silent = summary.stale + (now - task.firstSeen > summary.staleAfterMs ? neverSeen : 0);
    const left = (expected ?? summary.devices) - finals - silent;
    const estimatedEnd = left > 0 && summary.resultsPerMinute > 0 ? new Date(now + (left / summary.resultsPerMinute) * 60_000) : null;
    const withTimes: DashboardTask = { ...summary, expected, notReported: listed?.notReported ?? null, durationMs: task.lastSeen - task.firstSeen, silent, estimatedEnd };
    if (report === undefined) return withTimes;
    const { status, received, filledIn, waiting, checkedAt } = report;
    return { ...withTimes, platform: { status, expected: report.expected, received, filledIn, missing: report.missing.length, waiting, stuck: report.stuck.length, checkedAt } };
  };
  const tasks = (): DashboardTask[] => {
    const now = Date.now();
    return [...fold.all()].reverse().map((task) => summaryOf(task, now));
  };

  const task = (operationId: string): DashboardTaskDetail | undefined => {
    const found = fold.get(operationId);
    if (found === undefined) return undefined;
    const errorTexts: Record<string, string> = {};
    for (const code of found.errorCodes.keys()) {
      const text = errorCodes.get(code);
      if (text !== undefined) errorTexts[code] = text;
    }
    const detail: DashboardTaskDetail = { task: summaryOf(found, Date.now()), errorTexts };
    const report = reportOf(operationId);
    if (report !== undefined) detail.neverReported = { missing: report.missing.slice(0, NEVER_SHOWN), stuck: report.stuck.slice(0, NEVER_SHOWN) };
    return detail;
  };

  const row = (found: Task, device: Device, now: number): DashboardDevice => rowOf(device, fold.isStale(found, device, now), device.errorCode === null ? null : (errorCodes.get(device.errorCode) ?? null));

  const devices = (operationId: string, query: DeviceQuery = {}): DevicePage | undefined => {
    const problem = checkQuery(query);
    if (problem !== undefined) throw codedError('ERR_INVALID_ARG_VALUE', `huawei-iot-upgrade-router: ${problem}`, { kind: TypeError });
    const found = fold.get(operationId);
    if (found === undefined) return undefined;
    const now = Date.now();
    const offset = query.offset ?? 0;
    const limit = Math.min(query.limit ?? 100, MAX_PAGE);
    const { total, rows } = views.page(found, query, offset, limit, now);
    return { total, offset, limit, devices: rows.map((device) => row(found, device, now)) };
  };

  const expect = (operationId: string, deviceIds: Iterable<string>): void => {
    if (typeof operationId !== 'string' || typeof (deviceIds as Partial<Iterable<string>> | null | undefined)?.[Symbol.iterator] !== 'function') {
      throw codedError('ERR_INVALID_ARG_VALUE', 'huawei-iot-upgrade-router: expect(operationId, deviceIds) takes a task id and an iterable of device ids', { kind: TypeError });
    }
    fold.expect(operationId, [...deviceIds].map(String));
    http.forget();
    streams.changed(operationId);
  };

  const staleAfter = (operationId: string, ms: number | undefined): void => {
    if (typeof operationId !== 'string' || (ms !== undefined && !(Number.isInteger(ms) && ms >= 0))) {
      throw codedError('ERR_INVALID_ARG_VALUE', 'huawei-iot-upgrade-router: staleAfter(operationId, ms) takes a task id and a whole number of milliseconds (or undefined)', { kind: TypeError });
    }
    fold.staleAfter(operationId, ms);
    http.forget();
    streams.changed(operationId);
  };

  // The platform's waiting devices, per task, read at most once a minute: every open page asks.
  const waitingRead = new Map<string, { at: number; devices: Promise<WaitingDevice[] | undefined> }>();
  const neverPushed = async (operationId: string, page: { offset?: number; limit?: number } = {}): Promise<NotReportedPage | undefined> => {
    const problem = checkQuery(page);
    if (problem !== undefined) throw codedError('ERR_INVALID_ARG_VALUE', `huawei-iot-upgrade-router: ${problem}`, { kind: TypeError });
    const reconciler = access?.attached(RECONCILER);
    if (reconciler === undefined) return undefined;
    let read = waitingRead.get(operationId);
    if (read === undefined || Date.now() - read.at > WAITING_FRESH_MS) {
      read = { at: Date.now(), devices: reconciler.waiting(operationId, WAITING_READ) };
      waitingRead.set(operationId, read);
      if (waitingRead.size > WAITING_TASKS) waitingRead.delete(waitingRead.keys().next().value as string);
    }
    const devices = await read.devices.catch((error: unknown) => {
      waitingRead.delete(operationId);
      throw error;
    });
    if (devices === undefined) {
      waitingRead.delete(operationId);
      throw codedError('ERR_RECONCILE_LOCK_HELD', 'another instance holds the reconciliation lock: it reads the platform, this one does not');
    }
    const heard = fold.get(operationId)?.devices;
    const never = devices.filter((device) => heard?.has(cut(device.deviceId)) !== true).map((device) => device.deviceId);
    const offset = page.offset ?? 0;
    const limit = page.limit ?? 100;
    return { total: never.length, offset, limit, deviceIds: never.slice(offset, offset + limit) };
  };

  const notReported = (operationId: string, page: { offset?: number; limit?: number } = {}): NotReportedPage | undefined => {
    const problem = checkQuery(page);
    if (problem !== undefined) throw codedError('ERR_INVALID_ARG_VALUE', `huawei-iot-upgrade-router: ${problem}`, { kind: TypeError });
    const offset = page.offset ?? 0;
    const limit = page.limit ?? 100;
    const found = fold.notReported(operationId, offset, limit);
    return found === undefined ? undefined : { total: found.total, offset, limit, deviceIds: found.deviceIds };
  };

  const versions = (): VersionCounts[] => {
    const all = new Map<string, VersionCounts>();
    for (const found of fold.all()) {
      for (const [key, counts] of found.versions) {
        const sum = all.get(key) ?? { sourceVersion: counts.sourceVersion, targetVersion: counts.targetVersion, succeeded: 0, failed: 0 };
        sum.succeeded += counts.succeeded;
        sum.failed += counts.failed;
        all.set(key, sum);
      }
    }
    return [...all.values()];
  };

  const stats = (): FoldStats & { streams: number } => ({ ...fold.stats(), streams: streams.size });
  const health = (): DashboardHealth => healthOf(options.router, stats());

  function* deviceLines(found: Iterable<Task>, query: DeviceQuery): Generator<CsvValue[]> {
    const now = Date.now();
    for (const one of found) {
      for (const device of views.rows(one, query, now)) {
        const values = row(one, device, now);
        yield DEVICE_COLUMNS.map((column) => (column === 'operationId' ? one.operationId : values[column]));
      }
    }
  }

  function* taskLines(): Generator<CsvValue[]> {
    for (const summary of tasks()) {
      const { platform } = summary;
      const values: Record<(typeof TASK_COLUMNS)[number], CsvValue> = {
        ...summary,
        missing: platform?.missing ?? null,
        stuck: platform?.stuck ?? null,
      };
      yield TASK_COLUMNS.map((column) => values[column]);
    }
  }

  const exportCsv = (res: ServerResponse, filename: string, header: readonly string[], lines: Iterable<CsvValue[]>): void => {
    streamCsv(res, filename, header, lines).catch((error: unknown) => {
      log(logger, 'error', `the upgrade dashboard could not finish an export: ${describeThrown(error)}`, { error: asError(error, 'the export threw') });
      res.destroy();
    });
  };

  const http = dashboardHandler({
    api: { tasks, task, devices, versions, health, notReported, neverPushed },
    has: (operationId) => fold.get(operationId) !== undefined,
    csv: {
      tasks: (res) => exportCsv(res, 'tasks.csv', TASK_COLUMNS, taskLines()),
      devices: (res, operationId, query) => {
        const found = operationId === undefined ? [...fold.all()].reverse() : [fold.get(operationId)].filter((one) => one !== undefined);
        exportCsv(res, operationId === undefined ? 'devices.csv' : `task-${operationId}.csv`, DEVICE_COLUMNS, deviceLines(found, query));
      },
    },
    streams,
    authorize: options.authorize,
    logger,
  });

  return Object.assign(http.handle, {
    tasks,
    task,
    devices,
    versions,
    expect,
    staleAfter,
    notReported,
    neverPushed,
    health,
    stats,
    close: () => {
      stop();
      streams.close();
      views.clear();
      http.forget();
      for (const timer of retell.values()) clearTimeout(timer);
      retell.clear();
      waitingRead.clear();
    },
  });
}
