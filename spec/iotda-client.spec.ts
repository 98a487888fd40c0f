// The IoTDA (API v5) client against the emulator's v5 mode over real HTTPS: signed calls checked as the
// gateway checks them, a task's devices read page by page past the 500 offset limit through the
// marker, stop, retry and confirm, a clock 20 minutes off corrected, the rule engine's task push to a
// receiver (the package's router), and every failure as a PlatformError.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { createIotdaClient, PlatformError, signRequest, type IotdaClient, type IotdaClientOptions, type TaskDetail } from 'huawei-iot-upgrade-router/iotda';
import { startPlatformEmulator, type PlatformEmulator, type PlatformEmulatorOptions } from 'huawei-iot-upgrade-router/emulator';
import { startHttpsReceiver, testTls, type HttpsReceiver } from './support/platform';
import { until } from './support/wait';

const devices = (n: number, prefix = 'meter'): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe('IoTDA client against the emulator (HTTPS)', function () {
  let emulator: PlatformEmulator;
  let clients: IotdaClient[] = [];
  let receivers: HttpsReceiver[] = [];

  async function start(options: PlatformEmulatorOptions = {}): Promise<PlatformEmulator> {
    const { tls, certificates } = await testTls();
    emulator = await startPlatformEmulator({
      tls,
      receiverCa: certificates.ca,
      ...options,
    });
    return emulator;
  }

  async function client(options: Partial<IotdaClientOptions> = {}): Promise<IotdaClient> {
    const { certificates } = await testTls();
    const made = createIotdaClient({
      endpoint: emulator.url,
      projectId: emulator.iotda.projectId,
      ak: emulator.iotda.ak,
      sk: emulator.iotda.sk,
      ca: certificates.ca,
      retryDelayMs: 10,
      ...options,
    });
    clients.push(made);
    return made;
  }

  const allDetails = async (platform: IotdaClient, taskId: string, status?: TaskDetail['status']): Promise<TaskDetail[]> => {
    const all: TaskDetail[] = [];
    for await (const page of platform.taskDetails(taskId, status === undefined ? {} : { status })) all.push(...page);
    return all;
  };

  afterEach(async () => {
    await Promise.all(clients.map((made) => made.close()));
    clients = [];
    await Promise.all(receivers.map((receiver) => receiver.close()));
    receivers = [];
    await emulator.close();
  });

  it('creates a task of 620 devices and reads every device once, 50 a page, on through the marker past offset 500', async () => {
    await start({
      speed: 600,
      devices: { durationMs: 60_000, failureRatio: 0.2 },
    });
    const platform = await client();
    const pkg = emulator.iotda.addPackage({ version: '1.3.0' });
    const task = await platform.createBatchTask({
      taskName: 'meters 1.3',
      taskType: 'firmwareUpgrade',
      targets: devices(620),
      packageId: pkg.package_id,
    });
    assert.match(task.task_id, /^[0-9a-f]{24}$/);
    assert.equal(task.task_progress.total, 620);
    await until(
      async () =>
        (await platform.getBatchTask(task.task_id, { limit: 1 })).batchtask.task_progress.success +
          (await platform.getBatchTask(task.task_id, { limit: 1 })).batchtask.task_progress.fail ===
        620,
      'every device of the task finished',
    );
    const before = platform.stats().calls;
    const details = await allDetails(platform, task.task_id);
    // 13 pages: 12 of 50 and one of 20.
    assert.equal(platform.stats().calls - before, 13);
    assert.deepEqual(details.map((detail) => detail.target).sort(), devices(620).sort());
    const { batchtask } = await platform.getBatchTask(task.task_id, {
      limit: 1,
    });
    const failed = details.filter((detail) => detail.status === 'Fail');
    assert.equal(failed.length, batchtask.task_progress.fail);
    assert.ok(failed.length > 0 && failed.every((detail) => detail.error !== undefined && /^\d+$/.test(detail.error.error_code)), 'each failure says why');
    assert.equal(batchtask.status, 'PartialSuccess');
    // By status, through the same pages.
    assert.deepEqual(
      (await allDetails(platform, task.task_id, 'Fail')).map((detail) => detail.target),
      failed.map((detail) => detail.target),
    );
  });

  it('refuses a limit over 50 and an offset over 500 as the platform does (400 IOTDA.000006), and a missing task (404)', async () => {
    await start();
    const platform = await client();
    const { task_id: taskId } = await platform.createBatchTask({
      taskName: 't',
      taskType: 'softwareUpgrade',
      targets: devices(3),
      packageId: emulator.iotda.addPackage({ version: '2' }).package_id,
    });
    for (const page of [{ limit: 51 }, { limit: 0 }, { offset: 501 }]) {
      await assert.rejects(
        platform.getBatchTask(taskId, page),
        (error: unknown) => error instanceof PlatformError && error.status === 400 && error.code === 'IOTDA.000006',
        JSON.stringify(page),
      );
    }
    assert.equal((await platform.getBatchTask(taskId, { limit: 50, offset: 500 })).task_details.length, 0);
    await assert.rejects(platform.getBatchTask('no-such-task'), (error: unknown) => error instanceof PlatformError && error.status === 404);
    await assert.rejects(
      platform.createBatchTask({
        taskName: 't',
        taskType: 'firmwareUpgrade',
        targets: [],
        packageId: 'x',
      }),
      (error: unknown) => error instanceof PlatformError && error.status === 400 && /targets/.test(error.description),
    );
  });

  it('a wrong secret key is refused (401 APIGW.0301) and not retried; the derived-key variant is accepted', async () => {
    await start();
    const wrong = await client({ sk: `${emulator.iotda.sk}x` });
    await assert.rejects(
      wrong.listBatchTasks({ taskType: 'firmwareUpgrade' }),
      (error: unknown) => error instanceof PlatformError && error.status === 401 && error.code === 'APIGW.0301',
    );
    assert.equal(wrong.stats().calls, 1);
    const derived = await client({
      derivedRegion: 'cn-north-4',
      instanceId: 'instance-1',
    });
    assert.deepEqual((await derived.listBatchTasks({ taskType: 'firmwareUpgrade' })).batchtasks, []);
  });

  it("a clock 20 minutes behind the gateway's: the first call is refused as expired, the client signs on the gateway's time and goes on", async () => {
    await start();
    emulator.iotda.setClockSkew(20 * 60_000);
    const platform = await client();
    assert.deepEqual((await platform.listBatchTasks({ taskType: 'softwareUpgrade' })).batchtasks, []);
    assert.equal(platform.stats().calls, 2, 'refused once, then accepted');
    assert.ok(Math.abs(platform.stats().clockSkewMs - 20 * 60_000) < 5_000, `correction ${platform.stats().clockSkewMs} ms`);
    await platform.listBatchTasks({ taskType: 'softwareUpgrade' });
    assert.equal(platform.stats().calls, 3, 'no refusal once corrected');
  });

  it('stop leaves every unfinished device Stopped; retry of some runs them again; confirm starts the waiting ones', async () => {
    await start({
      speed: 60,
      devices: { durationMs: 3_600_000, startSpread: 0 },
    });
    const platform = await client();
    const pkg = emulator.iotda.addPackage({ version: '3.0', failureRatio: 0 });
    const { task_id: taskId } = await platform.createBatchTask({
      taskName: 'long',
      taskType: 'firmwareUpgrade',
      targets: devices(10),
      packageId: pkg.package_id,
    });
    await until(async () => (await platform.getBatchTask(taskId)).batchtask.task_progress.processing === 10, 'the devices under way');
    await platform.stopBatchTask(taskId);
    const stopped = await platform.getBatchTask(taskId);
    assert.equal(stopped.batchtask.status, 'Stopped');
    assert.equal(stopped.batchtask.task_progress.stopped, 10);
    emulator.setBehaviour({ durationMs: 1_000 });
    await platform.retryBatchTask(taskId, ['meter-1', 'meter-2']);
    await until(async () => (await platform.getBatchTask(taskId)).batchtask.task_progress.success === 2, 'the two retried devices done');
    const after = await allDetails(platform, taskId);
    assert.deepEqual(
      after.filter((detail) => detail.status === 'Success').map((detail) => detail.target),
      ['meter-1', 'meter-2'],
    );
    assert.equal(after.filter((detail) => detail.status === 'Stopped').length, 8);
    await platform.confirmBatchTask(taskId);
    await assert.rejects(platform.retryBatchTask(taskId, 'meter-1' as unknown as string[]), (error: unknown) => error instanceof PlatformError && error.status === 400);
  });

  it('answers what the gateway and the platform refuse: unsigned, a bad or old date, a changed body, unknown paths and methods, bad tasks', async () => {
    await start();
    const { certificates } = await testTls();
    const { projectId, ak, sk } = emulator.iotda;
    const base = `/v5/iot/${projectId}/batchtasks`;
    const dispatcher = new Agent({ connect: { ca: certificates.ca } });
    const call = async (method: string, path: string, body?: unknown, change: { at?: number; headers?: Record<string, string>; sentBody?: string } = {}): Promise<string> => {
      const url = new URL(path, emulator.url);
      const text = body === undefined ? '' : JSON.stringify(body);
      const headers = { ...signRequest({ method, url, headers: { 'Content-Type': 'application/json' }, body: text }, { ak, sk }, change.at ?? Date.now()), ...change.headers };
      const answer = await request(url, { method: method as 'GET', headers, body: change.sentBody ?? (text === '' ? null : text), dispatcher });
      const parsed = (await answer.body.json()) as { error_code?: string; error_msg?: string };
      return `${answer.statusCode} ${parsed.error_code ?? ''} ${parsed.error_msg ?? ''}`;
    };
    const pkg = emulator.iotda.addPackage({ version: '1' });
    const { task_id: taskId } = await (await client()).createBatchTask({ taskName: 't', taskType: 'firmwareUpgrade', targets: ['a'], packageId: pkg.package_id });
    const cases: Array<[string, () => Promise<string>, RegExp]> = [
      ['unsigned', () => call('GET', `${base}?task_type=firmwareUpgrade`, undefined, { headers: { Authorization: '' } }), /^401 APIGW\.0301 .*verify aksk signature fail/],
      ['a malformed date', () => call('GET', `${base}?task_type=firmwareUpgrade`, undefined, { headers: { 'X-Sdk-Date': 'yesterday' } }), /^401 APIGW\.0301 .*x-sdk-date/],
      ['signed an hour ago', () => call('GET', `${base}?task_type=firmwareUpgrade`, undefined, { at: Date.now() - 3_600_000 }), /^401 APIGW\.0301 .*signature expired/],
      ['a body changed after signing', () => call('POST', base, { task_name: 'x' }, { sentBody: JSON.stringify({ task_name: 'y' }) }), /^401 APIGW\.0301 .*verify aksk signature fail/],
      ['an unknown path', () => call('GET', `/v5/iot/${projectId}/devices`), /^404 IOTDA\.000001/],
      ['another project', () => call('GET', `/v5/iot/other/batchtasks?task_type=firmwareUpgrade`), /^403 IOTDA\.000002/],
      ['PUT on the tasks', () => call('PUT', base, {}), /^400 IOTDA\.000006 .*PUT is not supported/],
      ['PUT on a task', () => call('PUT', `${base}/${taskId}`, {}), /^400 IOTDA\.000006 .*PUT is not supported/],
      ['GET on an action', () => call('GET', `${base}/${taskId}/stop`), /^400 IOTDA\.000006 .*GET is not supported/],
      ['a list without task_type', () => call('GET', base), /^400 IOTDA\.000006 .*task_type is required/],
      ['a task with no name', () => call('POST', base, { task_type: 'firmwareUpgrade', targets: ['a'], document: { package_id: pkg.package_id } }), /^400 .*task_name/],
      ['a task of another type', () => call('POST', base, { task_name: 't', task_type: 'createDevices', targets: ['a'], document: { package_id: pkg.package_id } }), /^400 .*task_type/],
      ['a task of 30 001 devices', () => call('POST', base, { task_name: 't', task_type: 'firmwareUpgrade', targets: devices(30_001), document: { package_id: pkg.package_id } }), /^400 .*at most 30000/],
      ['a task of a package that does not exist', () => call('POST', base, { task_name: 't', task_type: 'firmwareUpgrade', targets: ['a'], document: { package_id: 'nope' } }), /^404 IOTDA\.014000 .*nope/],
      ['a body that is no object', () => call('POST', base, ['a']), /^400 .*task_name/],
      ['no body', () => call('POST', base), /^400 .*task_name/],
      ['a package ID that is no string', () => call('POST', base, { task_name: 't', task_type: 'firmwareUpgrade', targets: ['a'], document: { package_id: 7 } }), /^404 IOTDA\.014000 .*7/],
      ['a list of more than 50', () => call('GET', `${base}?task_type=firmwareUpgrade&limit=51`), /^400 IOTDA\.000006 .*limit/],
      ['the list after the last task', async () => (await call('GET', `${base}?task_type=firmwareUpgrade&status=Processing&marker=${taskId}`)).trim(), /^200$/],
    ];
    for (const [what, answer, expected] of cases) assert.match(await answer(), expected, what);
    await dispatcher.close();
  });

  it('a task with its options: app_id, the retry policy; one device read by target; every device failing is a Fail task; a silent one stays Processing', async () => {
    await start({ speed: 600, devices: { durationMs: 10_000 } });
    const platform = await client();
    const pkg = emulator.iotda.addPackage({ version: '5', failureRatio: 1 });
    const task = await platform.createBatchTask({ taskName: 'all fail', taskType: 'softwareUpgrade', targets: devices(4), packageId: pkg.package_id, appId: 'app-9', retryCount: 2, retryIntervalMinutes: 30 });
    assert.deepEqual(task.task_policy, { retry_count: 2, retry_interval: 30 });
    await until(async () => (await platform.getBatchTask(task.task_id)).batchtask.status === 'Fail', 'every device failed');
    assert.deepEqual((await platform.getBatchTask(task.task_id, { target: 'meter-2' })).task_details.map((detail) => detail.target), ['meter-2']);
    await platform.retryBatchTask(task.task_id);
    await platform.confirmBatchTask(task.task_id, ['meter-1']);
    emulator.setBehaviour({ silentRatio: 1 });
    const silent = await platform.createBatchTask({ taskName: 'silent', taskType: 'softwareUpgrade', targets: ['quiet-1'], packageId: pkg.package_id });
    await until(async () => (await platform.getBatchTask(silent.task_id)).batchtask.status === 'Processing', 'the silent device under way');
    await emulator.settled();
    assert.equal((await platform.getBatchTask(silent.task_id)).task_details[0]?.status, 'Processing');
  });

  it("reads an OTA package and a device: a device shows a package's version once a task installed it; unknown ones are 404", async () => {
    await start({ speed: 600, devices: { durationMs: 10_000, failureRatio: 0 } });
    const platform = await client();
    const pkg = emulator.iotda.addPackage({ version: '7.1.0', packageType: 'softwarePackage' });
    assert.deepEqual(await platform.getOtaPackage(pkg.package_id), { package_id: pkg.package_id, package_type: 'softwarePackage', version: '7.1.0' });
    const task = await platform.createBatchTask({ taskName: 'sw', taskType: 'softwareUpgrade', targets: ['meter-1'], packageId: pkg.package_id });
    assert.deepEqual(await platform.getDevice('meter-1'), { device_id: 'meter-1', fw_version: '1.0.0', sw_version: '1.0.0', status: 'ONLINE' });
    await until(async () => (await platform.getBatchTask(task.task_id)).batchtask.status === 'Success', 'the device upgraded');
    assert.deepEqual([(await platform.getDevice('meter-1')).sw_version, (await platform.getDevice('meter-1')).fw_version], ['7.1.0', '1.0.0']);
    for (const read of [() => platform.getDevice('nobody'), () => platform.getOtaPackage('none')]) {
      await assert.rejects(read, (error: unknown) => error instanceof PlatformError && error.status === 404 && error.code === 'IOTDA.014000');
    }
    const other = await client({ projectId: 'another' });
    await assert.rejects(() => other.getDevice('meter-1'), (error: unknown) => error instanceof PlatformError && error.status === 403);
  });

  it('a 503 on a read is retried; on a create it is not (a task is never made twice)', async () => {
    await start();
    const platform = await client();
    emulator.inject({ kind: 'status', status: 503, times: 2, path: '/v5/' });
    assert.deepEqual((await platform.listBatchTasks({ taskType: 'firmwareUpgrade' })).batchtasks, []);
    assert.equal(platform.stats().calls, 3);
    emulator.inject({ kind: 'status', status: 503, path: '/v5/' });
    await assert.rejects(
      platform.createBatchTask({
        taskName: 't',
        taskType: 'firmwareUpgrade',
        targets: ['a'],
        packageId: emulator.iotda.addPackage({ version: '1' }).package_id,
      }),
      (error: unknown) => error instanceof PlatformError && error.status === 503,
    );
    assert.equal(platform.stats().calls, 4);
    assert.equal(emulator.iotda.tasks().length, 0);
  });

  it("forwards batchtask:update to a receiver as the rule engine does: the router's batchTaskUpdate, Waitting to a final status; a push that failed is sent again", async () => {
    await start({ speed: 600, devices: { durationMs: 10_000 } });
    const receiver = await startHttpsReceiver();
    receivers.push(receiver);
    const heard: string[] = [];
    receiver.upgrades.on('batchTaskUpdate', (push) => void heard.push(push.notify_data.body.status));
    emulator.iotda.forwardTo(receiver.url);
    const platform = await client();
    const pkg = emulator.iotda.addPackage({ version: '4.0', failureRatio: 0 });
    const { task_id: taskId } = await platform.createBatchTask({
      taskName: 'pushed',
      taskType: 'softwareUpgrade',
      targets: devices(20),
      packageId: pkg.package_id,
    });
    await until(() => heard.length === 3 && emulator.iotda.pushes().every((record) => record.status === 'delivered'), 'the three pushes delivered');
    // Sent as each change happens, they may overtake each other on the way, as on the platform.
    assert.deepEqual([...heard].sort(), ['Processing', 'Success', 'Waitting']);
    assert.ok(emulator.iotda.pushes().every((record) => record.body.notify_data.body.task_id === taskId));

    // The receiver away: the push fails, and is delivered once it is back (3 emulated minutes later).
    await receiver.close();
    receivers = [];
    const second = await platform.createBatchTask({
      taskName: 'later',
      taskType: 'softwareUpgrade',
      targets: devices(5),
      packageId: pkg.package_id,
    });
    await until(() => emulator.iotda.pushes().some((record) => record.body.notify_data.body.task_id === second.task_id && record.status === 'failed'), 'a push that failed');
    const back = await startHttpsReceiver({}, receiver.port);
    receivers.push(back);
    const later: string[] = [];
    back.upgrades.on('batchTaskUpdate', (push) => void later.push(`${push.notify_data.body.task_id} ${push.notify_data.body.status}`));
    await until(() => later.includes(`${second.task_id} Success`), 'the task pushed to the receiver once it is back');
  });
});

describe('IoTDA client options', () => {
  it('checks its options like every factory: a misspelt one, an endpoint that is no URL, a missing key', () => {
    const base = { endpoint: 'https://iotda.example.com', projectId: 'p', ak: 'a', sk: 's' };
    assert.throws(() => createIotdaClient({ ...base, endpoint: 'ftp://iotda.example.com' }), /endpoint must be an http\(s\) URL/);
    assert.throws(() => createIotdaClient({ ...base, ca: [42] } as unknown as IotdaClientOptions), /ca\[0\] must be PEM text or a Buffer/);
    assert.throws(() => createIotdaClient({ ...base, retrys: 2 } as IotdaClientOptions), /unknown option retrys: did you mean retries\?/);
    assert.throws(
      () => createIotdaClient({ ...base, endpoint: 'iotda.example.com' }),
      (error: unknown) => (error as { code?: string }).code === 'ERR_INVALID_OPTION',
    );
    assert.throws(
      () =>
        createIotdaClient({
          ...base,
          sk: undefined,
        } as unknown as IotdaClientOptions),
      /sk/,
    );
  });
});

describe('IoTDA client: what goes wrong on the way', () => {
  const clients: IotdaClient[] = [];
  afterEach(async () => {
    for (const made of clients.splice(0)) await made.close();
  });

  it('an answer that is not JSON, with no Date, is retried on a read and then a PlatformError with its text; no answer is status 0', async () => {
    let calls = 0;
    const server = createServer((_request, response) => {
      calls += 1;
      response.sendDate = false;
      response.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      const client = createIotdaClient({ endpoint: `http://127.0.0.1:${port}`, projectId: 'p', ak: 'a', sk: 's', retries: 2, retryDelayMs: 1 });
      clients.push(client);
      await assert.rejects(client.getBatchTask('t'), (error: unknown) => error instanceof PlatformError && error.status === 502 && error.code === undefined && error.description === 'bad gateway');
      assert.equal(calls, 3);
    } finally {
      server.close();
      server.closeAllConnections();
    }
    const nobody = createIotdaClient({ endpoint: `http://127.0.0.1:${port}`, projectId: 'p', ak: 'a', sk: 's', retries: 0 });
    clients.push(nobody);
    await assert.rejects(nobody.listBatchTasks({ taskType: 'firmwareUpgrade' }), (error: unknown) => error instanceof PlatformError && error.status === 0);
  });
});
