// @express-seam: mounting, fall-through to the host's routes, req and res as each Express major gives them
import assert from 'node:assert/strict';
import request from 'supertest';
import { createUpgradeRouter } from 'huawei-iot-upgrade-router';
import express from './express';
import { CALLBACK_PATH, fixture, fixtureText, fresh, mountedApp, nextOutcome, notificationOf, recordEvents, rejectionOf } from './helpers';

describe('router over HTTP, mounted as the README shows', () => {
  it('answers 200 with an empty body and emits upgradeResult with the values as sent', async () => {
    const { app, upgrades } = mountedApp();
    const outcome = nextOutcome(upgrades);
    const response = await request(app).post(CALLBACK_PATH).set('Content-Type', 'application/json').send(fixtureText('success'));
    assert.equal(response.status, 200);
    assert.equal(response.text, '');
    assert.equal(response.headers['content-length'], '0');
    assert.deepEqual(notificationOf(await outcome), fixture('success'));
  });

  it('accepts the API reference example verbatim, pretty-printed with a space after each colon', async () => {
    const { app, upgrades } = mountedApp();
    const outcome = nextOutcome(upgrades);
    await request(app).post(CALLBACK_PATH).set('Content-Type', 'application/json').send(fixtureText('reference-example')).expect(200);
    const notification = notificationOf(await outcome);
    assert.equal(notification.swUpgradeResult, 'SUCCESS');
    assert.equal(notification.upgradeTime, '***');
  });

  it('gives the context: receivedAt and the sender address', async () => {
    const { app, upgrades } = mountedApp();
    const outcome = nextOutcome(upgrades);
    const before = Date.now();
    await request(app).post(CALLBACK_PATH).send(fixture('fail')).expect(200);
    const result = await outcome;
    assert.equal(result.event, 'upgradeResult');
    assert.ok(result.context.receivedAt instanceof Date);
    assert.ok(result.context.receivedAt.getTime() >= before && result.context.receivedAt.getTime() <= Date.now());
    assert.match(String(result.context.ip), /127\.0\.0\.1|::1/);
  });

  it("uses Express's req.ip, so the host's trust proxy setting applies", async () => {
    const { app, upgrades } = mountedApp(undefined, (host) => host.set('trust proxy', true));
    const outcome = nextOutcome(upgrades);
    await request(app).post(CALLBACK_PATH).set('X-Forwarded-For', '203.0.113.7').send(fixture('success')).expect(200);
    const result = await outcome;
    assert.equal(result.event === 'upgradeResult' && result.context.ip, '203.0.113.7');
  });

  it('keeps an integer upgradeTime as a number and a string one as a string', async () => {
    const { app, upgrades } = mountedApp();
    let outcome = nextOutcome(upgrades);
    await request(app).post(CALLBACK_PATH).send(fixtureText('upgrade-time-integer')).expect(200);
    assert.equal(notificationOf(await outcome).upgradeTime, 93);
    outcome = nextOutcome(upgrades);
    await request(app).post(CALLBACK_PATH).send(fixture('fail')).expect(200);
    assert.equal(notificationOf(await outcome).upgradeTime, '600');
  });

  it('keeps unknown extra fields', async () => {
    const { app, upgrades } = mountedApp();
    const outcome = nextOutcome(upgrades);
    await request(app).post(CALLBACK_PATH).send({ ...fixture('success'), gatewayId: 'gw-1' }).expect(200);
    assert.equal((notificationOf(await outcome) as unknown as Record<string, unknown>)['gatewayId'], 'gw-1');
  });

  it('answers the callback URL with a trailing slash and with a query string', async () => {
    const { app, upgrades } = mountedApp();
    for (const url of [`${CALLBACK_PATH}/`, `${CALLBACK_PATH}?from=platform`]) {
      const outcome = nextOutcome(upgrades);
      await request(app).post(url).send(fresh('success')).expect(200, '');
      assert.equal((await outcome).event, 'upgradeResult');
    }
  });

  it('leaves other methods and longer paths to the host app, emitting nothing', async () => {
    const { app, upgrades } = mountedApp();
    const seen = recordEvents(upgrades);
    await request(app).get(CALLBACK_PATH).expect(418, 'host GET');
    await request(app).put(CALLBACK_PATH).send(fixture('success')).expect(404);
    await request(app).post(`${CALLBACK_PATH}/other`).send(fixture('success')).expect(404);
    assert.deepEqual(seen, []);
  });

  it('works as a route handler too: app.post(path, router)', async () => {
    const { app, upgrades } = mountedApp();
    app.post('/hooks/upgrade', upgrades);
    const outcome = nextOutcome(upgrades);
    await request(app).post('/hooks/upgrade').send(fixture('success')).expect(200, '');
    assert.equal((await outcome).event, 'upgradeResult');
  });

  describe('answers 200 to anything and emits invalid with the reason', () => {
    const cases: Array<{ name: string; body: string; contentType?: string; reason: string; message: RegExp }> = [
      { name: 'unparsable JSON', body: '{"notifyType": "swUpgradeResultNotify",', reason: 'malformed', message: /not JSON/ },
      { name: 'an empty body', body: '', reason: 'malformed', message: /empty/ },
      { name: 'whitespace only', body: ' \n\t ', reason: 'malformed', message: /empty/ },
      { name: 'a JSON array', body: '[{"notifyType":"swUpgradeResultNotify"}]', reason: 'malformed', message: /array/ },
      { name: 'a JSON string', body: '"swUpgradeResultNotify"', reason: 'malformed', message: /string/ },
      { name: 'JSON null', body: 'null', reason: 'malformed', message: /null/ },
      { name: 'a JSON number', body: '42', reason: 'malformed', message: /number/ },
      { name: 'no notifyType', body: '{"deviceId":"d"}', reason: 'unknown_type', message: /no notifyType/ },
      { name: 'an unknown notifyType', body: '{"notifyType":"deviceAdded"}', reason: 'unknown_type', message: /"deviceAdded" is not handled/ },
      { name: 'a non-string notifyType', body: '{"notifyType":7}', reason: 'unknown_type', message: /of type number/ },
      { name: 'notifyType "constructor"', body: '{"notifyType":"constructor"}', reason: 'unknown_type', message: /constructor/ },
      { name: 'a schema failure', body: '{"notifyType":"swUpgradeResultNotify"}', reason: 'schema', message: /required property/ },
    ];
    for (const { name, body, reason, message } of cases) {
      it(name, async () => {
        const { app, upgrades } = mountedApp();
        const outcome = nextOutcome(upgrades);
        await request(app).post(CALLBACK_PATH).set('Content-Type', 'application/json').send(body).expect(200, '');
        const rejection = rejectionOf(await outcome);
        assert.equal(rejection.reason, reason);
        assert.match(rejection.message, message);
      });
    }

    it('hands over the raw bytes of a malformed body and the parsed value of non-object JSON', async () => {
      const { app, upgrades } = mountedApp();
      let outcome = nextOutcome(upgrades);
      await request(app).post(CALLBACK_PATH).set('Content-Type', 'application/json').send('{oops').expect(200);
      let rejection = rejectionOf(await outcome);
      assert.equal(rejection.reason === 'malformed' && rejection.raw?.toString(), '{oops');
      outcome = nextOutcome(upgrades);
      await request(app).post(CALLBACK_PATH).set('Content-Type', 'application/json').send('[1,2]').expect(200);
      rejection = rejectionOf(await outcome);
      assert.deepEqual(rejection.reason === 'malformed' && rejection.body, [1, 2]);
    });

    it('hands over the body and the validator errors of a schema failure', async () => {
      const { app, upgrades } = mountedApp();
      const outcome = nextOutcome(upgrades);
      const body = { ...fixture('fail'), swUpgradeResult: 'PARTIAL' };
      await request(app).post(CALLBACK_PATH).send(body).expect(200, '');
      const rejection = rejectionOf(await outcome);
      assert.equal(rejection.reason, 'schema');
      assert.deepEqual(rejection.body, body);
      assert.equal(rejection.errors[0]?.instancePath, '/swUpgradeResult');
      assert.match(rejection.message, /\/swUpgradeResult must be equal to one of the allowed values/);
      assert.ok(rejection.context.receivedAt instanceof Date);
    });

    it('quotes a long unknown notifyType only in part', async () => {
      const { app, upgrades } = mountedApp();
      const outcome = nextOutcome(upgrades);
      await request(app).post(CALLBACK_PATH).send({ notifyType: 'x'.repeat(5000) }).expect(200);
      const rejection = rejectionOf(await outcome);
      assert.ok(rejection.message.length < 200, rejection.message);
    });
  });

  describe('parses the body as JSON whatever the Content-Type says', () => {
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream', 'application/json; charset=UTF-8']) {
      it(contentType, async () => {
        const { app, upgrades } = mountedApp();
        const outcome = nextOutcome(upgrades);
        await request(app).post(CALLBACK_PATH).set('Content-Type', contentType).send(fixtureText('success')).expect(200, '');
        assert.deepEqual(notificationOf(await outcome), fixture('success'));
      });
    }

    it('no Content-Type at all', async () => {
      const { app, upgrades } = mountedApp();
      const outcome = nextOutcome(upgrades);
      const req = request(app).post(CALLBACK_PATH);
      req.unset('Content-Type');
      await req.send(Buffer.from(fixtureText('success'))).expect(200, '');
      assert.deepEqual(notificationOf(await outcome), fixture('success'));
    });
  });

  it('gives listeners a clean object: __proto__ and constructor.prototype keys pollute nothing', async () => {
    const { app, upgrades } = mountedApp();
    const outcome = nextOutcome(upgrades);
    const text = fixtureText('success').replace(
      '"notifyType"',
      '"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}, "notifyType"',
    );
    await request(app).post(CALLBACK_PATH).set('Content-Type', 'application/json').send(text).expect(200);
    const notification = notificationOf(await outcome);
    assert.equal(Object.hasOwn(notification, '__proto__'), false);
    assert.equal(Object.hasOwn(notification, 'constructor'), false);
    const copy = Object.assign({}, notification) as unknown as Record<string, unknown>;
    assert.equal(copy['polluted'], undefined);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.equal(notification.deviceId, fixture('success').deviceId);
  });

  // The quick path to JSON.parse must not let an escaped spelling through, nor refuse a BOM.
  for (const [spelling, key] of [
    ['\\u005f_proto__', '__proto__'],
    ['__pr\\u006fto__', '__proto__'],
    ['\\u0063onstructor', 'constructor'],
  ] as const) {
    it(`removes a ${key} key spelled "${spelling}" as well`, async () => {
      const { app, upgrades } = mountedApp();
      const outcome = nextOutcome(upgrades);
      const value = key === 'constructor' ? '{"prototype": {"polluted": "yes"}}' : '{"polluted": "yes"}';
      const text = fixtureText('success').replace('"notifyType"', `"${spelling}": ${value}, "notifyType"`);
      await request(app).post(CALLBACK_PATH).set('Content-Type', 'application/json').send(text).expect(200);
      const notification = notificationOf(await outcome);
      assert.equal(Object.hasOwn(notification, key), false);
      assert.equal(notification.deviceId, fixture('success').deviceId);
    });
  }

  it('takes a body that begins with a byte-order mark', async () => {
    const { app, upgrades } = mountedApp();
    const outcome = nextOutcome(upgrades);
    await request(app).post(CALLBACK_PATH).set('Content-Type', 'application/json').send(`\ufeff${fixtureText('success')}`).expect(200);
    assert.deepEqual(notificationOf(await outcome), fixture('success'));
  });

  describe('a route matched before the mount is not the router\'s', () => {
    // Express leaves req.route set after a route that called next(); a regular expression, because
    // Express 4 and 5 spell a wildcard path differently.
    const withCatchAll = (app: ReturnType<typeof express>) => app.all(/.*/, (_req, _res, next) => next());

    it('POST <mount>/other still goes to the host', async () => {
      const app = express();
      withCatchAll(app);
      const upgrades = createUpgradeRouter();
      const seen = recordEvents(upgrades);
      app.use(CALLBACK_PATH, upgrades);
      app.post(`${CALLBACK_PATH}/other`, (_req, res) => void res.status(201).send('host'));
      await request(app).post(`${CALLBACK_PATH}/other`).send(fresh('fail')).expect(201, 'host');
      await request(app).post(CALLBACK_PATH).send(fresh('fail')).expect(200, '');
      assert.deepEqual(
        seen.map((e) => e.event),
        ['upgradeResult'],
      );
    });

    it("errorHandler leaves another route's parser error to the host", async () => {
      const app = express();
      withCatchAll(app);
      app.use(express.json());
      const upgrades = createUpgradeRouter();
      const seen = recordEvents(upgrades);
      app.use(CALLBACK_PATH, upgrades, upgrades.errorHandler);
      await request(app).post(`${CALLBACK_PATH}/other`).set('Content-Type', 'application/json').send('{bad').expect(400);
      assert.deepEqual(seen, []);
    });
  });

  describe('receive() with bytes in other shapes and values JSON cannot hold', () => {
    const text = JSON.stringify(fresh('success'));
    it('a Uint8Array, a DataView and an ArrayBuffer are bytes to parse', () => {
      const upgrades = createUpgradeRouter({ dedupe: false });
      const bytes = new TextEncoder().encode(text);
      assert.equal(upgrades.receive(bytes), 'upgradeResult');
      assert.equal(upgrades.receive(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)), 'upgradeResult');
      assert.equal(upgrades.receive(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)), 'upgradeResult');
    });

    it('a cyclic object is classified without hanging (the cycle is in an extra field, kept)', () => {
      const upgrades = createUpgradeRouter();
      const body: Record<string, unknown> = { ...fresh('success'), nested: { deeper: {} } };
      body['self'] = body;
      (body['nested'] as { deeper: Record<string, unknown> }).deeper['back'] = body;
      assert.equal(upgrades.receive(body), 'upgradeResult');
    });

    it('a cycle that does not pass through the top object does not hang either', () => {
      const upgrades = createUpgradeRouter();
      const loop: Record<string, unknown> = { name: 'loop' };
      loop['inner'] = { back: loop };
      assert.equal(upgrades.receive({ ...fresh('success'), extra: loop }), 'upgradeResult');
    });

    it('constructor.prototype is removed at every depth; a field named constructor holding a string is kept', () => {
      const upgrades = createUpgradeRouter();
      const seen = recordEvents(upgrades);
      const body = { ...fresh('success'), constructor: 'a string is harmless', extra: { constructor: { prototype: { polluted: true } } } };
      assert.equal(upgrades.receive(body), 'upgradeResult');
      const received = seen[0]?.args[0] as { constructor: unknown; extra: object };
      assert.equal(received.constructor, 'a string is harmless');
      assert.equal(Object.hasOwn(received.extra, 'constructor'), false);
    });

    it('__proto__ keys are removed at every depth of an already-parsed value, as from text', () => {
      const upgrades = createUpgradeRouter();
      const seen = recordEvents(upgrades);
      const body = JSON.parse(`{"extra":{"__proto__":{"polluted":1},"list":[{"__proto__":{"x":1}}]},${JSON.stringify(fresh('success')).slice(1)}`) as Record<string, unknown>;
      assert.equal(upgrades.receive(body), 'upgradeResult');
      const extra = (seen[0]?.args[0] as { extra: { list: object[] } }).extra;
      assert.equal(Object.hasOwn(extra, '__proto__'), false);
      assert.equal(Object.hasOwn(extra.list[0] ?? {}, '__proto__'), false);
    });

    const unreadable: Array<[string, () => unknown, string, RegExp]> = [
      [
        'an object whose getter throws',
        () =>
          Object.defineProperty({ ...fresh('success') }, 'deviceId', {
            enumerable: true,
            get: () => {
              throw new Error('getter');
            },
          }),
        'malformed',
        /^body cannot be read: getter$/,
      ],
      [
        'a revoked proxy',
        () => {
          const { proxy, revoke } = Proxy.revocable({}, {});
          revoke();
          return proxy;
        },
        'malformed',
        /^body cannot be read: .*revoked/,
      ],
      ['undefined', () => undefined, 'malformed', /^body is undefined, not JSON data$/],
      ['a function', () => () => 1, 'malformed', /^body is function, not JSON data$/],
      ['a BigInt where the schema wants a number or string', () => ({ ...fresh('success'), upgradeTime: 10n }), 'schema', /upgradeTime/],
    ];
    for (const [name, make, reason, message] of unreadable) {
      it(`${name}: invalid "${reason}", at once`, () => {
        const upgrades = createUpgradeRouter();
        const seen = recordEvents(upgrades);
        assert.equal(upgrades.receive(make()), 'invalid');
        const rejection = seen[0]?.args[0] as { reason: string; message: string };
        assert.equal(rejection.reason, reason);
        assert.match(rejection.message, message);
      });
    }
  });
});
