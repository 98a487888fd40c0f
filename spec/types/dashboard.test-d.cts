// Type tests for the dashboard, against the built package's CommonJS types. Each line marked
// with the expect-error directive must NOT compile.
import express = require('express');
import { expectTypeOf } from 'expect-type';
import { createUpgradeDashboard, createUpgradeRouter, type DashboardDevice, type DashboardHealth, type DashboardTask, type DevicePage, type NotReportedPage, type PlatformSummary, type TaskKind, type TaskSummary, type UpgradeDashboard, type VersionCounts } from 'huawei-iot-upgrade-router';
import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';

const router = createUpgradeRouter();
const dashboard = createUpgradeDashboard({ router, staleAfterMs: 60 * 60_000, limits: { tasks: 1000, devices: 200_000 } });
expectTypeOf(dashboard).toEqualTypeOf<UpgradeDashboard>();
createUpgradeDashboard({ router, journal: sqliteJournal({ path: 'x.db' }) });
// @ts-expect-error the router is required
createUpgradeDashboard({});
// @ts-expect-error a limit misspelt
createUpgradeDashboard({ router, limits: { devicesPerTask: 10 } });

// Mounted as Express middleware, behind the host's own authentication.
const app = express();
app.use('/upgrades', (_req, _res, next) => next(), dashboard);

const [task] = dashboard.tasks();
expectTypeOf(task).toEqualTypeOf<DashboardTask | undefined>();
expectTypeOf<DashboardTask>().toExtend<TaskSummary>();
if (task !== undefined) {
  // With a reconciler on the router: the platform's view of the task.
  expectTypeOf(task.platform).toEqualTypeOf<PlatformSummary | undefined>();
  expectTypeOf(task.reconciled).toEqualTypeOf<number>();
  expectTypeOf(task.kind).toEqualTypeOf<TaskKind>();
  expectTypeOf<TaskKind>().toEqualTypeOf<'software' | 'firmware'>();
  expectTypeOf(task.errorCodes).toEqualTypeOf<Record<string, number>>();
  expectTypeOf(task.lastSeen).toEqualTypeOf<Date>();
}
const detail = dashboard.task('op-1');
if (detail !== undefined) {
  expectTypeOf(detail.errorTexts).toEqualTypeOf<Record<string, string>>();
  expectTypeOf(detail.neverReported?.missing[0]?.why).toEqualTypeOf<'resend-window' | 'report-only' | undefined>();
  expectTypeOf(detail.task.estimatedEnd).toEqualTypeOf<Date | null>();
  // @ts-expect-error a task comes without its devices: they come a page at a time
  void detail.devices;
}
// Devices a page at a time, with a query whose filter and sort are checked.
const page = dashboard.devices('op-1', { filter: 'errorCode:120006', search: 'meter-1', sort: 'upgradeTime', order: 'desc', offset: 100, limit: 100 });
expectTypeOf(page).toEqualTypeOf<DevicePage | undefined>();
const device = page?.devices[0];
expectTypeOf(device).toEqualTypeOf<DashboardDevice | undefined>();
expectTypeOf(device?.result).toEqualTypeOf<'SUCCESS' | 'FAIL' | null | undefined>();
expectTypeOf(device?.stale).toEqualTypeOf<boolean | undefined>();
expectTypeOf(device?.reconciled).toEqualTypeOf<boolean | undefined>();
expectTypeOf(device?.errorText).toEqualTypeOf<string | null | undefined>();
// @ts-expect-error no such filter
dashboard.devices('op-1', { filter: 'broken' });
// @ts-expect-error no such sort
dashboard.devices('op-1', { sort: 'secret' });
expectTypeOf(dashboard.versions()).toEqualTypeOf<VersionCounts[]>();
expectTypeOf(dashboard.health()).toEqualTypeOf<DashboardHealth>();
expectTypeOf(dashboard.stats().bytes).toEqualTypeOf<number>();
// authorize and errorCodes: a verdict per request, texts per code.
createUpgradeDashboard({ router, authorize: (req) => req.headers.authorization === 'Bearer x', errorCodes: { '120006': 'battery too low' }, limits: { bytes: 64 * 1024 * 1024, streams: 10, streamLifetimeMs: 60_000 } });
createUpgradeDashboard({ router, authorize: async () => Promise.resolve(true) });
// @ts-expect-error authorize answers yes or no
createUpgradeDashboard({ router, authorize: () => 'yes' });
// @ts-expect-error error code texts are strings
createUpgradeDashboard({ router, errorCodes: { '120006': 1 } });
// The devices a task should reach, when the user knows them.
dashboard.expect('op-1', ['meter-1', 'meter-2']);
dashboard.expect('op-1', new Set(['meter-1']));
// @ts-expect-error device ids are strings
dashboard.expect('op-1', [1, 2]);
expectTypeOf(dashboard.notReported('op-1', { limit: 10 })).toEqualTypeOf<NotReportedPage | undefined>();
expectTypeOf<DashboardTask['expected']>().toEqualTypeOf<number | null>();
expectTypeOf<DashboardTask['notReported']>().toEqualTypeOf<number | null>();
