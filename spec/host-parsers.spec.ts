// @express-seam: a host's own body parsers (express.json, express.text, ...) in front of the router
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import express, { type NextFunction, type Request, type Response } from './express';
import request from 'supertest';
import { CALLBACK_PATH, fixture, fixtureText, mountedApp, nextOutcome, notificationOf, recordEvents, rejectionOf } from './helpers';
import { tick } from './support/wait';

describe('drop-in beside a body parser the host mounted first', () => {
  const parsers = {
    'express.json()': { mount: () => express.json(), contentType: 'application/json' },
    'express.text()': { mount: () => express.text(), contentType: 'text/plain' },
    "express.raw({ type: '*/*' })": { mount: () => express.raw({ type: '*/*' }), contentType: 'application/json' },
  };
  for (const [name, { mount, contentType }] of Object.entries(parsers)) {
    it(`${name}: uses the body already read`, async () => {
      const { app, upgrades } = mountedApp(undefined, (host) => host.use(mount()));
      const outcome = nextOutcome(upgrades);
      await request(app).post(CALLBACK_PATH).set('Content-Type', contentType).send(fixtureText('fail')).expect(200, '');
      assert.deepEqual(notificationOf(await outcome), fixture('fail'));
    });

    it(`${name}: still reads a body the parser skipped for its Content-Type`, async () => {
      const { app, upgrades } = mountedApp(undefined, (host) => host.use(mount()));
      const outcome = nextOutcome(upgrades);
      const other = contentType === 'text/plain' ? 'application/json' : 'text/plain';
      await request(app).post(CALLBACK_PATH).set('Content-Type', other).send(fixtureText('success')).expect(200, '');
      assert.deepEqual(notificationOf(await outcome), fixture('success'));
    });
  }

  it('express.json(): a parsed body is cleaned of __proto__ keys too', async () => {
    const { app, upgrades } = mountedApp(undefined, (host) => host.use(express.json()));
    const outcome = nextOutcome(upgrades);
    const text = fixtureText('success').replace('"notifyType"', '"__proto__": {"polluted": true}, "notifyType"');
    await request(app).post(CALLBACK_PATH).set('Content-Type', 'application/json').send(text).expect(200, '');
    const notification = notificationOf(await outcome);
    assert.equal(Object.hasOwn(notification, '__proto__'), false);
    assert.equal((Object.assign({}, notification) as unknown as Record<string, unknown>)['polluted'], undefined);
  });

  it('express.json(): a non-object body the parser accepted is still invalid', async () => {
    const { app, upgrades } = mountedApp(undefined, (host) => host.use(express.json({ strict: false })));
    const outcome = nextOutcome(upgrades);
    await request(app).post(CALLBACK_PATH).set('Content-Type', 'application/json').send('[1,2]').expect(200, '');
    const rejection = rejectionOf(await outcome);
    assert.deepEqual(rejection.reason === 'malformed' && rejection.body, [1, 2]);
  });

  it('a middleware that read the stream but left no req.body: malformed, still 200', async () => {
    const { app, upgrades } = mountedApp(undefined, (host) =>
      host.use((req, _res, next) => {
        req.resume();
        req.on('end', () => next());
      }),
    );
    const outcome = nextOutcome(upgrades);
    await request(app).post(CALLBACK_PATH).send(fixture('success')).expect(200, '');
    assert.match(rejectionOf(await outcome).message, /consumed by another middleware/);
  });

  describe("the parser's own errors skip ordinary middleware: router.errorHandler keeps them 200", () => {
    const withHandler = (limit?: string) => {
      const app = express();
      app.use(express.json(limit === undefined ? {} : { limit }));
      const { upgrades } = mountedApp();
      app.use(CALLBACK_PATH, upgrades, upgrades.errorHandler);
      return { app, upgrades };
    };

    it('without it, bad JSON gets the host error handler (the reason errorHandler exists)', async () => {
      const app = express();
      app.use(express.json());
      const { upgrades } = mountedApp();
      app.use(CALLBACK_PATH, upgrades);
      app.use((error: { status: number }, _req: Request, res: Response, _next: NextFunction) => void res.sendStatus(error.status));
      await request(app).post(CALLBACK_PATH).set('Content-Type', 'application/json').send('{bad').expect(400);
    });

    it('bad JSON: 200 and malformed, with the text received', async () => {
      const { app, upgrades } = withHandler();
      const outcome = nextOutcome(upgrades);
      await request(app).post(CALLBACK_PATH).set('Content-Type', 'application/json').send('{bad').expect(200, '');
      const rejection = rejectionOf(await outcome);
      assert.equal(rejection.reason, 'malformed');
      assert.equal(rejection.raw?.toString(), '{bad');
    });

    it("over its limit: 200 and too_large, with the parser's limit, not the router's", async () => {
      const { app, upgrades } = withHandler('100b');
      const outcome = nextOutcome(upgrades);
      await request(app).post(CALLBACK_PATH).send(fixture('success')).expect(200, '');
      const rejection = rejectionOf(await outcome);
      assert.ok(rejection.reason === 'too_large');
      assert.equal(rejection.limit, 100);
      assert.match(rejection.message, /its limit of 100 bytes/);
    });

    it('an unsupported charset: 200 and malformed', async () => {
      const { app, upgrades } = withHandler();
      const outcome = nextOutcome(upgrades);
      await request(app).post(CALLBACK_PATH).set('Content-Type', 'application/json; charset=latin1').send('{}').expect(200, '');
      const rejection = rejectionOf(await outcome);
      assert.equal(rejection.reason, 'malformed');
      assert.match(rejection.message, /body parser before the router/);
    });

    it('passes on errors that are not body-parser errors, and errors of other paths', async () => {
      const app = express();
      const { upgrades } = mountedApp();
      const seen = recordEvents(upgrades);
      app.use((_req, _res, next) => next(new Error('auth service down')));
      app.use(CALLBACK_PATH, upgrades, upgrades.errorHandler);
      app.use(express.json());
      app.use('/elsewhere', upgrades.errorHandler);
      app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => void res.status(503).send(error.message));
      await request(app).post(CALLBACK_PATH).send(fixture('success')).expect(503, 'auth service down');
      assert.deepEqual(seen, []);

      const other = express();
      other.use(express.json());
      other.use('/elsewhere', upgrades.errorHandler);
      other.use((error: { status: number }, _req: Request, res: Response, _next: NextFunction) => void res.sendStatus(error.status));
      await request(other).post('/elsewhere/deeper').set('Content-Type', 'application/json').send('{bad').expect(400);
      await request(other).put('/elsewhere').set('Content-Type', 'application/json').send('{bad').expect(400);
      assert.deepEqual(seen, []);
    });
  });
});

describe('a sender that goes away while the host parser reads', () => {
  it('reaches router.errorHandler and yields invalid "aborted"', async () => {
    const app = express();
    app.use(express.json());
    const { upgrades } = mountedApp();
    app.use(CALLBACK_PATH, upgrades, upgrades.errorHandler);
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const outcome = nextOutcome(upgrades);
      const address = server.address();
      const socket = connect(typeof address === 'object' && address !== null ? address.port : 0, '127.0.0.1');
      await once(socket, 'connect');
      socket.write(`POST ${CALLBACK_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{"notifyType":`);
      // eslint-disable-next-line no-restricted-syntax -- a client that stops half-way: the router reads part of the body before the client goes
      await tick(50);
      socket.destroy();
      assert.equal(rejectionOf(await outcome).reason, 'aborted');
    } finally {
      server.close();
    }
  });
});
