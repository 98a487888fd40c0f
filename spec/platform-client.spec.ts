// @runtime-seam: fetch, TLS and client certificates of this Node
// The northbound client, driven against the emulator over real HTTPS: login rules, the
// token shared by concurrent calls, re-login once on 1010005 in either envelope, the rate limit,
// retries, TLS verification and client certificates, paging, and every failure as a PlatformError.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { createPlatformClient, PlatformError, type PlatformClient, type PlatformClientOptions } from 'huawei-iot-upgrade-router/platform';
import { startPlatformEmulator, type PlatformEmulator, type PlatformEmulatorOptions } from 'huawei-iot-upgrade-router/emulator';
import { testTls } from './support/platform';
import { tick } from './support/wait';

const devices = (n: number, prefix = 'meter'): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe('platform client against the emulator (HTTPS)', function () {
  let emulator: PlatformEmulator;
  let clients: PlatformClient[] = [];

  async function start(options: PlatformEmulatorOptions = {}): Promise<PlatformEmulator> {
    const { tls } = await testTls();
    emulator = await startPlatformEmulator({ tls, ...options });
    return emulator;
  }

  async function client(options: Partial<PlatformClientOptions> = {}): Promise<PlatformClient> {
    const { certificates } = await testTls();
    const made = createPlatformClient({ url: emulator.url, appId: emulator.appId, secret: emulator.secret, ca: certificates.ca, retryDelayMs: 10, ...options });
    clients.push(made);
    return made;
  }

  afterEach(async () => {
    await Promise.all(clients.map((made) => made.close()));
    clients = [];
    await emulator.close();
  });

  it('logs in once, creates a task, reads it back and pages through its sub-tasks 100 at a time', async () => {
    await start({ devices: { durationMs: 1_000 } });
    const platform = await client();
    const { operationId } = await platform.createSoftwareUpgradeTask({ fileId: emulator.packages.software.fileId, targets: { devices: devices(250) } });
    const task = await platform.getTask(operationId);
    assert.equal(task.operationId, operationId);
    assert.equal(task.operateType, 'software_upgrade');
    assert.equal(task.staResult.total, 250);
    assert.match(task.createTime, /^\d{8}T\d{6}Z$/);
    const seen = new Set<string>();
    for await (const subTask of platform.subTasks(operationId)) seen.add(subTask.deviceId);
    assert.equal(seen.size, 250);
    // 1 create + 1 get + 3 pages (100, 100, 50); one login for all of them.
    assert.deepEqual(platform.stats(), { calls: 6, logins: 1, refreshes: 0 });
    assert.deepEqual(emulator.sessions(), { logins: 1, refreshes: 0 });
    const page = await platform.listSubTasks(operationId, { pageNo: 2, pageSize: 100 });
    assert.deepEqual([page.data.length, page.pageNo, page.totalCount], [50, 2, 250]);
  });

  it('lists a device\'s tasks, filters sub-tasks by state, and reads the packages', async () => {
    await start({ speed: 100, devices: { durationMs: 1_000, failureRatio: 0.5 } });
    const platform = await client();
    const { operationId } = await platform.createFirmwareUpgradeTask({ fileId: emulator.packages.firmware.fileId, targets: { devices: devices(40) } });
    await platform.createFirmwareUpgradeTask({ fileId: emulator.packages.firmware.fileId, targets: { devices: ['other'] } });
    const mine: string[] = [];
    for await (const task of platform.tasks({ deviceId: 'meter-7' })) mine.push(task.operationId);
    assert.deepEqual(mine, [operationId]);
    await emulator.settled();
    const failed: string[] = [];
    for await (const subTask of platform.subTasks(operationId, { status: 'fail' })) {
      assert.equal(subTask.status, 'fail');
      assert.ok(subTask.detailInfo !== undefined && subTask.detailInfo.length > 0);
      failed.push(subTask.deviceId);
    }
    const task = await platform.getTask(operationId);
    assert.equal(task.staResult.fail, failed.length);
    assert.equal(task.staResult.success + task.staResult.fail, 40);
    assert.ok(failed.length > 5 && failed.length < 35, `about half fail: ${failed.length}`);
    assert.equal(task.status, 'failed');
    const packages = await platform.listPackages({ fileType: 'firmwarePackage' });
    assert.deepEqual(
      packages.data.map((row) => row.version),
      ['FW_1.1.0'],
    );
    assert.equal((await platform.getPackage(emulator.packages.software.fileId)).version, 'V2.1.0');
    assert.equal('fromVersion' in (await platform.getPackage(emulator.packages.software.fileId)), false);
  });

  it('makes the four upgrade subscriptions exist, idempotently', async () => {
    await start();
    const platform = await client();
    await assert.rejects(platform.deleteSubscription('none-yet'), (error: PlatformError) => error.status === 404);
    const url = 'https://127.0.0.1:8443/v1.0.0/messageReceiver';
    assert.deepEqual((await platform.ensureSubscriptions(url)).created.length, 4);
    assert.deepEqual(await platform.ensureSubscriptions(url), {
      created: [],
      existing: ['swUpgradeStateChangeNotify', 'swUpgradeResultNotify', 'fwUpgradeStateChangeNotify', 'fwUpgradeResultNotify'],
    });
    // One type moved elsewhere (by hand, say): ensureSubscriptions brings it back, touches nothing else.
    await platform.subscribe('swUpgradeResultNotify', 'https://127.0.0.1:9443/elsewhere');
    assert.deepEqual((await platform.ensureSubscriptions(url)).created, ['swUpgradeResultNotify']);
    const listed = await platform.listSubscriptions();
    assert.equal(listed.totalCount, 4);
    assert.deepEqual((await platform.listSubscriptions({ notifyType: 'fwUpgradeResultNotify' })).data.map((row) => row.notifyType), ['fwUpgradeResultNotify']);
    assert.equal((await platform.listSubscriptions({ callbackUrl: 'https://127.0.0.1:9443/elsewhere' })).totalCount, 0);
    assert.ok(listed.data.every((row) => row.callbackUrl === url && row.subscriptionId.length > 0));
    await platform.deleteSubscription((listed.data[0] as { subscriptionId: string }).subscriptionId);
    assert.equal((await platform.listSubscriptions()).totalCount, 3);
    await assert.rejects(platform.deleteSubscription('no-such-id'), (error: PlatformError) => error.status === 404);
  });

  it('shares one login between concurrent calls, and between clients of the same appId', async () => {
    await start();
    const first = await client();
    const second = await client();
    await Promise.all([...Array.from({ length: 8 }, () => first.listTasks()), ...Array.from({ length: 8 }, () => second.listTasks())]);
    assert.equal(emulator.sessions().logins, 1);
  });

  it('logs in again once when another login replaced its token, and the call succeeds', async () => {
    await start();
    const platform = await client();
    await platform.listTasks();
    // Somebody else logs in with the same appId: the platform keeps only the newest token.
    const thief = await request(`${emulator.url}/iocm/app/sec/v1.1.0/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ appId: emulator.appId, secret: emulator.secret }).toString(),
      dispatcher: new (await import('undici')).Agent({ connect: { ca: (await testTls()).certificates.ca } }),
    });
    assert.equal(thief.statusCode, 200);
    await thief.body.dump();
    assert.equal((await platform.listTasks()).totalCount, 0);
    assert.equal(emulator.sessions().logins, 3);
  });

  for (const envelope of ['resultcode', 'error_code'] as const) {
    it(`reads 1010005 in the ${envelope} envelope: re-login once, retry once, never a loop`, async () => {
      await start();
      const platform = await client();
      await platform.listTasks();
      emulator.inject({ kind: 'expiredToken', envelope, times: 1 });
      await platform.listTasks();
      assert.equal(emulator.sessions().logins, 2);
      emulator.inject({ kind: 'expiredToken', envelope, times: 5 });
      await assert.rejects(platform.listTasks(), (error: PlatformError) => {
        assert.ok(error instanceof PlatformError);
        assert.deepEqual([error.status, error.code, error.description], [403, '1010005', 'Invalid access token or appId.']);
        assert.match(error.message, /GET \/iodm\/northbound\/v1\.5\.0\/operations: HTTP 403 1010005/);
        return true;
      });
      // One more login for that call, not five.
      assert.equal(emulator.sessions().logins, 3);
    });
  }

  it('two calls refused at once with 1010005 make one login between them', async () => {
    await start();
    const platform = await client();
    await platform.listTasks();
    emulator.inject({ kind: 'expiredToken', times: 2 });
    await Promise.all([platform.listTasks(), platform.listTasks()]);
    assert.equal(emulator.sessions().logins, 2);
  });

  it('refreshes the token before it expires, and logs in when the refresh is refused', async () => {
    await start({ tokenLifetimeS: 1 });
    const platform = await client();
    await platform.listTasks();
    // eslint-disable-next-line no-restricted-syntax -- the token's lifetime (1 s) is time itself
    await tick(950);
    await platform.listTasks();
    assert.deepEqual(emulator.sessions(), { logins: 1, refreshes: 1 });
    // A refresh token the platform no longer knows (a restart, a month gone): back to a login.
    emulator.advance(2 * 86_400_000);
    // eslint-disable-next-line no-restricted-syntax -- the token's lifetime (1 s) is time itself
    await tick(950);
    await platform.listTasks();
    assert.deepEqual(emulator.sessions(), { logins: 2, refreshes: 1 });
    assert.deepEqual(platform.stats().refreshes, 2);
  });

  it('keeps under the rate limit itself; without its own limit the platform throttles (control)', async () => {
    await start({ rateLimit: { calls: 3, windowMs: 400 } });
    const careful = await client({ rateLimit: { calls: 3, windowMs: 500 }, retries: 0 });
    await Promise.all(Array.from({ length: 7 }, () => careful.listTasks()));
    const careless = await client({ rateLimit: false, retries: 0 });
    // eslint-disable-next-line no-restricted-syntax -- the rate window is time itself: the careful client's calls must have left it
    await tick(450);
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => careless.listTasks()));
    const throttled = outcomes.filter((outcome) => outcome.status === 'rejected' && (outcome.reason as PlatformError).code === '1010009');
    assert.equal(throttled.length, 2);
  });

  it('waits and retries after 1010009, 502, 503 and 504; gives up after `retries`', async () => {
    await start();
    const platform = await client({ rateLimit: { calls: 100, windowMs: 50 }, retries: 3 });
    await platform.listTasks();
    emulator.inject({ kind: 'throttle' });
    emulator.inject({ kind: 'status', status: 503 });
    emulator.inject({ kind: 'status', status: 502 });
    await platform.listTasks();
    assert.equal(platform.stats().calls, 1 + 1 + 4);
    emulator.inject({ kind: 'status', status: 504, times: 4 });
    await assert.rejects(platform.listTasks(), (error: PlatformError) => error.status === 504 && error.code === '50252');
  });

  it('never repeats a task creation the platform may have done (a 5xx is thrown at once)', async () => {
    await start();
    const platform = await client();
    emulator.inject({ kind: 'status', status: 503, path: '/iodm/northbound/v1.5.0/operations/softwareUpgrade' });
    const calls = platform.stats().calls;
    await assert.rejects(platform.createSoftwareUpgradeTask({ fileId: emulator.packages.software.fileId, targets: { devices: ['a'] } }), (error: PlatformError) => error.status === 503);
    assert.equal(platform.stats().calls - calls, 2, 'a login and one try');
  });

  it('gives a PlatformError for every refusal: codes from the reference, in the documented envelope', async () => {
    await start();
    const platform = await client();
    const refusal = async (call: Promise<unknown>): Promise<string> => {
      try {
        await call;
      } catch (error) {
        assert.ok(error instanceof PlatformError);
        return `${error.status} ${error.code ?? '-'}`;
      }
      assert.fail('the platform accepted it');
    };
    const fileId = emulator.packages.software.fileId;
    assert.equal(await refusal(platform.getTask('nope')), '404 123009');
    assert.equal(await refusal(platform.listSubTasks('nope')), '404 123009');
    assert.equal(await refusal(platform.listTasks({ pageSize: 101 })), '400 123029');
    assert.equal(await refusal(platform.listTasks({ pageNo: -1 })), '400 123029');
    assert.equal(await refusal(platform.getPackage('nope')), '404 123002');
    assert.equal(await refusal(platform.createSoftwareUpgradeTask({ fileId, targets: { devices: devices(257) } })), '400 123024');
    assert.equal(await refusal(platform.createSoftwareUpgradeTask({ fileId, targets: { devices: [] } })), '400 123022');
    assert.equal(await refusal(platform.createSoftwareUpgradeTask({ fileId, targets: { devices: ['a'], deviceGroups: ['g'] } })), '400 123023');
    assert.equal(await refusal(platform.createSoftwareUpgradeTask({ fileId, targets: {} as never })), '400 123022');
    assert.equal(await refusal(platform.createSoftwareUpgradeTask({ fileId, targets: { devices: ['a'] }, policy: { executeType: 'later' } })), '400 123025');
    assert.equal(await refusal(platform.createSoftwareUpgradeTask({ fileId, targets: { devices: ['a'] }, policy: { retryType: true, retryTimes: 9 } })), '400 123028');
    assert.equal(await refusal(platform.createFirmwareUpgradeTask({ fileId, targets: { devices: ['a'] } })), '400 120015');
    assert.equal(await refusal(platform.createSoftwareUpgradeTask({ fileId: 'nope', targets: { devices: ['a'] } })), '404 123002');
    assert.equal(await refusal(platform.createSoftwareUpgradeTask({ fileId, targets: { devices: 'a' } as never })), '400 120015');
    const group = { deviceType: 'WaterMeter', model: 'NBIoTDevice', manufacturerName: 'Huawei' };
    assert.equal(await refusal(platform.createSoftwareUpgradeTask({ fileId, targets: { deviceGroups: 'g', ...group } as never })), '400 120015');
    assert.equal(await refusal(platform.createSoftwareUpgradeTask({ fileId, targets: { deviceGroups: devices(257), ...group } })), '400 123024');
    assert.equal(await refusal(platform.createSoftwareUpgradeTask({ fileId, targets: { deviceGroups: ['missing'], ...group } })), '404 123002');
    assert.equal(await refusal(platform.createSoftwareUpgradeTask({ fileId, targets: { deviceGroups: ['g'], ...group, model: 'Other' } })), '400 123016');
    assert.equal(await refusal(platform.createSoftwareUpgradeTask({ fileId, targets: { deviceGroups: ['g'], ...group, deviceType: '' } })), '400 123020');
    assert.equal(await refusal(platform.subscribe('deviceAdded' as never, 'https://127.0.0.1:1/x')), '400 120015');
    assert.equal(await refusal(platform.subscribe('swUpgradeResultNotify', 'ftp://127.0.0.1/x')), '400 120015');
    const wrong = await client({ appId: 'unknown-app', secret: 'wrong' });
    assert.equal(await refusal(wrong.listTasks()), '401 100208');
  });

  it('says a task\'s status from its devices: wait, processing while one is silent, success when all are', async () => {
    await start({ speed: 100, devices: { durationMs: 1e12, failureRatio: 0 } });
    const platform = await client();
    const fileId = emulator.packages.firmware.fileId;
    const waiting = (await platform.createFirmwareUpgradeTask({ fileId, targets: { devices: devices(3) } })).operationId;
    assert.equal((await platform.getTask(waiting)).status, 'wait');
    // Those devices take (emulated) decades: move the clock past them.
    emulator.advance(2e12);
    emulator.setBehaviour({ durationMs: 1_000, failureRatio: 0, silentRatio: 1 });
    const silent = (await platform.createFirmwareUpgradeTask({ fileId, targets: { devices: devices(3, 'quiet') } })).operationId;
    emulator.setBehaviour({ silentRatio: 0 });
    const done = (await platform.createFirmwareUpgradeTask({ fileId, targets: { devices: devices(3, 'fine') } })).operationId;
    await emulator.settled();
    const quiet = await platform.getTask(silent);
    assert.deepEqual([quiet.status, quiet.staResult.processing, quiet.stopTime], ['processing', 3, undefined]);
    const fine = await platform.getTask(done);
    assert.deepEqual([fine.status, fine.staResult.success], ['success', 3]);
    assert.match(fine.stopTime ?? '', /^\d{8}T\d{6}Z$/);
    const byStatus = async (operationStatus: 'success' | 'processing'): Promise<string[]> => (await platform.listTasks({ operationStatus, operationType: 'firmware_upgrade' })).data.map((task) => task.operationId);
    assert.deepEqual(await byStatus('success'), [waiting, done]);
    assert.deepEqual(await byStatus('processing'), [silent]);
    assert.equal((await platform.listTasks({ operationType: 'software_upgrade' })).totalCount, 0);
  });

  it('upgrades every device of a device group, beyond the 256 IDs one task may list', async () => {
    await start({ speed: 200, devices: { durationMs: 2_000 } });
    emulator.addDeviceGroup('district-7', devices(300));
    const platform = await client();
    const { operationId } = await platform.createSoftwareUpgradeTask({
      fileId: emulator.packages.software.fileId,
      targets: { deviceGroups: ['district-7'], deviceType: 'WaterMeter', model: 'NBIoTDevice', manufacturerName: 'Huawei' },
    });
    assert.equal((await platform.getTask(operationId)).staResult.total, 300);
  });

  it('verifies the platform\'s certificate: refuses an unknown CA, unless told this is a lab', async () => {
    await start();
    const other = await (await import('huawei-iot-upgrade-router/emulator')).createTestCertificates();
    const strict = await client({ ca: other.ca, retries: 0 });
    await assert.rejects(strict.listTasks(), (error: PlatformError) => error.status === 0 && /CERT|SIGNATURE|VERIFY/.test(error.description));
    const lab = await client({ ca: other.ca, rejectUnauthorized: false, retries: 0 });
    assert.equal((await lab.listTasks()).totalCount, 0);
  });

  it('presents a client certificate to a platform that asks for one', async () => {
    const { certificates, tls } = await testTls();
    await start({ tls: { ...tls, ca: certificates.ca, requestCert: true } });
    const without = await client({ retries: 0 });
    await assert.rejects(without.listTasks(), (error: PlatformError) => error.status === 0);
    const withCert = await client({ cert: tls.cert, key: tls.key, retries: 0 });
    assert.equal((await withCert.listTasks()).totalCount, 0);
  });

  it('gives up on a slow answer after timeoutMs, and on no server at all', async () => {
    await start();
    const platform = await client({ timeoutMs: 200, retries: 0 });
    await platform.login();
    emulator.inject({ kind: 'slow', delayMs: 1_000 });
    await assert.rejects(platform.listTasks(), (error: PlatformError) => error.status === 0);
    // A proxy in the way answers in text, not the platform's JSON: the status and the text come through.
    const proxy = createServer((_req, res) => res.writeHead(502).end('Bad Gateway'));
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()));
    const behindProxy = createPlatformClient({ url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, appId: 'proxied', secret: 'b', retries: 0 });
    clients.push(behindProxy);
    await assert.rejects(behindProxy.listTasks(), (error: PlatformError) => error.status === 502 && error.code === undefined && error.description === 'Bad Gateway');
    proxy.close();
    const nowhere = createPlatformClient({ url: 'https://127.0.0.1:1', appId: 'a', secret: 'b', retries: 0 });
    clients.push(nowhere);
    await assert.rejects(nowhere.listTasks(), (error: PlatformError) => error.status === 0 && error.description === 'ECONNREFUSED');
  });

  it('refuses options it cannot use, at once', () => {
    assert.throws(() => createPlatformClient({ url: 'ftp://x', appId: 'a', secret: 'b' }), /url must be http\(s\)/);
    assert.throws(() => createPlatformClient({ url: 'https://x', appId: '', secret: 'b' }), /appId must be a non-empty string/);
    assert.throws(() => createPlatformClient({ url: 'https://x', appId: 'a', secret: 'b', retries: -1 }), /retries must be a whole number/);
    // Checked like every factory's options: a misspelt key, a value of the wrong kind, a missing secret.
    const unchecked = (options: Record<string, unknown>) => () => createPlatformClient({ url: 'https://x', appId: 'a', secret: 'b', ...options });
    assert.throws(unchecked({ retry: 2 }), /unknown option retry; known options: url, appId, secret/);
    assert.throws(unchecked({ ca: 42 }), /ca must be PEM text or a Buffer, got 42/);
    assert.throws(unchecked({ rateLimit: { calls: 0, windowMs: 60_000 } }), /rateLimit\.calls must be a positive whole number/);
    assert.throws(unchecked({ url: 'not a url' }), /url must be http\(s\), got "not a url"/);
    assert.throws(unchecked({ secret: undefined }), /secret is required/);
    assert.doesNotThrow(unchecked({ retries: 0, rateLimit: false, ca: ['-----BEGIN CERTIFICATE-----'] }));
  });
});
