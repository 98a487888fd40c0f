// The `reconcile` command: one task's report from the platform (the emulator) beside the journal of
// the receiver that heard its pushes, some of them lost on the way.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createPlatformClient, type PlatformClient } from 'huawei-iot-upgrade-router/platform';
import { startPlatformEmulator, type PlatformEmulator } from 'huawei-iot-upgrade-router/emulator';
import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import type { TaskReport } from 'huawei-iot-upgrade-router/reconcile';
import { CALLBACK_PATH, mountedApp } from './helpers';
import { runBin, tempFolder } from './support/journal';
import { until } from './support/wait';

describe('the reconcile command', function () {
  let emulator: PlatformEmulator;
  let platform: PlatformClient;
  let server: Server;
  let operationId: string;
  let heard = 0;
  const folder = tempFolder('cli-reconcile-');
  const db = join(folder.dir, 'upgrades.db');
  const { app, upgrades } = mountedApp({ journal: sqliteJournal({ path: db }) });
  upgrades.on('upgradeResult', () => void (heard += 1));

  before(async () => {
    emulator = await startPlatformEmulator({ speed: 20, devices: { durationMs: 20_000, failureRatio: 0.2 } });
    platform = createPlatformClient({ url: emulator.url, appId: emulator.appId, secret: emulator.secret });
    server = createServer(app).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    await platform.ensureSubscriptions(`http://127.0.0.1:${(server.address() as AddressInfo).port}${CALLBACK_PATH}`);
    emulator.inject({ kind: 'dropPushes', ratio: 0.3, notifyType: 'swUpgradeResultNotify' });
    emulator.addDeviceGroup('g', Array.from({ length: 40 }, (_, i) => `meter-${i}`));
    ({ operationId } = await platform.createSoftwareUpgradeTask({
      fileId: emulator.packages.software.fileId,
      targets: { deviceGroups: ['g'], deviceType: 'WaterMeter', model: 'NBIoTDevice', manufacturerName: 'Huawei' },
    }));
    emulator.advance(30_000);
    await emulator.settled();
    await until(() => heard === emulator.pushSummary({ operationId, notifyType: 'swUpgradeResultNotify', status: 'delivered' }).total, 'the delivered results to be heard');
  });

  after(async () => {
    server.close();
    await upgrades.close();
    await platform.close();
    await emulator.close();
    folder.remove();
  });

  const args = (): string[] => ['reconcile', '--task', operationId, '--url', emulator.url, '--app-id', emulator.appId, '--db', db];

  it('reports, as JSON, what the journal holds beside what the platform says; exit 1 while devices are missing', async () => {
    const { code, stdout, stderr } = await runBin([...args(), '--json'], { HUAWEI_IOT_SECRET: emulator.secret });
    assert.equal(code, 1, stderr);
    const report = JSON.parse(stdout) as TaskReport;
    const dropped = emulator.pushSummary({ operationId, notifyType: 'swUpgradeResultNotify', status: 'dropped' }).total;
    assert.ok(dropped > 0);
    assert.equal(code, 1);
    assert.equal(report.expected, 40);
    assert.equal(report.received, 40 - dropped);
    assert.equal(report.missing.length, dropped);
    assert.equal(report.filledIn, 0);
    assert.ok(report.missing.every((device) => device.why === 'report-only'));
    // Without a journal nothing counts as received; times given in milliseconds are taken.
    const bare = await runBin(['reconcile', '--task', operationId, '--url', emulator.url, '--app-id', emulator.appId, '--resend-window', '0', '--stuck-after', '0', '--json'], {
      HUAWEI_IOT_SECRET: emulator.secret,
      DATABASE_URL: '',
    });
    const unjournaled = JSON.parse(bare.stdout) as TaskReport;
    assert.equal(unjournaled.received, 0);
    assert.equal(unjournaled.missing.length, 40);
  });

  it('prints the report for a reader, and never takes the secret on the command line', async () => {
    const { code, stdout, stderr } = await runBin(args(), { HUAWEI_IOT_SECRET: emulator.secret });
    assert.equal(code, 1, stderr);
    assert.match(stdout, /expected\s+40/);
    assert.match(stdout, /stuck\s+0 {2}\(waiting or in progress for over 24 h: --stuck-after\)/);
    assert.match(stdout, /missing meter-\d+ \w+ (SUCCESS|FAIL)/);
    const refused = await runBin(args(), { HUAWEI_IOT_SECRET: '' });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /HUAWEI_IOT_SECRET/);
    const badWindow = await runBin([...args(), '--resend-window', '12m'], { HUAWEI_IOT_SECRET: emulator.secret });
    assert.equal(badWindow.code, 2);
    assert.match(badWindow.stderr, /--resend-window takes milliseconds, got "12m"/);
    const noTask = await runBin(['reconcile', '--url', emulator.url, '--app-id', emulator.appId], { HUAWEI_IOT_SECRET: emulator.secret });
    assert.equal(noTask.code, 2);
    assert.match(noTask.stderr, /--task, --url and --app-id are needed/);
    const badOffset = await runBin([...args(), '--clock-offset', '1.5'], { HUAWEI_IOT_SECRET: emulator.secret });
    assert.deepEqual([badOffset.code, /--clock-offset takes milliseconds/.test(badOffset.stderr)], [2, true], badOffset.stderr);
    // The threshold is said in the unit it was given in.
    for (const [after, said] of [['120000', '2 min'], ['90500', '90500 ms']] as const) {
      const { stdout } = await runBin([...args(), '--stuck-after', after], { HUAWEI_IOT_SECRET: emulator.secret });
      assert.match(stdout, new RegExp(`for over ${said}: --stuck-after`));
    }
  });

  it("reads the platform's clock from the emulator (or an offset): silent devices are stuck by the platform's time, not this machine's", async () => {
    emulator.setBehaviour({ silentRatio: 1 });
    emulator.addDeviceGroup('quiet', ['quiet-1', 'quiet-2']);
    const quiet = await platform.createSoftwareUpgradeTask({
      fileId: emulator.packages.software.fileId,
      targets: { deviceGroups: ['quiet'], deviceType: 'WaterMeter', model: 'NBIoTDevice', manufacturerName: 'Huawei' },
    });
    // Two hours pass on the platform; on this machine, seconds.
    emulator.advance(2 * 60 * 60_000);
    const reportWith = async (...clock: string[]): Promise<TaskReport> => {
      const { code, stdout, stderr } = await runBin(['reconcile', '--task', quiet.operationId, '--url', emulator.url, '--app-id', emulator.appId, '--stuck-after', '3600000', '--json', ...clock], {
        HUAWEI_IOT_SECRET: emulator.secret,
        DATABASE_URL: '',
      });
      assert.equal(code, 1, stderr);
      return JSON.parse(stdout) as TaskReport;
    };
    assert.equal((await reportWith()).stuck.length, 0, "by this machine's clock the task is seconds old");
    assert.equal((await reportWith('--emulator-clock')).stuck.length, 2);
    assert.equal((await reportWith('--clock-offset', String(3 * 60 * 60_000))).stuck.length, 2);
    const both = await runBin(['reconcile', '--task', quiet.operationId, '--url', emulator.url, '--app-id', emulator.appId, '--emulator-clock', '--clock-offset', '5'], { HUAWEI_IOT_SECRET: emulator.secret });
    assert.equal(both.code, 2);
    assert.match(both.stderr, /leave out --clock-offset/);
    // A platform that is not the emulator has no clock to read.
    const receiver = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const notEmulator = await runBin(['reconcile', '--task', quiet.operationId, '--url', receiver, '--app-id', emulator.appId, '--emulator-clock'], { HUAWEI_IOT_SECRET: emulator.secret });
    assert.equal(notEmulator.code, 2);
    assert.match(notEmulator.stderr, /GET \/_emulator answered 404 without its clock: is http:\/\/127\.0\.0\.1:\d+ the emulator\?/);
  });
});
