// @runtime-seam: HTTPS server and client of this Node
// The emulator's pushes against a real receiver (the package's router over HTTPS, verified with the
// CA the emulator is given): a slow answer or a 501-504 is re-sent, nothing else is; ten failures
// in a row make the callback URL invalid, a probe brings it back; a receiver down for longer than
// the 10-minute re-send window loses the pushes, and the emulator says which.
import assert from 'node:assert/strict';
import type { Response } from 'express';
import { createPlatformClient, type PlatformClient } from 'huawei-iot-upgrade-router/platform';
import { startPlatformEmulator, type PlatformEmulator, type PushRecord } from 'huawei-iot-upgrade-router/emulator';
import type { Express } from './express';
import { startHttpsReceiver, testTls, type HttpsReceiver } from './support/platform';
import { tick, until } from './support/wait';

const MINUTE = 60_000;

describe('emulator pushes to a real receiver', function () {
  let emulator: PlatformEmulator;
  let platform: PlatformClient;
  let receivers: HttpsReceiver[] = [];
  const events: string[] = [];

  /** A push's time-out is real time (the platform's 15 s unless a spec is about late answers); re-sends are brought forward with advance(). */
  async function start(timeoutMs = 15_000): Promise<void> {
    const { certificates, tls } = await testTls();
    emulator = await startPlatformEmulator({ tls, receiverCa: certificates.ca, speed: 20, devices: { durationMs: 1_000, failureRatio: 0 }, pushRules: { timeoutMs } });
    platform = createPlatformClient({ url: emulator.url, appId: emulator.appId, secret: emulator.secret, ca: certificates.ca });
  }

  beforeEach(async () => {
    await start();
    events.length = 0;
  });

  afterEach(async () => {
    await Promise.all(receivers.map((receiver) => receiver.close()));
    receivers = [];
    await platform.close();
    await emulator.close();
  });

  async function receiver(port = 0, before?: (app: Express) => void): Promise<HttpsReceiver> {
    const started = await startHttpsReceiver({}, port, before);
    for (const event of ['upgradeResult', 'duplicate', 'invalid'] as const) started.upgrades.on(event, () => events.push(event));
    receivers.push(started);
    // Only the results: one push per device keeps the counts readable.
    await platform.subscribe('swUpgradeResultNotify', started.url);
    return started;
  }

  async function upgrade(count: number): Promise<string> {
    const devices = Array.from({ length: count }, (_, i) => `meter-${i}`);
    return (await platform.createSoftwareUpgradeTask({ fileId: emulator.packages.software.fileId, targets: { devices } })).operationId;
  }

  /** A host whose answers leave once `release()` resolves after the router wrote them: the first `times` (default all). */
  const answeringLate =
    (release: () => Promise<unknown>, times = Infinity) =>
    (app: Express): void => {
      let left = times;
      app.use((_req, res: Response, next) => {
        if (left > 0) {
          left -= 1;
          const end = res.end.bind(res) as (...args: unknown[]) => Response;
          res.end = ((...args: unknown[]) => {
            void release().then(() => end(...args), () => end(...args));
            return res;
          }) as Response['end'];
        }
        next();
      });
    };

  const results = (operationId: string): PushRecord[] => emulator.pushes({ operationId, notifyType: 'swUpgradeResultNotify' });

  it('re-sends a push answered too late, the same body; the router takes the second for a duplicate', async () => {
    await platform.close();
    await emulator.close();
    await start(1_000);
    // The router has the push; its 200 leaves only once the emulator has given up on it (1 s here).
    let operationId = '';
    await receiver(0, answeringLate(() => until(() => results(operationId)[0]?.lastError !== undefined, 'the first try to time out'), 1));
    operationId = await upgrade(1);
    await until(() => results(operationId)[0]?.lastError !== undefined, 'the first try to time out');
    assert.match(results(operationId)[0]?.lastError ?? '', /no answer within 1 s/);
    emulator.advance(MINUTE);
    await until(() => results(operationId)[0]?.status === 'delivered', 'the re-send');
    assert.deepEqual(events, ['upgradeResult', 'duplicate']);
    assert.equal(results(operationId)[0]?.attempts, 2);
  });

  it('at speed 60 a receiver that answers in 400 ms gets each push once: the 15 s answer time-out is real time', async () => {
    const { certificates, tls } = await testTls();
    const fast = await startPlatformEmulator({ tls, receiverCa: certificates.ca, speed: 60, devices: { durationMs: 60_000, failureRatio: 0 } });
    const client = createPlatformClient({ url: fast.url, appId: fast.appId, secret: fast.secret, ca: certificates.ca });
    try {
      // eslint-disable-next-line no-restricted-syntax -- a receiver that takes 400 ms to answer is what is under test
      await receiver(0, answeringLate(() => tick(400)));
      await client.subscribe('swUpgradeResultNotify', receivers[0]?.url ?? '');
      const { operationId } = await client.createSoftwareUpgradeTask({ fileId: fast.packages.software.fileId, targets: { devices: ['a', 'b', 'c'] } });
      fast.advance(2 * MINUTE);
      await fast.settled();
      const pushed = fast.pushes({ operationId, notifyType: 'swUpgradeResultNotify' });
      assert.deepEqual(pushed.map((record) => [record.status, record.attempts]), [['delivered', 1], ['delivered', 1], ['delivered', 1]]);
      assert.deepEqual(events.filter((event) => event === 'duplicate'), []);
    } finally {
      await client.close();
      await fast.close();
    }
  });

  it('re-sends after 501, 502, 503 and 504; a 500 or a 400 ends the push (the platform retries nothing else)', async () => {
    const answers = [501, 502, 503, 504, 500, 400];
    await receiver(0, (app) => {
      app.use((_req, res: Response, next) => {
        const status = answers.shift();
        if (status === undefined) next();
        else res.status(status).end();
      });
    });
    const operationId = await upgrade(1);
    for (let attempt = 1; attempt <= 4; attempt += 1) {
      await until(() => results(operationId)[0]?.attempts === attempt && emulator.callbacks()[0]?.inFlight === 0, `try ${attempt}`);
      assert.equal(results(operationId)[0]?.lastError, `HTTP ${500 + attempt}`);
      emulator.advance(MINUTE);
    }
    await until(() => results(operationId)[0]?.status === 'delivered', 'the end of the push');
    assert.deepEqual([results(operationId)[0]?.attempts, results(operationId)[0]?.answer], [5, 500]);
    const second = await upgrade(1);
    await until(() => results(second)[0]?.status === 'delivered', 'the 400');
    emulator.advance(5 * MINUTE);
    assert.deepEqual([results(second)[0]?.attempts, results(second)[0]?.answer], [1, 400]);
    assert.deepEqual(events, []);
  });

  it('marks the URL invalid after 10 failures in a row, probes it, and delivers what waited once it answers', async () => {
    const down = await receiver();
    await down.close();
    const operationId = await upgrade(12);
    const attempts = (): number => results(operationId).reduce((sum, record) => sum + record.attempts, 0);
    // Ten failures make the URL invalid; results that come later are held, not tried.
    await until(() => results(operationId).length === 12 && emulator.callbacks()[0]?.state === 'invalid' && emulator.callbacks()[0]?.inFlight === 0, 'ten failed tries');
    assert.equal(results(operationId)[0]?.lastError, 'ECONNREFUSED');
    assert.ok((emulator.callbacks()[0]?.failures ?? 0) >= 10);
    const tried = attempts();
    assert.ok(tried >= 10 && tried <= 12, `${tried} tries`);
    // A minute on, still down: an invalid URL gets one probe, not a re-send of each push.
    emulator.advance(MINUTE);
    await until(() => attempts() === tried + 1 && emulator.callbacks()[0]?.inFlight === 0, 'the probe');
    assert.equal(emulator.callbacks()[0]?.state, 'invalid');
    // Back up on the same address: the next probe is answered, the URL is valid again, the rest follow.
    await receiver(down.port);
    emulator.advance(MINUTE);
    await until(() => emulator.pushSummary({ operationId }).delivered === 12, 'the probe, then the rest');
    assert.equal(emulator.callbacks()[0]?.state, 'valid');
    assert.deepEqual(events, Array.from({ length: 12 }, () => 'upgradeResult'));
  });

  it('gives up on pushes a receiver missed for longer than the 10-minute window, and says which', async () => {
    const down = await receiver();
    await down.close();
    const operationId = await upgrade(5);
    await until(() => results(operationId).length === 5 && results(operationId).every((record) => record.lastError !== undefined), 'the first tries');
    for (let minute = 1; minute <= 12; minute += 1) {
      emulator.advance(MINUTE);
      // Each minute's re-sends (or probe) run before the next minute.
      await until(() => emulator.callbacks()[0]?.inFlight === 0, `minute ${minute}`);
    }
    await emulator.settled();
    assert.deepEqual(emulator.pushSummary({ operationId }), { total: 5, pending: 0, delivered: 0, failed: 5, dropped: 0 });
    // The receiver comes back: nothing of that task arrives any more; only the platform knows the results.
    await receiver(down.port);
    let succeeded = 0;
    for await (const subTask of platform.subTasks(operationId, { status: 'success' })) if (results(operationId).some((record) => record.deviceId === subTask.deviceId)) succeeded += 1;
    assert.equal(succeeded, 5);
    assert.deepEqual(events, []);
  });

  it('loses the pushes a dropPushes fault asks for, on the platform\'s side', async () => {
    await receiver();
    emulator.inject({ kind: 'dropPushes', times: 2 });
    const operationId = await upgrade(5);
    await until(() => results(operationId).length === 5 && emulator.pushSummary({ operationId }).pending === 0, 'the five results');
    assert.deepEqual(emulator.pushSummary({ operationId, notifyType: 'swUpgradeResultNotify' }), { total: 5, pending: 0, delivered: 3, failed: 0, dropped: 2 });
    assert.equal(events.length, 3);
  });
});
