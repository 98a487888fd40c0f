// Rollouts on IoTDA, against the emulator's v5 mode over HTTPS with a SQLite journal, as a user runs
// them: the results reader fills in each device's outcome, the gates read them; a bad firmware is
// halted after the canary and its task stopped on the platform with the stop call; a good one goes
// through every wave with each success checked against the device's version; a create whose answer
// was lost is found by its task name, not made twice; the dashboard shows the IoTDA tasks.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import request from 'supertest';
import { createUpgradeDashboard, type TaskSummary } from 'huawei-iot-upgrade-router';
import { createIotdaClient, createIotdaResults, type IotdaClient, type IotdaDeviceResult, type IotdaResults } from 'huawei-iot-upgrade-router/iotda';
import { startPlatformEmulator, type EmulatorFault, type PlatformEmulator } from 'huawei-iot-upgrade-router/emulator';
import { createRollouts, type RolloutEvent, type Rollouts, type RolloutView } from 'huawei-iot-upgrade-router/rollout';
import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import { startHttpsReceiver, testTls, type HttpsReceiver } from './support/platform';
import { runBin, tempFolder } from './support/journal';
import { until } from './support/wait';

const SPEED = 600;
const fleet = (count: number): string[] => Array.from({ length: count }, (_, i) => `meter-${String(i).padStart(4, '0')}`);

describe('rollouts on IoTDA', function () {
  let emulator: PlatformEmulator;
  let certificates: Awaited<ReturnType<typeof testTls>>['certificates'];
  let client: IotdaClient;
  let receiver: HttpsReceiver;
  let results: IotdaResults;
  let rollouts: Rollouts;
  let folder: ReturnType<typeof tempFolder>;
  let journal: ReturnType<typeof sqliteJournal>;
  let heard: IotdaDeviceResult[];

  beforeEach(async () => {
    const tls = await testTls();
    certificates = tls.certificates;
    emulator = await startPlatformEmulator({ tls: tls.tls, receiverCa: certificates.ca, speed: SPEED, devices: { durationMs: 60_000, failureRatio: 0 } });
    folder = tempFolder('iotda-rollout-');
    journal = sqliteJournal({ path: join(folder.dir, 'upgrades.db'), spill: false });
    receiver = await startHttpsReceiver({ journal });
    heard = [];
    receiver.upgrades.on('iotdaDeviceResult', (result) => void heard.push(result));
    receiver.upgrades.on('batchTaskUpdate', () => {});
    emulator.iotda.forwardTo(receiver.url);
  });

  afterEach(async () => {
    await rollouts.close();
    await results.close();
    await receiver.upgrades.close(1_000);
    await receiver.close();
    await client.close();
    await emulator.close();
    folder.remove();
  });

  /** The client, the results reader (reading every followed task often: a device's end brings no push) and the rollouts. */
  function start(clientOptions: { timeoutMs?: number } = {}): void {
    const { projectId, ak, sk } = emulator.iotda;
    client = createIotdaClient({ endpoint: emulator.url, projectId, ak, sk, ca: certificates.ca, retryDelayMs: 10, ...clientOptions });
    results = createIotdaResults({ router: receiver.upgrades, client, intervalMs: 100, lookBackMs: 0 });
    rollouts = createRollouts({ router: receiver.upgrades, client, results, tickMs: 50, now: () => emulator.now() });
  }

  const reached = async (id: string, status: RolloutView['status']): Promise<RolloutView> => {
    let view: RolloutView | undefined;
    await until(async () => (view = await rollouts.get(id))?.status === status, () => `rollout ${id} to be ${status}: it is ${view?.status}, waves ${JSON.stringify(view?.waves.map((wave) => [wave.number, wave.status, wave.figures]))}, live ${JSON.stringify(view?.live)}`);
    return view as RolloutView;
  };

  it('a bad firmware: the canary breaches its gate, the rollout halts and stops the canary task on the platform; nobody else is targeted', async () => {
    start();
    // Most devices fail; some never answer (they are still running when the gate breaches, and are stopped).
    emulator.setBehaviour({ silentRatio: 0.3 });
    const bad = emulator.iotda.addPackage({ version: '2.0.0', failureRatio: 0.9 });
    const stopped: RolloutEvent<'task-stopped'>[] = [];
    rollouts.on('taskStopped', (event) => stopped.push(event));
    const devices = fleet(200);
    const started = await rollouts.start({ id: 'bad-fw', fileId: bad.package_id, devices, waves: [20, '50%', '100%'], gate: { maxFailures: 3 }, soakMs: 1 });
    const view = await reached(started.id, 'halted');
    assert.match(view.halt?.why ?? '', /devices failed or timed out: the limit is 3/);
    await until(() => stopped.length === 1, 'the stop of the canary task');
    const tasks = emulator.iotda.tasks();
    assert.equal(tasks.length, 1, 'no task beyond the canary');
    const [canary] = tasks;
    assert.ok(canary);
    assert.deepEqual([stopped[0]?.operationId, stopped[0]?.error], [canary.task_id, undefined]);
    assert.equal(canary.task_name, 'rollout-bad-fw-wave-1-task-1');
    assert.equal(canary.status, 'Stopped');
    assert.equal(canary.targets?.length, 20);
    const stoppedOnPlatform = canary.details.filter((detail) => detail.status === 'Stopped').map((detail) => detail.target);
    assert.ok(stoppedOnPlatform.length > 0, 'the silent devices were stopped');
    assert.deepEqual((await rollouts.get(started.id))?.stopped, [canary.task_id]);
    // The results reader reads the stopped task to its end: every canary device one final outcome, none twice.
    await until(() => heard.length === 20, () => `the 20 canary devices' outcomes (heard ${heard.length})`);
    assert.deepEqual(new Map(heard.map((result) => [result.deviceId, result.status])), new Map(canary.details.map((detail) => [detail.target, detail.status])));
    assert.ok(heard.every((result) => result.taskId === canary.task_id));
    // The dashboard counts a stopped device as failed, by its status (it has no error code).
    const dashboard = createUpgradeDashboard({ router: receiver.upgrades, journal });
    try {
      let row: TaskSummary | undefined;
      await until(async () => (row = ((await request(dashboard).get('/api/tasks').expect(200)).body as TaskSummary[])[0])?.devices === 20, () => `the dashboard's row of the canary: ${JSON.stringify(row)}`);
      assert.deepEqual(
        [row?.errorCodes['Stopped'], row?.failed],
        [stoppedOnPlatform.length, canary.details.filter((detail) => detail.status !== 'Success').length],
      );
    } finally {
      dashboard.close();
    }
    // The devices the stop interrupted, tried again as a wave of their own (it runs while halted); an abort stops its task too.
    const retried: RolloutEvent<'retry-wave'>[] = [];
    rollouts.on('retryWave', (event) => retried.push(event));
    await rollouts.retry(started.id, { reasons: ['Stopped'] });
    await until(() => retried.length === 1 && emulator.iotda.tasks().length === 2, 'the retry wave and its task');
    assert.deepEqual(retried[0]?.devices, [...stoppedOnPlatform].sort());
    await rollouts.abort(started.id);
    await until(() => stopped.length === 2, 'the stop of the retry task at the abort');
    const retryTask = emulator.iotda.tasks()[1];
    assert.deepEqual([retryTask?.task_name, stopped[1]?.operationId], ['rollout-bad-fw-wave-4-task-1', retryTask?.task_id]);
    // What the operator reads: the tasks the rollout stopped.
    await rollouts.close();
    const status = await runBin(['rollout', 'status', started.id, '--db', join(folder.dir, 'upgrades.db')]);
    assert.match(status.stdout, new RegExp(`^ {2}stopped on the platform: ${canary.task_id}, ${retryTask?.task_id ?? ''}$`, 'm'), status.stdout);
  });

  it('a stop the platform refuses is recorded with its error; a device whose version cannot be read is unverified, and fails the gate', async () => {
    start();
    const { projectId } = emulator.iotda;
    rollouts.on('taskCreated', (event) => emulator.inject({ kind: 'status', status: 409, path: `/v5/iot/${projectId}/batchtasks/${event.operationId}/stop` }));
    emulator.inject({ kind: 'status', status: 503, times: 1_000, path: `/v5/iot/${projectId}/devices/` });
    const stopped: RolloutEvent<'task-stopped'>[] = [];
    rollouts.on('taskStopped', (event) => stopped.push(event));
    const pkg = emulator.iotda.addPackage({ version: '5.0.0' });
    const started = await rollouts.start({ id: 'unreadable', fileId: pkg.package_id, devices: fleet(10), waves: [5, '100%'], soakMs: 1, callsPerMinute: 100_000 });
    const view = await reached(started.id, 'halted');
    assert.deepEqual([view.waves[0]?.figures?.succeeded, view.waves[0]?.figures?.unverified], [0, 5]);
    await until(() => stopped.length === 1, 'the refused stop recorded');
    assert.match(stopped[0]?.error ?? '', /409/);
    assert.deepEqual([(await rollouts.get(started.id))?.stopped, (await rollouts.get(started.id))?.toStop], [[], []]);
  });

  it('a good firmware: 200 devices through a canary, 50 % and 100 %, every success checked against the device\'s version; the dashboard shows each task', async () => {
    start();
    const good = emulator.iotda.addPackage({ version: '2.1.0', packageType: 'softwarePackage' });
    const devices = fleet(200);
    // Each success is checked with a read of its device (ShowDevice), within the rollout's call budget.
    const started = await rollouts.start({ id: 'good-sw', fileId: good.package_id, devices, waves: [20, '50%', '100%'], soakMs: 1, callsPerMinute: 100_000 });
    const view = await reached(started.id, 'completed');
    assert.deepEqual([view.package, view.platform], [{ version: '2.1.0', operateType: 'software_upgrade' }, 'iotda']);
    assert.deepEqual(
      view.waves.map((wave) => [wave.number, wave.status, wave.figures?.devices, wave.figures?.succeeded, wave.figures?.unverified]),
      [
        [1, 'passed', 20, 20, 0],
        [2, 'passed', 80, 80, 0],
        [3, 'passed', 100, 100, 0],
      ],
    );
    const tasks = emulator.iotda.tasks();
    assert.deepEqual(tasks.map((task) => [task.task_name, task.task_type, task.status]), [1, 2, 3].map((wave) => [`rollout-good-sw-wave-${wave}-task-1`, 'softwareUpgrade', 'Success']));
    await until(() => heard.length === 200, () => `200 outcomes (heard ${heard.length})`);
    assert.equal(new Set(heard.map((result) => result.deviceId)).size, 200, 'none twice');
    // The dashboard, on the same journal: one row per IoTDA task, its devices' outcomes counted.
    const dashboard = createUpgradeDashboard({ router: receiver.upgrades, journal });
    receiver.app.use('/upgrades', dashboard);
    try {
      let rows: TaskSummary[] = [];
      await until(async () => (rows = (await request(receiver.app).get('/upgrades/api/tasks').expect(200)).body as TaskSummary[]).reduce((sum, row) => sum + row.succeeded, 0) === 200, () => `the dashboard to count 200 successes: ${JSON.stringify(rows)}`);
      assert.deepEqual(
        rows.map((row) => [row.operationId, row.kind, row.devices, row.succeeded, row.failed, row.inProgress]).sort(),
        tasks.map((task) => [task.task_id, 'software', task.targets?.length, task.targets?.length, 0, 0]).sort(),
      );
    } finally {
      dashboard.close();
    }
  });

  /** A one-wave rollout whose first create meets `fault` (the client gives up after 1 s); the taskCreated events, once it completed. */
  async function withLostCreate(id: string, fault: EmulatorFault): Promise<RolloutEvent<'task-created'>[]> {
    start({ timeoutMs: 1_000 });
    emulator.inject(fault);
    const pkg = emulator.iotda.addPackage({ version: '3.0.0' });
    const created: RolloutEvent<'task-created'>[] = [];
    rollouts.on('taskCreated', (event) => created.push(event));
    rollouts.on('error', () => {});
    await rollouts.start({ id, fileId: pkg.package_id, devices: fleet(10), waves: ['100%'], soakMs: 1, callsPerMinute: 100_000 });
    await reached(id, 'completed');
    assert.equal(emulator.iotda.tasks().length, 1, 'one task on the platform');
    return created;
  }

  it('a create whose answer was lost: the task is found by its name on the next tick, not made twice', async () => {
    // The create is done at once, its answer comes after the client gave up.
    const created = await withLostCreate('lost-answer', { kind: 'slow', delayMs: 3_000, when: 'after', path: `/v5/iot/${emulator.iotda.projectId}/batchtasks` });
    assert.deepEqual(
      created.map((event) => [event.operationId, event.recovered]),
      [[emulator.iotda.tasks()[0]?.task_id, true]],
    );
  });

  it('a create lost on its way: nothing found by its name, the task is created then', async () => {
    const created = await withLostCreate('lost-create', { kind: 'lost', path: `/v5/iot/${emulator.iotda.projectId}/batchtasks` });
    assert.deepEqual(created.map((event) => event.recovered), [false]);
  });

  it('refuses a reconciler with an IoTDA client, and an IoTDA client without its results reader', () => {
    start();
    const options = { router: receiver.upgrades, client };
    assert.throws(() => createRollouts(options), (error: Error & { code?: string }) => error.code === 'ERR_INVALID_OPTION' && /give results: createIotdaResults/.test(error.message));
    assert.throws(() => createRollouts({ ...options, results, reconciler: { track: () => {} } as never }), /reconciler goes with createPlatformClient/);
  });
});
