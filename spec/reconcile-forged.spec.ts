// The callback is unauthenticated: anyone can push a result for a sub-task the platform never had, or
// name tasks that do not exist. Reconciliation must neither let such a push stand in for a lost
// result, nor spend the platform's call budget on the tasks it names. And a server that answers
// shorter pages than asked for is paged through to its totalCount.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { ReconciledResult, SwUpgradeResultNotify, SwUpgradeStateChangeNotify, UpgradeRouter } from 'huawei-iot-upgrade-router';
import { createPlatformClient, type PlatformClient } from 'huawei-iot-upgrade-router/platform';
import { startPlatformEmulator, type PlatformEmulator } from 'huawei-iot-upgrade-router/emulator';
import { createReconciler } from 'huawei-iot-upgrade-router/reconcile';
import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import { CALLBACK_PATH, allFixtures, fresh, mountedApp } from './helpers';
import { runBin, tempFolder } from './support/journal';
import { until } from './support/wait';

const group = { deviceType: 'WaterMeter', model: 'NBIoTDevice', manufacturerName: 'Huawei' };
const stateFixture = allFixtures.find((fixture) => fixture.type === 'swUpgradeStateChangeNotify')?.body as SwUpgradeStateChangeNotify;

describe('reconciliation and what anyone can push to the callback', function () {
  this.timeout(60_000);
  let emulator: PlatformEmulator;
  let platform: PlatformClient;
  let server: Server;
  let upgrades: UpgradeRouter;
  let folder: ReturnType<typeof tempFolder>;
  let filled: ReconciledResult[];

  beforeEach(async () => {
    folder = tempFolder('reconcile-forged-');
    // Devices take an hour of the emulator's clock (a minute of real time at speed 60): tasks end when a spec advances it.
    emulator = await startPlatformEmulator({ speed: 60, devices: { durationMs: 3_600_000, failureRatio: 0 } });
    platform = createPlatformClient({ url: emulator.url, appId: emulator.appId, secret: emulator.secret });
    ({ upgrades } = mountedApp({ journal: sqliteJournal({ path: join(folder.dir, 'upgrades.db'), spill: false }) }));
    filled = [];
    upgrades.on('reconciledResult', (result) => void filled.push(result));
    upgrades.on('upgradeResult', () => {});
    upgrades.on('upgradeState', () => {});
    server = createServer(upgrades).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    await platform.ensureSubscriptions(`http://127.0.0.1:${(server.address() as AddressInfo).port}${CALLBACK_PATH}`);
  });
  afterEach(async () => {
    server.close();
    await upgrades.close();
    await platform.close();
    await emulator.close();
    folder.remove();
  });

  /** Advances the emulator's clock past every device's end (one step: its timers run in order). */
  async function endOf(operationId: string): Promise<void> {
    emulator.advance(2 * 3_600_000);
    const { status } = await platform.getTask(operationId);
    assert.ok(['success', 'failed', 'stop'].includes(status), `the task is ${status} two hours on`);
  }

  /** A task of `count` devices whose every result push is lost, run to its end. */
  async function finishedTaskWithLostResults(count: number): Promise<string> {
    emulator.inject({ kind: 'dropPushes', ratio: 1, notifyType: 'swUpgradeResultNotify' });
    emulator.addDeviceGroup('g', Array.from({ length: count }, (_, i) => `meter-${i}`));
    const { operationId } = await platform.createSoftwareUpgradeTask({ fileId: emulator.packages.software.fileId, targets: { deviceGroups: ['g'], ...group } });
    await endOf(operationId);
    await emulator.settled();
    return operationId;
  }

  it('a result pushed for a sub-task the platform never had hides no lost result, and is reported as unknown', async () => {
    const operationId = await finishedTaskWithLostResults(3);
    // Three forged finals for the same task, one per lost result: by counts, the task looked complete.
    const forged: SwUpgradeResultNotify[] = Array.from({ length: 3 }, () => ({ ...fresh('success'), operationId, subOperationId: randomUUID(), deviceId: randomUUID() }));
    for (const push of forged) assert.equal(await upgrades.receive(push), 'upgradeResult');
    const reconciler = createReconciler({ router: upgrades, client: platform, schedule: false, resendWindowMs: 1, now: () => emulator.now() });
    try {
      const reports = (await reconciler.reconcileAll()) ?? [];
      const report = reports.find((candidate) => candidate.operationId === operationId);
      assert.ok(report !== undefined, 'the task named by the pushes was not followed');
      assert.equal(report.expected, 3);
      assert.equal(report.received, 0, 'pushes for sub-tasks the platform does not list counted as received');
      assert.equal(report.filledNow, 3);
      assert.equal(report.filledIn, 3);
      assert.deepEqual(report.missing, []);
      assert.deepEqual([...report.unknown].sort(), forged.map((push) => push.subOperationId).sort());
      assert.equal(report.complete, true);
      await until(() => filled.length === 3, 'the three lost results to be filled in and delivered');
      assert.deepEqual(filled.map((result) => result.deviceId).sort(), ['meter-0', 'meter-1', 'meter-2']);
    } finally {
      await reconciler.close();
    }
  });

  it('2 000 pushes naming tasks that do not exist cost a bounded number of calls a pass; the real task is followed from the first and reconciled when it ends', async () => {
    emulator.inject({ kind: 'dropPushes', ratio: 1, notifyType: 'swUpgradeResultNotify' });
    emulator.addDeviceGroup('g', ['meter-0', 'meter-1', 'meter-2']);
    const { operationId } = await platform.createSoftwareUpgradeTask({ fileId: emulator.packages.software.fileId, targets: { deviceGroups: ['g'], ...group } });
    // Forged before the reconciler starts: it finds them in the journal; and after, as they arrive.
    // A hundred at a time, as a flood arrives: they share the journal's commits.
    const forge = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i += 100) {
        await Promise.all(Array.from({ length: 100 }, async () => upgrades.receive({ ...stateFixture, operationId: randomUUID(), subOperationId: randomUUID(), deviceId: randomUUID() })));
      }
    };
    await forge(1000);
    const reconciler = createReconciler({ router: upgrades, client: platform, schedule: false, resendWindowMs: 1, now: () => emulator.now() });
    try {
      await forge(1000);
      await reconciler.reconcileAll();
      const first = reconciler.stats();
      // Two listings of running tasks, ten tasks named by pushes looked up, the real task's check.
      assert.ok(first.calls <= 20, `the first pass made ${first.calls} calls`);
      assert.ok(first.hinted <= 1000, `${first.hinted} tasks named by pushes kept`);
      assert.equal(first.unknownTasks, 10);
      assert.ok(reconciler.reports().some((report) => report.operationId === operationId), `the running task is not followed: ${JSON.stringify(first)} ${JSON.stringify(await platform.getTask(operationId))}`);
      await endOf(operationId);
      await emulator.settled();
      await forge(500);
      await reconciler.reconcileAll();
      const second = reconciler.stats();
      assert.ok(second.calls - first.calls <= 20, `the second pass made ${second.calls - first.calls} calls`);
      assert.equal(second.unknownTasks, 20);
      await until(() => filled.length === 3, 'the real task reconciled in the pass after it ended');
      assert.equal(second.errors, 0, `errors: ${second.lastError}`);
    } finally {
      await reconciler.close();
    }
  });

  it('the reconcile command exits 1 while devices of the task are still waiting, and lists them', async () => {
    emulator.addDeviceGroup('quiet', ['meter-a', 'meter-b']);
    const { operationId } = await platform.createSoftwareUpgradeTask({ fileId: emulator.packages.software.fileId, targets: { deviceGroups: ['quiet'], ...group } });
    const args = ['reconcile', '--task', operationId, '--url', emulator.url, '--app-id', emulator.appId];
    const env = { HUAWEI_IOT_SECRET: emulator.secret, DATABASE_URL: '' };
    const json = await runBin([...args, '--json'], env);
    assert.equal(json.code, 1, json.stderr);
    const report = JSON.parse(json.stdout) as { waiting: number; missing: unknown[]; waitingDevices: Array<{ deviceId: string }> };
    assert.equal(report.waiting, 2);
    assert.deepEqual(report.missing, []);
    assert.deepEqual(report.waitingDevices.map((device) => device.deviceId).sort(), ['meter-a', 'meter-b']);
    const text = await runBin(args, env);
    assert.equal(text.code, 1, text.stderr);
    assert.match(text.stdout, /waiting meter-a (wait|processing)/);
  });

  it('a server that caps its pages at 50: the client and the reconciler page through to totalCount', async () => {
    const operationId = await finishedTaskWithLostResults(120);
    emulator.inject({ kind: 'pageCap', pageSize: 50, times: 100, path: '/iodm/northbound/v1.5.0/operations' });
    const listed: string[] = [];
    for await (const sub of platform.subTasks(operationId)) listed.push(sub.subOperationId);
    assert.equal(listed.length, 120);
    assert.equal(new Set(listed).size, 120);
    const reconciler = createReconciler({ router: upgrades, client: platform, schedule: false, resendWindowMs: 1, now: () => emulator.now(), tasks: [operationId] });
    try {
      const [report] = (await reconciler.reconcileAll()) ?? [];
      assert.equal(report?.filledNow, 120);
      assert.equal(report.complete, true);
      await until(() => filled.length === 120, 'the 120 lost results to be filled in and delivered');
    } finally {
      await reconciler.close();
    }
  });

  it('a pass shows its progress as it goes, and a pass cut off half-way is taken up from the page after the last one committed', async () => {
    const operationId = await finishedTaskWithLostResults(300);
    const listing = `/iodm/northbound/v1.5.0/operations/${operationId}/subOperations`;
    // The fourth page of the finished sub-tasks fails (500, and on each retry); pages are 50 long.
    emulator.inject({ kind: 'status', status: 500, times: 4, after: 3, path: listing });
    emulator.inject({ kind: 'pageCap', pageSize: 50, times: 1000, path: listing });
    const errors: Error[] = [];
    upgrades.on('error', (error) => void errors.push(error));
    const reconciler = createReconciler({ router: upgrades, client: platform, schedule: false, resendWindowMs: 1, now: () => emulator.now(), tasks: [operationId] });
    // What the pass says of itself while its fills are delivered.
    const seen: Array<NonNullable<ReturnType<typeof reconciler.stats>['progress']>> = [];
    upgrades.on('reconciledResult', () => {
      const { progress } = reconciler.stats();
      if (progress !== undefined) seen.push(progress);
    });
    try {
      assert.equal(reconciler.stats().progress, undefined, 'no pass under way');
      assert.deepEqual(await reconciler.reconcileAll(), [], 'the task check failed half-way');
      assert.match(errors[0]?.message ?? '', /reconciliation: task .*500/);
      // Three pages were read and their fills committed before the fourth failed: counted, and kept.
      assert.equal(reconciler.stats().filledIn, 150);
      assert.equal(reconciler.stats().progress, undefined);
      const during = seen.find((progress) => progress.pagesRead >= 1 && progress.pagesRead < progress.pages);
      assert.ok(during !== undefined, `no progress seen mid-pass: ${JSON.stringify(seen.slice(0, 3))}`);
      assert.deepEqual([during.operationId, during.listing, during.pages, during.tasks], [operationId, 'success', 6, 1]);
      assert.ok(during.filledIn >= 50 * during.pagesRead - 50, JSON.stringify(during));

      // The next pass goes on from the fourth page: three pages of the listing, not six.
      const callsBefore = reconciler.stats().calls;
      const [resumed] = (await reconciler.reconcileAll()) ?? [];
      const resumedCalls = reconciler.stats().calls - callsBefore;
      assert.equal(resumed?.filledNow, 150);
      assert.equal(resumed.complete, false, 'a resumed read is not a full one: the pages may have moved');
      await until(() => filled.length === 300, 'the 300 lost results to be filled in and delivered');
      // Then one full read, which finds nothing more, completes the task.
      const callsThen = reconciler.stats().calls;
      const [full] = (await reconciler.reconcileAll()) ?? [];
      const fullCalls = reconciler.stats().calls - callsThen;
      assert.deepEqual([full?.filledNow, full?.complete], [0, true]);
      assert.equal(fullCalls - resumedCalls, 3, `the resumed pass made ${resumedCalls} calls, a full one ${fullCalls}: three pages of 50 fewer`);
      assert.equal(new Set(filled.map((result) => result.subOperationId)).size, 300);
    } finally {
      await reconciler.close();
    }
  });
});
