// @express-seam: listener failures next to the host's error handling
import assert from 'node:assert/strict';
import request from 'supertest';
import { createUpgradeRouter, type Delivered, type DeviceDelivered, type Rejection } from 'huawei-iot-upgrade-router';
import { CALLBACK_PATH, fixture, fresh, mountedApp, nextOutcome } from './helpers';
import { tick } from './support/wait';

function captureLogger(): { logger: { error(message: string, ...details: unknown[]): void }; lines: unknown[][] } {
  const lines: unknown[][] = [];
  return { logger: { error: (...args: unknown[]) => void lines.push(args) }, lines };
}

function nextError(upgrades: ReturnType<typeof createUpgradeRouter>): Promise<[Error, Delivered | undefined]> {
  return new Promise((resolve) => upgrades.once('error', (error, notification) => resolve([error, notification])));
}

describe('listeners', () => {
  it('the answer goes out before any listener runs: a listener still waiting does not hold it', async () => {
    const { app, upgrades } = mountedApp();
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    let listenerFinished = false;
    upgrades.on('upgradeResult', async () => {
      await released; // released only once the client has its answer: waiting on it here would deadlock
      listenerFinished = true;
    });
    const response = await request(app).post(CALLBACK_PATH).send(fixture('success'));
    assert.equal(response.status, 200);
    assert.equal(listenerFinished, false);
    release();
  });

  it('a listener that throws changes nothing for the sender and is reported as error with the notification', async () => {
    const { app, upgrades } = mountedApp();
    upgrades.on('upgradeResult', () => {
      throw new Error('database down');
    });
    const reported = nextError(upgrades);
    await request(app).post(CALLBACK_PATH).send(fixture('fail')).expect(200, '');
    const [error, notification] = await reported;
    assert.equal(error.message, 'database down');
    assert.deepEqual(notification, fixture('fail'));
  });

  it('a listener whose promise rejects is reported as error', async () => {
    const { app, upgrades } = mountedApp();
    upgrades.on('upgradeResult', async () => {
      // eslint-disable-next-line no-restricted-syntax -- a listener that fails after a turn of the event loop, not at once
      await tick(5);
      throw new Error('queue full');
    });
    const reported = nextError(upgrades);
    await request(app).post(CALLBACK_PATH).send(fixture('success')).expect(200, '');
    const [error, notification] = await reported;
    assert.equal(error.message, 'queue full');
    assert.equal((notification as DeviceDelivered | undefined)?.deviceId, fixture('success').deviceId);
  });

  it('each listener is called on its own: one that throws does not keep the event from the others', async () => {
    const { app, upgrades } = mountedApp();
    const calls: string[] = [];
    const errors: string[] = [];
    upgrades.on('upgradeResult', () => void calls.push('first'));
    upgrades.on('upgradeResult', () => {
      calls.push('second');
      throw new Error('second failed');
    });
    upgrades.on('upgradeResult', () => void calls.push('third'));
    upgrades.on('error', (error) => void errors.push(error.message));
    await request(app).post(CALLBACK_PATH).send(fixture('success')).expect(200, '');
    assert.deepEqual(calls, ['first', 'second', 'third']);
    assert.deepEqual(errors, ['second failed']);
  });

  it('an invalid listener that fails is reported too, without a notification', async () => {
    const { app, upgrades } = mountedApp();
    upgrades.on('invalid', () => {
      throw new Error('logging failed');
    });
    const reported = nextError(upgrades);
    await request(app).post(CALLBACK_PATH).send('nope').expect(200, '');
    const [error, notification] = await reported;
    assert.equal(error.message, 'logging failed');
    assert.equal(notification, undefined);
  });

  it('a thrown non-Error becomes an Error that keeps it as cause', async () => {
    const { app, upgrades } = mountedApp();
    upgrades.on('upgradeResult', () => {
      throw 'just a string'; // eslint-disable-line @typescript-eslint/only-throw-error
    });
    const reported = nextError(upgrades);
    await request(app).post(CALLBACK_PATH).send(fixture('success')).expect(200);
    const [error] = await reported;
    assert.ok(error instanceof Error);
    assert.equal(error.cause, 'just a string');
  });

  describe('with no error listener', () => {
    it('logs the failure through the logger option; nothing crashes and no rejection goes unhandled', async () => {
      const { logger, lines } = captureLogger();
      const { app, upgrades } = mountedApp({ logger });
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        upgrades.on('upgradeResult', () => {
          throw new Error('sync failure');
        });
        upgrades.on('upgradeResult', () => Promise.reject(new Error('async failure')));
        await request(app).post(CALLBACK_PATH).send(fixture('success')).expect(200, '');
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(
          lines.map((line) => (line[1] as Error).message),
          ['sync failure', 'async failure'],
        );
        assert.match(String(lines[0]?.[0]), /no error listener/);
        assert.deepEqual(unhandled, []);
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    });

    it('logs to console by default', async () => {
      const { app, upgrades } = mountedApp();
      const original = console.error;
      const logged: unknown[][] = [];
      console.error = (...args: unknown[]) => void logged.push(args);
      try {
        upgrades.on('upgradeResult', () => {
          throw new Error('to the console');
        });
        await request(app).post(CALLBACK_PATH).send(fixture('success')).expect(200);
      } finally {
        console.error = original;
      }
      assert.equal((logged[0]?.[1] as Error).message, 'to the console');
    });
  });

  it('an error listener that throws or rejects is logged, not rethrown', async () => {
    const { logger, lines } = captureLogger();
    const { app, upgrades } = mountedApp({ logger });
    upgrades.on('upgradeResult', () => {
      throw new Error('first');
    });
    upgrades.on('error', () => {
      throw new Error('error listener broke');
    });
    upgrades.on('error', () => Promise.reject(new Error('error listener rejected')));
    await request(app).post(CALLBACK_PATH).send(fixture('success')).expect(200, '');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      lines.map((line) => [line[0], (line[1] as Error).message]),
      [
        ['huawei-iot-upgrade-router: an error listener failed', 'error listener broke'],
        ['huawei-iot-upgrade-router: an error listener failed', 'error listener rejected'],
      ],
    );
  });

  it('a logger that itself throws is contained', async () => {
    const { app, upgrades } = mountedApp({
      logger: {
        error: () => {
          throw new Error('logger broke');
        },
      },
    });
    upgrades.on('upgradeResult', () => {
      throw new Error('listener broke');
    });
    await request(app).post(CALLBACK_PATH).send(fixture('success')).expect(200, '');
    const outcome = nextOutcome(upgrades);
    await request(app).post(CALLBACK_PATH).send('still serving').expect(200, '');
    assert.equal((await outcome).event, 'invalid');
  });

  describe('emitter methods', () => {
    it('once, off, prependListener, removeAllListeners, listenerCount and listeners behave as on any emitter, and chain', () => {
      const upgrades = createUpgradeRouter({ dedupe: false });
      const order: string[] = [];
      const keep = (): void => void order.push('on');
      const drop = (): void => void order.push('dropped');
      const chained = upgrades
        .on('upgradeResult', keep)
        .addListener('upgradeResult', drop)
        .once('upgradeResult', () => void order.push('once'))
        .prependListener('upgradeResult', () => void order.push('prepended'))
        .prependOnceListener('upgradeResult', () => void order.push('prepended once'))
        .off('upgradeResult', drop);
      assert.equal(chained, upgrades);
      assert.equal(upgrades.listenerCount('upgradeResult'), 4);
      upgrades.receive(fixture('success'));
      upgrades.receive(fixture('success'));
      assert.deepEqual(order, ['prepended once', 'prepended', 'on', 'once', 'prepended', 'on']);
      assert.deepEqual(upgrades.listeners('upgradeResult').length, 2);
      upgrades.removeListener('upgradeResult', keep);
      assert.equal(upgrades.listenerCount('upgradeResult'), 1);
      upgrades.on('invalid', () => {}).removeAllListeners('upgradeResult');
      assert.equal(upgrades.listenerCount('upgradeResult'), 0);
      assert.equal(upgrades.removeAllListeners().listenerCount('invalid'), 0);
    });

    it('calls listeners with the router as this', () => {
      const upgrades = createUpgradeRouter();
      const seen: unknown[] = [];
      upgrades.on('invalid', function (this: unknown) {
        seen.push(this);
      });
      upgrades.receive('not json');
      assert.equal(seen[0], upgrades);
    });
  });

  describe('receive(): the same pipeline without HTTP', () => {
    it('takes an object, text or bytes and returns the event it emitted', () => {
      const upgrades = createUpgradeRouter();
      const rejections: Rejection[] = [];
      upgrades.on('invalid', (rejection) => void rejections.push(rejection));
      assert.equal(upgrades.receive(fresh('success')), 'upgradeResult');
      assert.equal(upgrades.receive(JSON.stringify(fresh('fail'))), 'upgradeResult');
      assert.equal(upgrades.receive(Buffer.from(JSON.stringify(fresh('fail')))), 'upgradeResult');
      assert.equal(upgrades.receive({ notifyType: 'swUpgradeResultNotify' }), 'invalid');
      assert.equal(upgrades.receive(undefined), 'invalid');
      assert.deepEqual(
        rejections.map((rejection) => rejection.reason),
        ['schema', 'malformed'],
      );
    });

    it('fills in the context it is not given', () => {
      const upgrades = createUpgradeRouter();
      let seen: unknown;
      upgrades.on('upgradeResult', (_notification, context) => (seen = context));
      upgrades.receive(fixture('success'), { ip: '192.0.2.1' });
      assert.equal((seen as { ip: string }).ip, '192.0.2.1');
      assert.ok((seen as { receivedAt: Date }).receivedAt instanceof Date);
    });
  });

  describe('the emitter as users know it', () => {
    it('a once listener runs once, with the router as this, like an on listener', () => {
      const upgrades = createUpgradeRouter({ dedupe: false });
      const thisValues: unknown[] = [];
      upgrades.once('upgradeResult', function (this: unknown) {
        thisValues.push(this);
      });
      upgrades.on('upgradeResult', function (this: unknown) {
        thisValues.push(this);
      });
      upgrades.receive(fresh('success'));
      upgrades.receive(fresh('success'));
      assert.equal(thisValues.length, 3);
      for (const value of thisValues) assert.equal(value, upgrades);
      assert.equal(upgrades.listenerCount('upgradeResult'), 1);
    });

    it('setMaxListeners on the router raises the limit, and the leak warning names the router', async () => {
      const warnings: Error[] = [];
      const onWarning = (warning: Error): number => warnings.push(warning);
      process.on('warning', onWarning);
      try {
        const quiet = createUpgradeRouter().setMaxListeners(20);
        assert.equal(quiet.getMaxListeners(), 20);
        for (let i = 0; i < 20; i += 1) quiet.on('upgradeResult', () => {});
        const noisy = createUpgradeRouter();
        for (let i = 0; i < 11; i += 1) noisy.on('upgradeResult', () => {});
        await new Promise((resolve) => setImmediate(resolve));
        assert.equal(warnings.length, 1);
        assert.match(warnings[0]?.message ?? '', /11 upgradeResult listeners added to \[UpgradeRouter\]/);
      } finally {
        process.off('warning', onWarning);
      }
    });
  });
});
