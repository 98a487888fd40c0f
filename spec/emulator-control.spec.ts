// The emulator's HTTP surfaces as a test in another language would use them: the control
// routes under /_emulator, the version header on every answer, and clear 4xx answers for what it
// cannot take (unknown routes, bad JSON, a body too large, control input out of range).
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startPlatformEmulator, type PlatformEmulator } from 'huawei-iot-upgrade-router/emulator';
import { createPlatformClient, type PlatformClient } from 'huawei-iot-upgrade-router/platform';
import { until } from './support/wait';

describe('the emulator\'s control surface over HTTP', function () {
  let emulator: PlatformEmulator;
  let platform: PlatformClient;

  beforeEach(async () => {
    emulator = await startPlatformEmulator({ speed: 100, devices: { durationMs: 1_000, failureRatio: 0 } });
    platform = createPlatformClient({ url: emulator.url, appId: emulator.appId, secret: emulator.secret, retries: 0 });
  });

  afterEach(async () => {
    await platform.close();
    await emulator.close();
  });

  async function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, type = 'application/json'): Promise<{ status: number; body: unknown; version: unknown }> {
    const answer = await request(`${emulator.url}${path}`, {
      method,
      ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': type } }),
    });
    const text = await answer.body.text();
    return { status: answer.statusCode, body: text === '' ? undefined : JSON.parse(text), version: answer.headers['x-platform-emulator'] };
  }

  it('refuses control input that would break it, before changing anything; says what it armed and how fast it runs', async () => {
    const before = (await call('GET', '/_emulator')).body as { now: string; speed: number; packages: unknown };
    assert.equal(before.speed, 100);
    for (const [path, body, message] of [
      ['/_emulator/clock', { advanceMs: 1e17 }, /advanceMs must be a whole number/],
      ['/_emulator/clock', { advanceMs: -1 }, /advanceMs must be a whole number/],
      ['/_emulator/faults', { kind: 'slow', delayMs: 3e9 }, /delayMs, a whole number of milliseconds from 0 to 2147483647/],
      ['/_emulator/faults', { kind: 'slow', delayMs: 1, when: 'later' }, /a slow fault's when is 'before'/],
      ['/_emulator/packages', {}, /a package needs fileType/],
      ['/_emulator/packages', { fileType: 'firmwarePackage' }, /a package needs fileType/],
    ] as const) {
      const refused = await call('POST', path, body);
      assert.equal(refused.status, 400, `${path} ${JSON.stringify(body)}`);
      assert.match(JSON.stringify(refused.body), message);
    }
    // Nothing changed: the clock reads on from where it was, and the emulator still works.
    const after = (await call('GET', '/_emulator')).body as { now: string; packages: unknown; faults: unknown[] };
    assert.ok(Date.parse(after.now) - Date.parse(before.now) < 86_400_000, `the clock jumped to ${after.now}`);
    assert.deepEqual(after.packages, before.packages);
    assert.deepEqual(after.faults, []);
    const { operationId } = await platform.createSoftwareUpgradeTask({ fileId: emulator.packages.software.fileId, targets: { devices: ['a'] } });
    assert.equal((await platform.getTask(operationId)).operationId, operationId);
    const armed = await call('POST', '/_emulator/faults', { kind: 'throttle', times: 2 });
    assert.equal(armed.status, 201);
    assert.deepEqual(armed.body, { faults: [{ kind: 'throttle', times: 2, left: 2 }] });
  });

  it('reads the pushes, their summary and the callback URLs', async () => {
    // Nothing listens on port 1: every push fails, which is what there is to read.
    await platform.subscribe('swUpgradeResultNotify', 'http://127.0.0.1:1/cb');
    const { operationId } = await platform.createSoftwareUpgradeTask({ fileId: emulator.packages.software.fileId, targets: { devices: ['a', 'b'] } });
    await until(() => emulator.pushes({ operationId }).filter((record) => record.lastError !== undefined).length === 2, 'two failed tries');
    const pushes = await call('GET', `/_emulator/pushes?operationId=${operationId}&status=pending&notifyType=swUpgradeResultNotify&deviceId=a`);
    assert.equal(pushes.status, 200);
    const { summary, pushes: records } = pushes.body as { summary: { total: number; pending: number }; pushes: Array<{ deviceId: string; body?: { notifyType: string }; lastError: string }> };
    assert.deepEqual([summary.total, summary.pending, records.length, records[0]?.deviceId, records[0]?.body?.notifyType, records[0]?.lastError], [1, 1, 1, 'a', 'swUpgradeResultNotify', 'ECONNREFUSED']);
    const bare = (await call('GET', '/_emulator/pushes?bodies=false')).body as { pushes: Array<{ body?: unknown }> };
    assert.ok(bare.pushes.length === 2 && bare.pushes.every((record) => record.body === undefined));
    const callbacks = await call('GET', '/_emulator/callbacks');
    assert.deepEqual((callbacks.body as Array<{ url: string; state: string }>).map(({ url, state }) => [url, state]), [['http://127.0.0.1:1/cb', 'valid']]);
    const overview = (await call('GET', '/_emulator/')).body as { appId: string; pushes: { total: number }; sessions: { logins: number } };
    assert.deepEqual([overview.appId, overview.pushes.total, overview.sessions.logins], [emulator.appId, 2, 1]);
  });

  it('injects and clears faults, moves the clock, adds packages and groups, sets how devices behave', async () => {
    assert.equal((await call('POST', '/_emulator/faults', { kind: 'status', status: 503, times: 2 })).status, 201);
    await assert.rejects(platform.listTasks(), { status: 503, code: '50252' });
    assert.equal((await call('DELETE', '/_emulator/faults')).status, 204);
    assert.equal((await platform.listTasks()).totalCount, 0);
    assert.equal((await call('POST', '/_emulator/faults', { kind: 'expiredToken', path: '/iodm/northbound/v1.5.0/category' })).status, 201);
    assert.deepEqual((await call('GET', '/_emulator')).body && ((await call('GET', '/_emulator')).body as { faults: unknown }).faults, [{ kind: 'expiredToken', path: '/iodm/northbound/v1.5.0/category', left: 1 }]);
    // The default envelope of an expired token is the observed one: resultcode.
    const expired = await request(`${emulator.url}/iodm/northbound/v1.5.0/category`, { headers: { app_key: emulator.appId, authorization: 'Bearer x' } });
    assert.deepEqual(await expired.body.json(), { resultcode: '1010005', resultmsg: 'Invalid access token or appId.' });
    assert.equal((await call('POST', '/_emulator/faults', { kind: 'dropPushes' })).status, 201);
    assert.equal((await call('POST', '/_emulator/faults', { kind: 'boom' })).status, 400);
    assert.equal((await call('POST', '/_emulator/faults', { kind: 'slow', delayMs: 1, times: 0 })).status, 400);
    assert.equal((await call('POST', '/_emulator/faults', { kind: 'status' })).status, 400);
    assert.equal((await call('POST', '/_emulator/faults', { kind: 'slow' })).status, 400);

    const before = emulator.now();
    const moved = await call('POST', '/_emulator/clock', { advanceMs: 3_600_000 });
    assert.equal(moved.status, 200);
    assert.ok(Date.parse((moved.body as { now: string }).now) - before >= 3_600_000);
    // An hour on, the token the client holds has expired on the platform's side: one re-login.
    await platform.listTasks();
    assert.equal(emulator.sessions().logins, 2);
    assert.equal((await call('POST', '/_emulator/clock', { advanceMs: -1 })).status, 400);

    const added = await call('POST', '/_emulator/packages', { fileType: 'softwarePackage', version: 'V3.0.0', fromVersion: 'V2.1.0' });
    assert.equal(added.status, 201);
    const fileId = (added.body as { fileId: string }).fileId;
    assert.equal((await platform.getPackage(fileId)).version, 'V3.0.0');
    assert.equal((await call('POST', '/_emulator/groups', { name: 'north', deviceIds: ['n1', 'n2'] })).status, 201);
    assert.equal((await call('POST', '/_emulator/groups', { name: 'south' })).status, 400);
    const behaviour = await call('PUT', '/_emulator/devices', { failureRatio: 1 });
    assert.deepEqual(behaviour.body, { durationMs: 1_000, failureRatio: 1, silentRatio: 0, startSpread: 0.1, durationSpread: 0.2 });
    assert.equal((await call('PUT', '/_emulator/devices', { failureRatio: 2 })).status, 400);
    // A misspelt key is refused with the nearest known one, and changes nothing.
    const misspelt = await call('PUT', '/_emulator/devices', { failureRatio: 0, silentRatoi: 0.5 });
    assert.equal(misspelt.status, 400);
    assert.match(JSON.stringify(misspelt.body), /did you mean silentRatio/);
    assert.equal(emulator.behaviour.failureRatio, 1);
    const { operationId } = await platform.createSoftwareUpgradeTask({ fileId, targets: { deviceGroups: ['north'], deviceType: 'WaterMeter', model: 'NBIoTDevice', manufacturerName: 'Huawei' } });
    await emulator.settled();
    const task = await platform.getTask(operationId);
    assert.deepEqual([task.status, task.staResult.fail], ['failed', 2]);
  });

  it('fails a package as asked (a share, per model, one reason; successes that change nothing), lists its tasks, reads a device', async () => {
    for (const [body, message] of [
      [{ fileType: 'firmwarePackage', version: 'FW_9', failureRatio: 2 }, /failureRatio is a share from 0 to 1/],
      [{ fileType: 'firmwarePackage', version: 'FW_9', modelFailureRatios: { 'NB-2': 5 } }, /modelFailureRatios maps a model to a share/],
      [{ fileType: 'softwarePackage', version: 'V9', failWith: 'Firmware update failed.' }, /failWith is one of \\"1\\", \\"2\\"/],
    ] as const) {
      const refused = await call('POST', '/_emulator/packages', body);
      assert.equal(refused.status, 400);
      assert.match(JSON.stringify(refused.body), message);
    }
    assert.equal((await call('PUT', '/_emulator/models', { 'm-1': '' })).status, 400);
    assert.equal((await call('PUT', '/_emulator/models', { 'm-1': 'NB-2', 'm-2': 'NB-1' })).status, 204);
    const bad = (await call('POST', '/_emulator/packages', { fileType: 'firmwarePackage', version: 'FW_9', failureRatio: 0, modelFailureRatios: { 'NB-2': 1 }, failWith: 'Firmware update failed.' })).body as { fileId: string };
    const { operationId } = await platform.createFirmwareUpgradeTask({ fileId: bad.fileId, targets: { devices: ['m-1', 'm-2'] } });
    emulator.advance(60_000);
    await emulator.settled();
    const tasks = (await call('GET', '/_emulator/tasks')).body as Array<{ operationId: string; fileId: string; staResult: { success: number; fail: number } }>;
    assert.deepEqual(tasks.map((task) => [task.operationId, task.fileId, task.staResult.success, task.staResult.fail]), [[operationId, bad.fileId, 1, 1]]);
    const [failed] = (await platform.listSubTasks(operationId, { status: 'fail' })).data;
    assert.deepEqual([failed?.deviceId, failed?.detailInfo], ['m-1', 'Firmware update failed.']);
    assert.deepEqual(await platform.getDevice('m-2'), { deviceId: 'm-2', deviceInfo: { fwVersion: 'FW_9', model: 'NB-1' } });
    assert.equal((await platform.getDevice('m-1')).deviceInfo.fwVersion, 'FW_1.0.0', 'a failed device keeps its version');
    await assert.rejects(platform.getDevice('never-upgraded'), { status: 404 });
    // A success that leaves the version as it was: SUCCESS, and the old version.
    const odd = emulator.addPackage({ fileType: 'softwarePackage', version: 'V9', failureRatio: 0, unverifiedRatio: 1 });
    await platform.createSoftwareUpgradeTask({ fileId: odd.fileId, targets: { devices: ['m-3'] } });
    emulator.advance(60_000);
    await emulator.settled();
    assert.equal((await platform.getDevice('m-3')).deviceInfo.swVersion, 'V1.0.0');
  });

  it('answers what it cannot take with a clear 4xx, and its version on every answer', async () => {
    const unknownControl = await call('GET', '/_emulator/nope');
    assert.equal(unknownControl.status, 404);
    assert.match((unknownControl.body as { error_desc: string }).error_desc, /no such control route/);
    assert.equal(typeof unknownControl.version, 'string');
    const malformed = await call('POST', '/iocm/app/sec/v1.1.0/refreshToken', '{"appId":');
    assert.deepEqual([malformed.status, (malformed.body as { error_code: string }).error_code], [400, '120015']);
    assert.equal(typeof malformed.version, 'string');
    const missing = await call('POST', '/iocm/app/sec/v1.1.0/login', 'appId=only', 'application/x-www-form-urlencoded');
    assert.deepEqual([missing.status, (missing.body as { error_code: string }).error_code], [400, '102202']);
    const empty = await call('POST', '/iocm/app/sec/v1.1.0/login');
    assert.deepEqual([empty.status, (empty.body as { error_code: string }).error_code], [400, '102202']);
    const huge = await call('POST', '/iocm/app/sec/v1.1.0/login', 'x'.repeat(1_100_000), 'text/plain');
    assert.equal(huge.status, 400);
    await platform.login();
    // An API this emulator does not model: said so, in the platform's envelope.
    const token = await request(`${emulator.url}/iocm/app/sec/v1.1.0/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ appId: emulator.appId, secret: emulator.secret }).toString(),
    });
    const { accessToken } = (await token.body.json()) as { accessToken: string };
    const headers = { 'x-app-key': emulator.appId, authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' };
    // The Java and Python SDKs send `callbackurl`; the REST reference says callbackUrl: both are taken.
    const sdkStyle = await request(`${emulator.url}/iodm/app/sub/v1.1.0/subscribe`, { method: 'POST', headers, body: JSON.stringify({ notifyType: 'fwUpgradeResultNotify', callbackurl: 'https://127.0.0.1:8443/cb' }) });
    assert.equal(sdkStyle.statusCode, 200);
    await sdkStyle.body.dump();
    const noUrl = await request(`${emulator.url}/iodm/app/sub/v1.1.0/subscribe`, { method: 'POST', headers, body: JSON.stringify({ notifyType: 'fwUpgradeResultNotify' }) });
    assert.equal(((await noUrl.body.json()) as { error_code: string }).error_code, '102202');
    // Without pageNo and pageSize: the documented defaults, page 0 of 10.
    const defaults = await request(`${emulator.url}/iocm/app/sub/v1.2.0/subscriptions`, { headers });
    const listed = (await defaults.body.json()) as { pageNo: number; pageSize: number; totalCount: number; subscriptions: Array<{ notifyType: string; callbackUrl: string }> };
    assert.deepEqual(
      [listed.pageNo, listed.pageSize, listed.totalCount, listed.subscriptions[0]?.notifyType, listed.subscriptions[0]?.callbackUrl],
      [0, 10, 1, 'fwUpgradeResultNotify', 'https://127.0.0.1:8443/cb'],
    );
    const unknown = await request(`${emulator.url}/iocm/app/cmd/v1.4.0/deviceCommands`, { headers });
    assert.equal(unknown.statusCode, 400);
    assert.match(((await unknown.body.json()) as { error_desc: string }).error_desc, /not a northbound API the emulator knows/);
    const noRefreshToken = await call('POST', '/iocm/app/sec/v1.1.0/refreshToken', { appId: emulator.appId, secret: emulator.secret });
    assert.deepEqual([noRefreshToken.status, (noRefreshToken.body as { error_code: string }).error_code], [400, '102202']);
    const refresh = await call('POST', '/iocm/app/sec/v1.1.0/refreshToken', { appId: emulator.appId, secret: emulator.secret, refreshToken: 'stale' });
    assert.deepEqual([refresh.status, (refresh.body as { error_code: string }).error_code], [401, '100208']);
    const noToken = await call('GET', '/iodm/northbound/v1.5.0/operations');
    assert.deepEqual([noToken.status, (noToken.body as { resultcode: string }).resultcode], [403, '1010005']);
  });

  it('refuses options it cannot use at start', async () => {
    await assert.rejects(startPlatformEmulator({ speed: 0 }), /speed must be a positive number/);
    await assert.rejects(startPlatformEmulator({ devices: { silentRatio: -1 } }), /devices\.silentRatio must be a number from 0 to 1, got -1/);
    // Misspelt, as the router's options are: with the nearest known name.
    await assert.rejects(startPlatformEmulator({ sped: 60 } as never), /unknown option sped: did you mean speed\?/);
    await assert.rejects(startPlatformEmulator({ pushRules: { timeOutMs: 1000 } } as never), /did you mean pushRules\.timeoutMs\?/);
  });
});
