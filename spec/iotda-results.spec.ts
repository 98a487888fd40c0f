// IoTDA's device outcomes, read from each task into the router's journal: the emulator's v5 mode over
// HTTPS forwards the task push to a receiver (the package's router with a SQLite journal), the push
// makes createIotdaResults read the task, and each device that finished becomes one
// `iotdaDeviceResult`: every device once, none twice, across a restart, a retry, a failed read.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createIotdaClient, createIotdaResults, type IotdaClient, type IotdaDeviceResult, type IotdaResults } from 'huawei-iot-upgrade-router/iotda';
import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import { startPlatformEmulator, type PlatformEmulator } from 'huawei-iot-upgrade-router/emulator';
import { createUpgradeRouter, type UpgradeRouter } from 'huawei-iot-upgrade-router';
import { startHttpsReceiver, testTls, type HttpsReceiver } from './support/platform';
import { tempFolder } from './support/journal';
import { until } from './support/wait';

const devices = (n: number): string[] => Array.from({ length: n }, (_, i) => `meter-${i}`);

describe('IoTDA device outcomes read into the journal (createIotdaResults)', function () {
  let emulator: PlatformEmulator;
  let client: IotdaClient;
  let folder: ReturnType<typeof tempFolder>;
  const closing: Array<() => Promise<unknown>> = [];

  beforeEach(async () => {
    folder = tempFolder('iotda-');
    const { tls, certificates } = await testTls();
    emulator = await startPlatformEmulator({ tls, receiverCa: certificates.ca, speed: 600, devices: { durationMs: 30_000, failureRatio: 0.2 } });
    client = createIotdaClient({ endpoint: emulator.url, projectId: emulator.iotda.projectId, ak: emulator.iotda.ak, sk: emulator.iotda.sk, ca: certificates.ca, retryDelayMs: 10 });
  });
  afterEach(async () => {
    for (const close of closing.splice(0).reverse()) await close();
    await client.close();
    await emulator.close();
    folder.remove();
  });

  /** A receiver with a SQLite journal at `path`, the results reader beside it, and what its listener heard. */
  async function receiver(path = join(folder.dir, 'upgrades.db'), lookBackMs = 0): Promise<{ receiver: HttpsReceiver; results: IotdaResults; heard: IotdaDeviceResult[] }> {
    const started = await startHttpsReceiver({ journal: sqliteJournal({ path }) });
    const results = createIotdaResults({ router: started.upgrades, client, schedule: false, lookBackMs });
    const heard: IotdaDeviceResult[] = [];
    started.upgrades.on('iotdaDeviceResult', (result) => void heard.push(result));
    started.upgrades.on('batchTaskUpdate', () => {});
    closing.push(async () => {
      await results.close();
      await started.upgrades.close(1000);
      await started.close();
    });
    return { receiver: started, results, heard };
  }

  const finalOf = (taskId: string): Map<string, string> => {
    const task = emulator.iotda.tasks().find((candidate) => candidate.task_id === taskId);
    return new Map((task?.details ?? []).map((detail) => [detail.target, detail.status]));
  };

  it('the task push makes it read the task: each of 300 devices one result, with its status and failure, none twice', async () => {
    const { receiver: first, heard } = await receiver();
    emulator.iotda.forwardTo(first.url);
    const pkg = emulator.iotda.addPackage({ version: '1.3.0' });
    // Devices take 500 ms (real) and the first read's first page of devices is answered a second late
    // with what was true when it was asked (none finished): the task's final push comes meanwhile and
    // must bring a read of its own after that one.
    emulator.setBehaviour({ durationMs: 300_000 });
    emulator.inject({ kind: 'slow', delayMs: 1_000, when: 'after', after: 1, path: `/v5/iot/${emulator.iotda.projectId}/batchtasks/` });
    const task = await client.createBatchTask({ taskName: 'meters', taskType: 'firmwareUpgrade', targets: devices(300), packageId: pkg.package_id });
    await until(() => heard.length === 300, `300 device results (heard ${heard.length})`);
    await emulator.settled();
    const expected = finalOf(task.task_id);
    assert.deepEqual(new Map(heard.map((result) => [result.deviceId, result.status])), expected);
    assert.equal(new Set(heard.map((result) => result.deviceId)).size, 300, 'none twice');
    const failed = heard.filter((result) => result.status === 'Fail');
    assert.ok(failed.length > 0 && failed.every((result) => result.error !== undefined && result.taskId === task.task_id && result.packageId === pkg.package_id && result.taskType === 'firmwareUpgrade'));
  });

  it('after a restart, reading the task again keeps nothing new and delivers nothing twice; a retried device that now succeeds is a new result', async () => {
    const path = join(folder.dir, 'upgrades.db');
    const first = await receiver(path);
    const pkg = emulator.iotda.addPackage({ version: '2.0.0' });
    const task = await client.createBatchTask({ taskName: 'meters', taskType: 'softwareUpgrade', targets: devices(120), packageId: pkg.package_id });
    await until(async () => (await client.getBatchTask(task.task_id, { limit: 1 })).batchtask.status === 'PartialSuccess', 'the task finished');
    const report = await first.results.pull(task.task_id);
    assert.deepEqual({ ...report, keptNow: report.keptNow }, { taskId: task.task_id, status: 'PartialSuccess', devices: 120, finished: 120, keptNow: 120, complete: true });
    await until(() => first.heard.length === 120, 'the 120 results delivered');
    await (closing.pop() as () => Promise<unknown>)();

    const second = await receiver(path);
    const again = await second.results.pull(task.task_id);
    assert.equal(again.keptNow, 0, 'every result was in the journal already');
    const failed = [...finalOf(task.task_id)].filter(([, status]) => status === 'Fail').map(([deviceId]) => deviceId);
    assert.ok(failed.length > 0);
    emulator.setBehaviour({ failureRatio: 0 });
    await client.retryBatchTask(task.task_id, failed);
    await until(async () => (await client.getBatchTask(task.task_id, { limit: 1 })).batchtask.status === 'Success', 'the retried devices succeeded');
    const retried = await second.results.pull(task.task_id);
    assert.equal(retried.keptNow, failed.length);
    await until(() => second.heard.length === failed.length, 'the retried devices delivered');
    assert.deepEqual(second.heard.map((result) => `${result.deviceId} ${result.status}`).sort(), failed.map((deviceId) => `${deviceId} Success`).sort());
  });

  it("at start it reads the platform's recent tasks: a task that finished while no reader ran is not missed", async () => {
    const pkg = emulator.iotda.addPackage({ version: '5.0.0' });
    const old = await client.createBatchTask({ taskName: 'while down', taskType: 'softwareUpgrade', targets: devices(60), packageId: pkg.package_id });
    const other = await client.createBatchTask({ taskName: 'firmware too', taskType: 'firmwareUpgrade', targets: devices(3), packageId: pkg.package_id });
    await until(async () => (await client.getBatchTask(old.task_id, { limit: 1 })).batchtask.task_progress.total === 60 && emulator.iotda.tasks().every((task) => ['Success', 'PartialSuccess', 'Fail'].includes(task.status)), 'both tasks finished');
    const { heard, results } = await receiver(join(folder.dir, 'upgrades.db'), 86_400_000);
    await until(() => heard.length === 63, `the 63 devices of both tasks (heard ${heard.length})`);
    assert.deepEqual(new Set(heard.map((result) => result.taskId)), new Set([old.task_id, other.task_id]));
    assert.deepEqual(results.following(), []);
    assert.deepEqual(results.stats(), { pulls: 2, kept: 63, lastError: undefined });
  });

  it('a read that fails is the router\'s error ERR_IOTDA_RESULTS; the task stays followed and the next read keeps its results', async () => {
    const { receiver: started, results, heard } = await receiver();
    const errors: Array<{ code?: string; message: string }> = [];
    started.upgrades.on('error', (error) => void errors.push(error as Error & { code?: string }));
    const pkg = emulator.iotda.addPackage({ version: '3.0.0', failureRatio: 0 });
    const task = await client.createBatchTask({ taskName: 'meters', taskType: 'firmwareUpgrade', targets: devices(10), packageId: pkg.package_id });
    emulator.inject({ kind: 'status', status: 500, times: 4, path: '/v5/' });
    results.track(task.task_id);
    await until(() => errors.length === 1, 'the failed read reported');
    assert.equal(errors[0]?.code, 'ERR_IOTDA_RESULTS');
    assert.deepEqual(results.following(), [task.task_id]);
    await until(async () => (await results.pull(task.task_id)).complete, 'the task read whole once finished');
    await until(() => heard.length === 10, 'its ten results delivered');
    assert.deepEqual(results.following(), []);
  });

  it('on its timer it reads the tasks given at the start; the older push form makes it read too; a legacy push does not', async () => {
    const pkg = emulator.iotda.addPackage({ version: '4.0.0', failureRatio: 0 });
    const given = await client.createBatchTask({ taskName: 'given', taskType: 'firmwareUpgrade', targets: devices(6), packageId: pkg.package_id });
    const started = await startHttpsReceiver({ journal: sqliteJournal({ path: join(folder.dir, 'timer.db') }) });
    const results = createIotdaResults({ router: started.upgrades, client, tasks: [given.task_id], intervalMs: 20 });
    closing.push(async () => {
      await results.close();
      await started.upgrades.close(1000);
      await started.close();
    });
    const heard: string[] = [];
    started.upgrades.on('iotdaDeviceResult', (result) => void heard.push(`${result.taskId} ${result.deviceId}`));
    started.upgrades.on('notification', () => {});
    await until(() => heard.length === 6 && results.following().length === 0, 'the given task read whole on the timer');
    const older = await client.createBatchTask({ taskName: 'older form', taskType: 'softwareUpgrade', targets: devices(2), packageId: pkg.package_id });
    started.upgrades.receive({ resource: 'batchtask.status', event: 'update', notify_data: { app_id: 'a', task_id: older.task_id, task_type: 'softwareUpgrade', status: 'Processing', status_desc: '' } });
    started.upgrades.receive({ notifyType: 'swUpgradeStateChangeNotify', deviceId: 'd', appId: 'a', operationId: 'op', subOperationId: 's', swUpgradeState: 'downloading' });
    // Not among the tasks given: only the push named it.
    await until(() => heard.filter((entry) => entry.startsWith(older.task_id)).length === 2, 'the task the older form named, read');
  });

  it('task pushes lost on the platform\'s side (dropPushes): the reader started after the task finds it at start and reads every device', async () => {
    emulator.inject({ kind: 'dropPushes', ratio: 1, notifyType: 'batchtask' });
    const { receiver: first } = await receiver(join(folder.dir, 'dropped-first.db'));
    emulator.iotda.forwardTo(first.url);
    const pkg = emulator.iotda.addPackage({ version: '4.1.0' });
    const task = await client.createBatchTask({ taskName: 'no pushes', taskType: 'firmwareUpgrade', targets: devices(40), packageId: pkg.package_id });
    await until(async () => (await client.getBatchTask(task.task_id, { limit: 1 })).batchtask.status === 'PartialSuccess', 'the task finished');
    assert.ok(emulator.iotda.pushes().length > 0 && emulator.iotda.pushes().every((push) => push.status === 'dropped'), 'every task push dropped');
    assert.deepEqual(emulator.faults(), [{ kind: 'dropPushes', ratio: 1, notifyType: 'batchtask', left: null }]);
    // No push came, so nothing was read; a reader started now looks back over the platform's tasks.
    const { heard } = await receiver(join(folder.dir, 'dropped-second.db'), 86_400_000);
    await until(() => heard.length === 40, () => `every device read (${heard.length})`);
    assert.deepEqual(new Map(heard.map((result) => [result.deviceId, result.status])), finalOf(task.task_id));
  });

  it('needs a router with a journal and a client; options are checked like every factory', () => {
    assert.throws(() => createIotdaResults({ router: {} as UpgradeRouter, client }), /router must be a router made by createUpgradeRouter\(\)/);
    assert.throws(() => createIotdaResults({ router: createUpgradeRouter(), client }), (error: unknown) => (error as { code?: string }).code === 'ERR_NO_JOURNAL');
    const withJournal: UpgradeRouter = createUpgradeRouter({ journal: sqliteJournal({ path: join(folder.dir, 'other.db') }) });
    closing.push(() => withJournal.close(1000));
    assert.throws(() => createIotdaResults({ router: withJournal, client, intervalMS: 5 } as never), /unknown option intervalMS: did you mean intervalMs\?/);
    assert.throws(() => createIotdaResults({ router: withJournal, client: {} as unknown as IotdaClient }), /client must be a client made by createIotdaClient\(\)/);
  });
});
