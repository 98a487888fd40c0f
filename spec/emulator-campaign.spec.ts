// Issue 19's "done when", end to end: the emulator on HTTPS, the client subscribes the receiver (the
// package's router with a SQLite journal, on HTTPS with a certificate from the CA the emulator is
// given) and upgrades a 1 000-device group; every device's result reaches the receiver. Then the
// receiver is down for longer than the re-send window: those results never arrive, the emulator
// reports them as failed pushes, and only asking the platform finds them.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { SwUpgradeResultNotify } from 'huawei-iot-upgrade-router';
import { createPlatformClient, type PlatformClient } from 'huawei-iot-upgrade-router/platform';
import { startPlatformEmulator, type PlatformEmulator } from 'huawei-iot-upgrade-router/emulator';
import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import { startHttpsReceiver, testTls, type HttpsReceiver } from './support/platform';
import { tempFolder } from './support/journal';
import { until } from './support/wait';

const fleet = (name: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${name}-${String(i).padStart(5, '0')}`);
const group = { deviceType: 'WaterMeter', model: 'NBIoTDevice', manufacturerName: 'Huawei' };

describe('a campaign against the emulator, end to end (HTTPS, journal)', function () {
  this.timeout(60_000);
  let emulator: PlatformEmulator;
  let platform: PlatformClient;
  let receiver: HttpsReceiver | undefined;
  const folder = tempFolder('campaign-');
  const results = new Map<string, SwUpgradeResultNotify>();
  let states = 0;

  async function startReceiver(port = 0): Promise<HttpsReceiver> {
    const started = await startHttpsReceiver({ journal: sqliteJournal({ path: join(folder.dir, 'upgrades.db') }) }, port);
    started.upgrades.on('upgradeResult', (notification) => void results.set(notification.subOperationId, notification));
    started.upgrades.on('upgradeState', () => (states += 1));
    receiver = started;
    return started;
  }

  async function stopReceiver(): Promise<void> {
    await receiver?.close();
    await receiver?.upgrades.close(1_000);
    receiver = undefined;
  }

  before(async () => {
    const { certificates, tls } = await testTls();
    emulator = await startPlatformEmulator({ tls, receiverCa: certificates.ca, speed: 20, devices: { durationMs: 60_000, failureRatio: 0.1 } });
    platform = createPlatformClient({ url: emulator.url, appId: emulator.appId, secret: emulator.secret, ca: certificates.ca });
  });

  after(async () => {
    await stopReceiver();
    await platform.close();
    await emulator.close();
    folder.remove();
  });

  it('delivers every device\'s result of a 1 000-device task to the receiver', async () => {
    const { url } = await startReceiver();
    assert.equal((await platform.ensureSubscriptions(url)).created.length, 4);
    emulator.addDeviceGroup('district-1', fleet('meter', 1_000));
    const { operationId } = await platform.createSoftwareUpgradeTask({ fileId: emulator.packages.software.fileId, targets: { deviceGroups: ['district-1'], ...group } });
    await emulator.settled();
    const task = await platform.getTask(operationId);
    assert.equal(task.staResult.total, 1_000);
    assert.equal(task.staResult.success + task.staResult.fail, 1_000);
    await until(() => results.size === 1_000 && states === 3_000 - task.staResult.fail, 'every push delivered to the listeners');
    const failed = [...results.values()].filter((result) => result.swUpgradeResult === 'FAIL');
    assert.equal(failed.length, task.staResult.fail);
    // Failure texts from the published tables, several of them.
    assert.ok(new Set(failed.map((result) => result.description)).size >= 3);
    assert.deepEqual(emulator.pushSummary({ operationId }), { total: 4_000 - task.staResult.fail, pending: 0, delivered: 4_000 - task.staResult.fail, failed: 0, dropped: 0 });
  });

  it('misses the results of a receiver down for longer than the re-send window; the emulator reports them failed', async () => {
    const port = receiver?.port ?? 0;
    await stopReceiver();
    emulator.addDeviceGroup('district-2', fleet('late', 100));
    const { operationId } = await platform.createSoftwareUpgradeTask({ fileId: emulator.packages.software.fileId, targets: { deviceGroups: ['district-2'], ...group } });
    // The devices finish within their 60 s; then eleven minutes pass while the receiver is down.
    // (Watched on the emulator's side: polling the API would spend the client's 100 calls a minute.)
    await until(() => emulator.pushSummary({ operationId, notifyType: 'swUpgradeResultNotify' }).total === 100, 'the devices to finish');
    for (let minute = 0; minute < 11; minute += 1) {
      emulator.advance(60_000);
      await until(() => emulator.callbacks().every((callback) => callback.inFlight === 0), `minute ${minute}`);
    }
    await emulator.settled();
    const summary = emulator.pushSummary({ operationId, notifyType: 'swUpgradeResultNotify' });
    assert.deepEqual(summary, { total: 100, pending: 0, delivered: 0, failed: 100, dropped: 0 });
    assert.equal(emulator.callbacks()[0]?.state, 'invalid');
    // Back up: none of them arrives; the platform still knows every one.
    await startReceiver(port);
    const missed = new Set(emulator.pushes({ operationId, notifyType: 'swUpgradeResultNotify', status: 'failed' }).map((record) => record.subOperationId));
    let known = 0;
    for await (const subTask of platform.subTasks(operationId)) {
      assert.ok(subTask.status === 'success' || subTask.status === 'fail');
      assert.ok(missed.has(subTask.subOperationId));
      assert.equal(results.has(subTask.subOperationId), false);
      known += 1;
    }
    assert.equal(known, 100);
  });
});
