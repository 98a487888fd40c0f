// `node bench/reconcile.mjs`: the reconciler against the emulator, a 20 000-device task none of whose
// results was pushed (the receiver down for the whole campaign, the worst case): one pass fills every
// result in through a SQLite journal (full durability) and delivers it; a second pass finds nothing
// missing. Prints one JSON line: platform calls, wall time and this process's CPU per pass (the
// emulator answering the pages runs in it too), and the listener's count. The call budget is lifted
// here to time the work; at the default 50 calls a minute the calls themselves set the pace.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUpgradeRouter } from 'huawei-iot-upgrade-router';
import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import { startPlatformEmulator } from 'huawei-iot-upgrade-router/emulator';
import { createPlatformClient } from 'huawei-iot-upgrade-router/platform';
import { createReconciler } from 'huawei-iot-upgrade-router/reconcile';

const DEVICES = Number(process.env.RECONCILE_DEVICES ?? 20_000);
const emulator = await startPlatformEmulator({ speed: 100, rateLimit: { calls: 1_000_000, windowMs: 60_000 }, devices: { durationMs: 60_000, failureRatio: 0.1 } });
const client = createPlatformClient({ url: emulator.url, appId: emulator.appId, secret: emulator.secret, rateLimit: false });
emulator.addDeviceGroup('fleet', Array.from({ length: DEVICES }, (_, i) => `meter-${String(i).padStart(6, '0')}`));
const { operationId } = await client.createSoftwareUpgradeTask({
  fileId: emulator.packages.software.fileId,
  targets: { deviceGroups: ['fleet'], deviceType: 'WaterMeter', model: 'NBIoTDevice', manufacturerName: 'Huawei' },
});
for (let minute = 0; minute < 15; minute += 1) emulator.advance(60_000);
await emulator.settled();

const upgrades = createUpgradeRouter({ journal: sqliteJournal({ path: join(mkdtempSync(join(tmpdir(), 'bench-reconcile-')), 'upgrades.db') }) });
let heard = 0;
upgrades.on('reconciledResult', () => (heard += 1));
const reconciler = createReconciler({ router: upgrades, client, schedule: false, callsPerMinute: 1_000_000, now: () => emulator.now(), tasks: [operationId] });

async function timed(work) {
  const calls = reconciler.stats().calls;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const [report] = (await work()) ?? [];
  const used = process.cpuUsage(cpu);
  return { calls: reconciler.stats().calls - calls, ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000, filledNow: report?.filledNow ?? 0 };
}

const first = await timed(() => reconciler.reconcileAll());
while (heard < first.filledNow) await new Promise((resolve) => setTimeout(resolve, 20));
const delivered = heard;
const second = await timed(() => reconciler.reconcileAll());
await reconciler.close();
await upgrades.close();
await client.close();
await emulator.close();
console.log(JSON.stringify({ devices: DEVICES, first, second, delivered }));
