// Rollouts against the emulator over HTTPS, with a SQLite journal, the receiver and the reconciler
// as a user runs them: a good firmware goes through every wave; a bad one halts after the canary
// with nobody else targeted; a retry takes exactly the devices failed for one reason; with the
// receiver down past the platform's re-send window the gate waits for reconciliation.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createPlatformClient, type PlatformClient } from 'huawei-iot-upgrade-router/platform';
import { startPlatformEmulator, type PlatformEmulator } from 'huawei-iot-upgrade-router/emulator';
import { createReconciler, type Reconciler } from 'huawei-iot-upgrade-router/reconcile';
import { createRollouts, type RolloutEvent, type Rollouts, type RolloutView, type WaveState } from 'huawei-iot-upgrade-router/rollout';
import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import { startHttpsReceiver, testTls, type HttpsReceiver } from './support/platform';
import { tempFolder } from './support/journal';
import { until } from './support/wait';
import { Registry } from 'prom-client';
import { registerMetrics } from 'huawei-iot-upgrade-router/prometheus';

const SPEED = 120;
const MINUTE = 60_000;
const fleet = (count: number): string[] => Array.from({ length: count }, (_, i) => `meter-${String(i).padStart(5, '0')}`);

describe('rollouts against the emulator', function () {
  this.timeout(120_000);
  let emulator: PlatformEmulator;
  let client: PlatformClient;
  let receiver: HttpsReceiver;
  let reconciler: Reconciler;
  let rollouts: Rollouts;
  let folder: ReturnType<typeof tempFolder>;
  let results: Map<string, string[]>;

  beforeEach(async function () {
    const { certificates, tls } = await testTls();
    emulator = await startPlatformEmulator({ tls, receiverCa: certificates.ca, speed: SPEED, devices: { durationMs: MINUTE / 2, failureRatio: 0 } });
    // The platform's 100 calls a minute, in real time at this speed.
    client = createPlatformClient({ url: emulator.url, appId: emulator.appId, secret: emulator.secret, ca: certificates.ca, rateLimit: { calls: 100, windowMs: MINUTE / SPEED } });
    folder = tempFolder('rollout-');
    results = new Map();
    receiver = await startHttpsReceiver({ journal: sqliteJournal({ path: join(folder.dir, 'upgrades.db'), spill: false }) });
    for (const event of ['firmwareUpgradeResult', 'reconciledResult'] as const) {
      receiver.upgrades.on(event, (result: { deviceId: string; operationId: string }, context) => results.set(result.deviceId, [...(results.get(result.deviceId) ?? []), `${event} ${result.operationId} ${context.id}`]));
    }
    receiver.upgrades.on('error', () => {});
    await client.ensureSubscriptions(receiver.url);
    // The reconciler's own share (callsPerMinute) is counted in real minutes: the client's window above keeps the platform's.
    // A push delayed past the re-send window (12 emulated minutes: 6 s here) by a busy machine would be
    // filled in too, then heard twice: only the test of a receiver that is down keeps the platform's window.
    const receiverDown = this.currentTest?.title.includes('receiver down') === true;
    reconciler = createReconciler({ router: receiver.upgrades, client, intervalMs: 100, callsPerMinute: 6_000, now: () => emulator.now(), ...(!receiverDown && { resendWindowMs: 60 * MINUTE }) });
    rollouts = createRollouts({ router: receiver.upgrades, client, reconciler, tickMs: 50, now: () => emulator.now() });
  });

  afterEach(async () => {
    await rollouts.close();
    await reconciler.close();
    await receiver.close();
    await receiver.upgrades.close(1_000);
    await client.close();
    await emulator.close();
    folder.remove();
  });

  const finished = async (id: string, status: RolloutView['status']): Promise<RolloutView> => {
    let view: RolloutView | undefined;
    await until(
      async () => (view = await rollouts.get(id))?.status === status,
      () => `rollout ${id} to be ${status}: it is ${view?.status}, reconciler ${JSON.stringify(reconciler.stats())} ${JSON.stringify(reconciler.reports().map((r) => [r.operationId, r.status, r.missing.length, r.waiting, r.complete, r.filledIn]))}, waves ${JSON.stringify(view?.waves.map((wave) => [wave.number, wave.status, wave.figures?.finished]))}, live ${JSON.stringify(view?.live)}`,
      60_000,
    );
    return view as RolloutView;
  };

  /** The devices each task on the platform targets. */
  const targeted = (): string[][] => emulator.tasks().map((task) => ('devices' in task.targets ? task.targets.devices : []));

  it('a good firmware: 600 devices through a canary of 20 -> 10 % -> 50 % -> 100 %, one final outcome each, no task over 256', async () => {
    const devices = fleet(600);
    const good = emulator.addPackage({ fileType: 'firmwarePackage', version: 'FW_2.0.0', failureRatio: 0.01 });
    const gates: RolloutEvent<'gate-passed'>[] = [];
    rollouts.on('gatePassed', (event) => gates.push(event));
    const started = await rollouts.start({ id: 'good', fileId: good.fileId, devices, waves: [20, '10%', '50%', '100%'], soakMs: MINUTE, callsPerMinute: 6_000, gate: { maxFailureRate: 0.1 } });
    assert.equal(started.status, 'running');
    const done = await finished('good', 'completed');
    assert.deepEqual(done.waves.map((wave) => wave.status), ['passed', 'passed', 'passed', 'passed']);
    assert.deepEqual(gates.map((gate) => gate.figures.devices), [20, 40, 240, 300]);
    const tasks = targeted();
    assert.ok(tasks.every((task) => task.length <= 256), `task sizes ${tasks.map((task) => task.length).join(' ')}`);
    const sent = tasks.flat();
    assert.equal(sent.length, devices.length, 'each device is sent once');
    assert.equal(new Set(sent).size, devices.length);
    await until(() => results.size === devices.length, () => `every device's result at the listener: ${results.size}`);
    const doubled = [...results].filter(([, outcomes]) => new Set(outcomes).size > 1);
    assert.deepEqual(doubled, [], 'one final outcome a device');
    const figures = done.waves.map((wave) => wave.figures);
    assert.equal(figures.reduce((sum, wave) => sum + (wave?.succeeded ?? 0) + (wave?.failed ?? 0), 0), devices.length);
    assert.equal(emulator.faults().length, 0);
    // Completed: counted by status, its devices no longer exported.
    const registry = new Registry();
    registerMetrics(receiver.upgrades, { registry });
    const scraped = await registry.metrics();
    assert.match(scraped, /^huawei_iot_upgrade_rollouts\{status="completed"\} 1$/m);
    assert.doesNotMatch(scraped, /rollout_devices\{/);
  });

  it('a bad firmware (40 % fail): halted after the canary, nobody outside it targeted, the top failure reason named', async () => {
    const devices = fleet(1_000);
    const bad = emulator.addPackage({ fileType: 'firmwarePackage', version: 'FW_2.0.1', failureRatio: 0.4, failWith: 'Integrity check failure for new downloaded package.' });
    const halts: RolloutEvent<'halted'>[] = [];
    rollouts.on('halted', (event) => halts.push(event));
    await rollouts.start({ id: 'bad', fileId: bad.fileId, devices, waves: [50, '10%', '100%'], soakMs: MINUTE, callsPerMinute: 6_000 });
    const halted = await finished('bad', 'halted');
    const [canary] = halted.waves as [WaveState];
    assert.equal(canary.status, 'breached');
    assert.deepEqual(halted.waves.slice(1).map((wave) => wave.status), ['planned', 'planned']);
    assert.deepEqual(new Set(targeted().flat()), new Set(canary.devices), 'only the canary was sent the firmware');
    assert.equal(canary.figures?.reasons[0]?.reason, 'Integrity check failure for new downloaded package.');
    assert.equal(halts.length, 1);
    assert.match((halts[0] as RolloutEvent<'halted'>).why, /failed or timed out: at most 5 %/);
    assert.ok(canary.figures.finished >= 20, 'judged on at least minFinished devices');
    // What Prometheus scrapes: the halt, and the devices no wave reached.
    const registry = new Registry();
    registerMetrics(receiver.upgrades, { registry });
    const scraped = await registry.metrics();
    assert.match(scraped, /^huawei_iot_upgrade_rollouts\{status="halted"\} 1$/m);
    assert.match(scraped, /^huawei_iot_upgrade_rollout_devices\{rollout="bad",state="notStarted"\} 950$/m);
    assert.match(scraped, /^huawei_iot_upgrade_rollout_devices\{rollout="bad",state="failed"\} [1-9]\d*$/m);
  });

  it("a create whose answer was lost: the task is found among the first device's tasks on the next tick, not created twice", async () => {
    const { certificates } = await testTls();
    // A client that gives up after a second; the create is done at once and answered 3 s late.
    const impatient = createPlatformClient({ url: emulator.url, appId: emulator.appId, secret: emulator.secret, ca: certificates.ca, timeoutMs: 1_000 });
    const driver = createRollouts({ router: receiver.upgrades, client: impatient, reconciler, tickMs: 50, now: () => emulator.now() });
    try {
      await rollouts.close();
      const created: RolloutEvent<'task-created'>[] = [];
      driver.on('taskCreated', (event) => created.push(event));
      driver.on('error', () => {});
      emulator.inject({ kind: 'slow', delayMs: 3_000, when: 'after', path: '/iodm/northbound/v1.5.0/operations/firmwareUpgrade' });
      const pkg = emulator.addPackage({ fileType: 'firmwarePackage', version: 'FW_2.0.2', failureRatio: 0 });
      await driver.start({ id: 'lost-answer', fileId: pkg.fileId, devices: fleet(20), waves: ['100%'], soakMs: MINUTE, callsPerMinute: 6_000 });
      await until(() => created.length === 1, 'the task created, or found');
      assert.deepEqual([created[0]?.recovered, targeted().length], [true, 1]);
    } finally {
      await driver.close();
      await impatient.close();
    }
  });

  it('a retry of the devices failed for one reason targets exactly those devices', async () => {
    const devices = fleet(200);
    const flaky = emulator.addPackage({ fileType: 'firmwarePackage', version: 'FW_2.0.2', failureRatio: 0.3 });
    await rollouts.start({ id: 'flaky', fileId: flaky.fileId, devices, waves: [100, '100%'], soakMs: MINUTE, callsPerMinute: 6_000 });
    const halted = await finished('flaky', 'halted');
    const [canary] = halted.waves as [WaveState];
    const chosen = canary.figures?.reasons[0]?.reason as string;
    // The gate halted on the first results; the retry is asked for once the whole canary has finished.
    await until(() => results.size === 100, () => `the canary's results: ${results.size}`);
    const failedFor = new Set<string>();
    const canaryTask = canary.tasks[0]?.operationId as string;
    for await (const sub of client.subTasks(canaryTask, { status: 'fail' })) if (sub.detailInfo === chosen) failedFor.add(sub.deviceId);
    assert.ok(failedFor.size > 0);
    const before = emulator.tasks().length;
    await rollouts.retry('flaky', { reasons: [chosen] });
    await until(() => emulator.tasks().length === before + 1, 'the retry task');
    const retried = emulator.tasks().at(-1);
    assert.deepEqual(new Set('devices' in (retried?.targets ?? {}) ? (retried?.targets as { devices: string[] }).devices : []), failedFor);
    const view = await rollouts.get('flaky');
    assert.equal(view?.waves.at(-1)?.kind, 'retry');
    assert.equal(view.halt === undefined, false, 'the halt stands: a retry does not resume the plan');
  });

  it('the receiver down during a wave past the re-send window: the gate waits for reconciliation and decides on every device', async () => {
    const devices = fleet(60);
    const firmware = emulator.addPackage({ fileType: 'firmwarePackage', version: 'FW_2.0.3', failureRatio: 0 });
    // Nothing answers at the callback (the receiver's host is down) while the canary runs.
    await receiver.close();
    await rollouts.start({ id: 'dark', fileId: firmware.fileId, devices, waves: [30, '100%'], soakMs: MINUTE, callsPerMinute: 6_000 });
    await until(() => emulator.pushSummary({ notifyType: 'fwUpgradeResultNotify' }).total >= 30, 'the canary to finish on the platform');
    // No gate on partial data: the one judgement of the canary (below) counts every device finished.
    const done = await finished('dark', 'completed');
    const canary = (done.waves[0] as WaveState).figures;
    assert.equal(canary?.finished, 30);
    assert.equal(canary.timedOut, 0);
    assert.equal(canary.succeeded, 30, 'reconciled successes verified against the devices');
    assert.ok(emulator.pushSummary({ notifyType: 'fwUpgradeResultNotify' }).failed >= 30, 'the canary\'s pushes failed');
  });
});
