// @express-seam: errors handed to the host's next() and error handlers
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import request from 'supertest';
import { createUpgradeRouter, type Logger, type UpgradeRouterOptions } from 'huawei-iot-upgrade-router';
import express from './express';
import { CALLBACK_PATH, fresh, mountedApp, recordEvents } from './helpers';

/** A logger that keeps what it is given, warnings and errors apart. */
function capture(): { logger: Logger; warnings: string[]; errors: string[] } {
  const warnings: string[] = [];
  const errors: string[] = [];
  return { logger: { warn: (message: string) => void warnings.push(message), error: (message: string) => void errors.push(message) }, warnings, errors };
}

const events = (seen: ReturnType<typeof recordEvents>): string[] => seen.map((e) => e.event);

describe('fail safe: a wrong setting never silently drops results', () => {
  describe('access control that cannot eat results by accident', () => {
    it("a refused push's body is read and handed over, so it can be replayed", async () => {
      const { app, upgrades } = mountedApp({ allow: { token: 'right' } });
      const seen = recordEvents(upgrades);
      const notification = fresh('success');
      await request(app).post(`${CALLBACK_PATH}?token=wrong`).send(notification).expect(200, '');
      const rejection = seen[0]?.args[0] as { reason: string; raw?: Buffer; body?: unknown };
      assert.equal(rejection.reason, 'forbidden');
      assert.deepEqual(rejection.body, notification);
      assert.deepEqual(JSON.parse(rejection.raw?.toString() ?? ''), notification);
      // The repair: replay what was refused once the configuration is fixed.
      assert.equal(await upgrades.receive(rejection.raw), 'upgradeResult');
      assert.deepEqual(seen[1]?.args[0], notification);
    });

    it('a refused push whose body a host parser read carries that body too', async () => {
      const { app, upgrades } = mountedApp({ allow: { ips: ['192.0.2.0/24'] } }, (host) => host.use(express.json()));
      const seen = recordEvents(upgrades);
      const notification = fresh('fail');
      await request(app).post(CALLBACK_PATH).send(notification).expect(200, '');
      assert.deepEqual((seen[0]?.args[0] as { body?: unknown }).body, notification);
    });

    it("allow.mode 'report': the caller is served as usual, and a forbidden event says it would have been refused", async () => {
      const { app, upgrades } = mountedApp({ allow: { ips: ['192.0.2.0/24'], mode: 'report' } });
      const seen = recordEvents(upgrades);
      const forbidden: Array<{ message: string }> = [];
      upgrades.on('forbidden', (rejection) => void forbidden.push(rejection));
      await request(app).post(CALLBACK_PATH).send(fresh('success')).expect(200, '');
      assert.deepEqual(events(seen), ['upgradeResult']);
      assert.equal(forbidden.length, 1);
      assert.match(forbidden[0]?.message ?? '', /is not in allow\.ips/);
      const stats = upgrades.stats();
      assert.equal(stats.forbiddenReported, 1);
      assert.equal(stats.invalid.forbidden, 0);
      assert.equal(stats.received, 1);
    });

    it("X-Forwarded-For with allow.ips and 'trust proxy' off: one warning, not one per request", async () => {
      const log = capture();
      const { app } = mountedApp({ allow: { ips: ['203.0.113.0/24'] }, logger: log.logger });
      for (let i = 0; i < 3; i += 1) await request(app).post(CALLBACK_PATH).set('X-Forwarded-For', '203.0.113.7').send(fresh('success')).expect(200, '');
      assert.equal(log.warnings.length, 1);
      assert.match(log.warnings[0] ?? '', /X-Forwarded-For but Express's 'trust proxy' is off.*app\.set\('trust proxy'/);
    });

    it("no such warning when 'trust proxy' is on, or without the header", async () => {
      const log = capture();
      const { app } = mountedApp({ allow: { ips: ['203.0.113.0/24'] }, logger: log.logger }, (host) => host.set('trust proxy', true));
      await request(app).post(CALLBACK_PATH).set('X-Forwarded-For', '203.0.113.7').send(fresh('success')).expect(200, '');
      const plain = mountedApp({ allow: { ips: ['127.0.0.0/8', '::1'] }, logger: log.logger });
      await request(plain.app).post(CALLBACK_PATH).send(fresh('success')).expect(200, '');
      assert.deepEqual(
        log.warnings.filter((w) => w.includes('X-Forwarded-For')),
        [],
      );
    });
  });

  describe('nothing arrives unheard', () => {
    it('a notification whose event has no listener: one warning per event name, later ones counted', async () => {
      const log = capture();
      const { app, upgrades } = mountedApp({ logger: log.logger });
      upgrades.on('upgradeResult', () => {});
      for (let i = 0; i < 3; i += 1) {
        await request(app).post(CALLBACK_PATH).send({ ...fresh('success'), notifyType: 'fwUpgradeResultNotify', status: 'FAIL', statusDesc: 'x' }).expect(200, '');
      }
      await request(app).post(CALLBACK_PATH).send(fresh('success')).expect(200, '');
      // A re-send is a duplicate, not a notification nobody heard: not counted again.
      const resent = { ...fresh('success'), notifyType: 'fwUpgradeResultNotify', status: 'SUCCESS', statusDesc: 'ok' };
      await request(app).post(CALLBACK_PATH).send(resent).expect(200, '');
      await request(app).post(CALLBACK_PATH).send(resent).expect(200, '');
      assert.equal(log.warnings.length, 1);
      assert.match(log.warnings[0] ?? '', /'firmwareUpgradeResult' was emitted with no listener .*router\.on\('firmwareUpgradeResult'/);
      assert.deepEqual(upgrades.stats().unheard, { upgradeResult: 0, upgradeState: 0, firmwareUpgradeResult: 4, firmwareUpgradeState: 0, batchTaskUpdate: 0, batchTaskStatusUpdate: 0 });
    });

    it("'notification' carries every valid notification whatever its type, after its own event, never a duplicate", async () => {
      const log = capture();
      const { app, upgrades } = mountedApp({ logger: log.logger });
      const order: string[] = [];
      upgrades.on('upgradeResult', () => void order.push('upgradeResult'));
      upgrades.on('notification', (notification) => void order.push(`notification ${'notifyType' in notification ? notification.notifyType : notification.resource}`));
      const repeated = fresh('fail');
      await request(app).post(CALLBACK_PATH).send(repeated).expect(200, '');
      await request(app).post(CALLBACK_PATH).send(repeated).expect(200, '');
      const state = { notifyType: 'swUpgradeStateChangeNotify', deviceId: 'd', appId: 'a', operationId: 'o', subOperationId: `s-${Date.now()}`, swUpgradeState: 'downloading' };
      await request(app).post(CALLBACK_PATH).send(state).expect(200, '');
      assert.deepEqual(order, ['upgradeResult', 'notification swUpgradeResultNotify', 'notification swUpgradeStateChangeNotify']);
      assert.deepEqual(log.warnings, [], "a 'notification' listener hears every type");
    });
  });

  describe('a body parser before the router is detected', () => {
    const withParser = (mountErrorHandler: boolean, logger: Logger) => {
      const app = express();
      app.use(express.json());
      const upgrades = createUpgradeRouter({ logger });
      upgrades.on('notification', () => {});
      if (mountErrorHandler) app.use(CALLBACK_PATH, upgrades, upgrades.errorHandler);
      else app.use(CALLBACK_PATH, upgrades);
      return app;
    };

    it('without errorHandler: one warning with the line to copy, on the first such request only', async () => {
      const log = capture();
      const app = withParser(false, log.logger);
      for (let i = 0; i < 3; i += 1) await request(app).post(CALLBACK_PATH).send(fresh('success')).expect(200, '');
      assert.equal(log.warnings.length, 1);
      assert.ok(log.warnings[0]?.includes(`app.use('${CALLBACK_PATH}', router, router.errorHandler)`), log.warnings[0]);
    });

    it('with errorHandler mounted as the README shows: no warning', async () => {
      const log = capture();
      await request(withParser(true, log.logger)).post(CALLBACK_PATH).send(fresh('success')).expect(200, '');
      assert.deepEqual(log.warnings, []);
    });
  });

  describe("unknownTypes: 'next': the platform's other pushes can share the path", () => {
    const deviceDataChanged = { notifyType: 'deviceDataChanged', deviceId: 'd-1', gatewayId: 'g-1', service: { serviceId: 'Temperature', data: { value: 21 } } };

    const app = (options: UpgradeRouterOptions, before?: (host: ReturnType<typeof express>) => void) => {
      const host = express();
      before?.(host);
      const upgrades = createUpgradeRouter(options);
      upgrades.on('notification', () => {});
      host.use(CALLBACK_PATH, upgrades);
      // The host's own handler for the rest of the family, after the router on the same path.
      host.post(CALLBACK_PATH, (req, res) => void res.status(200).json({ handledBy: 'host', body: req.body as unknown }));
      return { host, upgrades };
    };

    it('hands a well-formed object of another notifyType to the next middleware with req.body set; the host answers', async () => {
      const { host, upgrades } = app({ unknownTypes: 'next' });
      const seen = recordEvents(upgrades);
      const response = await request(host).post(CALLBACK_PATH).send(deviceDataChanged).expect(200);
      assert.deepEqual(response.body, { handledBy: 'host', body: deviceDataChanged });
      assert.deepEqual(seen, []);
      assert.equal(upgrades.stats().passedOn, 1);
      assert.equal(upgrades.stats().received, 0);
    });

    it('upgrade notifications are still the router\'s, and bad bodies still invalid', async () => {
      const { host, upgrades } = app({ unknownTypes: 'next' });
      const seen = recordEvents(upgrades);
      await request(host).post(CALLBACK_PATH).send(fresh('success')).expect(200, '');
      await request(host).post(CALLBACK_PATH).send('{"notifyType":').expect(200, '');
      await request(host).post(CALLBACK_PATH).send({ deviceId: 'no notifyType' }).expect(200, '');
      await request(host).post(CALLBACK_PATH).send({ notifyType: 'swUpgradeResultNotify' }).expect(200, '');
      assert.deepEqual(
        seen.map((e) => (e.event === 'invalid' ? `invalid:${(e.args[0] as { reason: string }).reason}` : e.event)),
        ['upgradeResult', 'invalid:malformed', 'invalid:unknown_type', 'invalid:schema'],
      );
    });

    it('works after a host body parser too', async () => {
      const { host } = app({ unknownTypes: 'next' }, (h) => h.use(express.json()));
      const response = await request(host).post(CALLBACK_PATH).send(deviceDataChanged).expect(200);
      assert.deepEqual(response.body, { handledBy: 'host', body: deviceDataChanged });
    });

    it("by default another notifyType stays invalid 'unknown_type', answered by the router", async () => {
      const { host, upgrades } = app({});
      const seen = recordEvents(upgrades);
      await request(host).post(CALLBACK_PATH).send(deviceDataChanged).expect(200, '');
      assert.equal((seen[0]?.args[0] as { reason: string }).reason, 'unknown_type');
    });

    it("a refused caller is not passed on: 'forbidden' comes first", async () => {
      const { host, upgrades } = app({ unknownTypes: 'next', allow: { token: 't' } });
      const seen = recordEvents(upgrades);
      await request(host).post(CALLBACK_PATH).send(deviceDataChanged).expect(200, '');
      assert.equal((seen[0]?.args[0] as { reason: string }).reason, 'forbidden');
    });

    it('as a plain node:http listener there is no next: unknown_type', async () => {
      const upgrades = createUpgradeRouter({ unknownTypes: 'next' });
      const seen = recordEvents(upgrades);
      await request(createServer(upgrades)).post('/').send(deviceDataChanged).expect(200, '');
      assert.equal((seen[0]?.args[0] as { reason: string }).reason, 'unknown_type');
    });
  });
});
