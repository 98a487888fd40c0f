// Type tests for the dashboard (issue 11), against the built package's CommonJS types. Each line marked
// with the expect-error directive must NOT compile.
import express = require('express');
import { expectTypeOf } from 'expect-type';
import { createUpgradeDashboard, createUpgradeRouter, type DashboardDevice, type DashboardTask, type PlatformSummary, type TaskKind, type TaskSummary, type UpgradeDashboard } from 'huawei-iot-upgrade-router';
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
  const [device] = detail.devices;
  expectTypeOf(device).toEqualTypeOf<DashboardDevice | undefined>();
  expectTypeOf(device?.result).toEqualTypeOf<'SUCCESS' | 'FAIL' | null | undefined>();
  expectTypeOf(device?.stale).toEqualTypeOf<boolean | undefined>();
  expectTypeOf(device?.reconciled).toEqualTypeOf<boolean | undefined>();
  expectTypeOf(detail.neverReported?.missing[0]?.why).toEqualTypeOf<'resend-window' | 'report-only' | undefined>();
}
