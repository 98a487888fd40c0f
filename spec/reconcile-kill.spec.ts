// SIGKILL during reconciliation: a receiver process fills in 600 results no push brought and is
// killed mid-way; after a restart on the same journal every device has its result, each through
// exactly one journal entry (a re-delivery of that entry is at least once, not a second outcome).
// The control restarts on an empty journal: the devices filled in before the kill then get a second
// entry, which this spec's count catches.
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPlatformClient, type PlatformClient } from 'huawei-iot-upgrade-router/platform';
import { startPlatformEmulator, type PlatformEmulator } from 'huawei-iot-upgrade-router/emulator';
import { tempFolder } from './support/journal';
import { until } from './support/wait';

const script = join(__dirname, 'support', 'reconcile-receiver.mjs');
const DEVICES = 600;

describe('SIGKILL during reconciliation loses and doubles nothing', function () {
  this.timeout(60_000);
  let emulator: PlatformEmulator;
  let platform: PlatformClient;
  let folder: ReturnType<typeof tempFolder>;
  let operationId: string;
  const children: ChildProcess[] = [];

  before(async () => {
    emulator = await startPlatformEmulator({ speed: 50, devices: { durationMs: 10_000, failureRatio: 0.2 } });
    platform = createPlatformClient({ url: emulator.url, appId: emulator.appId, secret: emulator.secret });
    emulator.addDeviceGroup('district', Array.from({ length: DEVICES }, (_, i) => `meter-${i}`));
    // Nobody subscribed: no push arrives, every result must be filled in.
    ({ operationId } = await platform.createSoftwareUpgradeTask({
      fileId: emulator.packages.software.fileId,
      targets: { deviceGroups: ['district'], deviceType: 'WaterMeter', model: 'NBIoTDevice', manufacturerName: 'Huawei' },
    }));
    emulator.advance(60_000);
    await emulator.settled();
  });
  beforeEach(() => (folder = tempFolder('reconcile-kill-')));
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    folder.remove();
  });
  after(async () => {
    await platform.close();
    await emulator.close();
  });

  const out = (): string => join(folder.dir, 'filled.txt');
  const lines = (): Array<[string, string]> =>
    existsSync(out()) ? readFileSync(out(), 'utf8').split('\n').filter((line) => line !== '').map((line) => line.split(' ') as [string, string]) : [];
  const start = (db: string): ChildProcess => {
    const child = fork(script, {
      env: { ...process.env, DB: join(folder.dir, db), OUT_FILE: out(), URL: emulator.url, APP_ID: emulator.appId, SECRET: emulator.secret, TASK: operationId, DELAY_MS: '200' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    return child;
  };
  /** Entry ids per sub-task, from what the listeners wrote. */
  const entries = (): Map<string, Set<string>> => {
    const bySubTask = new Map<string, Set<string>>();
    for (const [subOperationId, id] of lines()) bySubTask.set(subOperationId, (bySubTask.get(subOperationId) ?? new Set()).add(id));
    return bySubTask;
  };

  async function killMidWay(): Promise<number> {
    const first = start('upgrades.db');
    await until(() => lines().length >= 100, 'a hundred results delivered');
    first.kill('SIGKILL');
    await once(first, 'exit');
    const written = lines().length;
    assert.ok(written < DEVICES, `the kill came mid-way (${written} delivered)`);
    return written;
  }

  it('after a restart on the same journal, every device has exactly one filled-in result', async () => {
    await killMidWay();
    const second = start('upgrades.db');
    const reported = once(second, 'message');
    await until(() => entries().size === DEVICES, 'every device to have its result');
    const [report] = (await reported) as [{ filledNow: number; filledIn: number }];
    assert.equal(report.filledIn, DEVICES);
    assert.ok(report.filledNow < DEVICES, 'what was committed before the kill is not filled in again');
    for (const [subOperationId, ids] of entries()) assert.equal(ids.size, 1, `sub-task ${subOperationId} came through ${[...ids].join(', ')}`);
  });

  it('control: restarted on an empty journal, the devices filled in before the kill come twice', async () => {
    const before = await killMidWay();
    start('empty.db');
    await until(() => lines().length >= before + DEVICES, 'the second run to fill in every device');
    const doubled = [...entries().values()].filter((ids) => ids.size > 1).length;
    assert.ok(doubled >= before - 5, `${doubled} devices came through two entries`);
  });
});
