// @express-seam: the body as each Express major's request stream delivers it
// @runtime-seam: request bodies as Node's streams deliver them
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import request from 'supertest';
import { listenOn, rawRequest } from './support/raw-http';
import { CALLBACK_PATH, fixture, fixtureText, mountedApp, nextOutcome, notificationOf, rejectionOf } from './helpers';
import { tick } from './support/wait';

// superagent JSON-encodes a Buffer sent as application/json; bytes must go out as they are.
const asIs = (body: unknown): string => body as string;

describe('reading the body', () => {
  describe('Content-Encoding is undone', () => {
    const encodings = { gzip: gzipSync, 'x-gzip': gzipSync, deflate: deflateSync, br: brotliCompressSync };
    for (const [name, compress] of Object.entries(encodings)) {
      it(name, async () => {
        const { app, upgrades } = mountedApp();
        const outcome = nextOutcome(upgrades);
        await request(app)
          .post(CALLBACK_PATH)
          .set('Content-Type', 'application/json')
          .set('Content-Encoding', name)
          .serialize(asIs)
          .send(compress(Buffer.from(fixtureText('fail'))))
          .expect(200, '');
        assert.deepEqual(notificationOf(await outcome), fixture('fail'));
      });
    }

    it('gzip in any letter case, with spaces around it', async () => {
      const { app, upgrades } = mountedApp();
      const outcome = nextOutcome(upgrades);
      await request(app).post(CALLBACK_PATH).set('Content-Encoding', ' GZip ').serialize(asIs).send(gzipSync(Buffer.from(fixtureText('fail')))).expect(200, '');
      assert.deepEqual(notificationOf(await outcome), fixture('fail'));
    });

    it('identity, in any letter case', async () => {
      const { app, upgrades } = mountedApp();
      const outcome = nextOutcome(upgrades);
      await request(app).post(CALLBACK_PATH).set('Content-Encoding', 'Identity').send(fixture('fail')).expect(200, '');
      assert.equal((await outcome).event, 'upgradeResult');
    });

    it('an unsupported encoding is malformed, with the bytes as received', async () => {
      const { app, upgrades } = mountedApp();
      const outcome = nextOutcome(upgrades);
      await request(app).post(CALLBACK_PATH).set('Content-Encoding', 'compress').send('LZW?').expect(200, '');
      const rejection = rejectionOf(await outcome);
      assert.equal(rejection.reason, 'malformed');
      assert.match(rejection.message, /unsupported Content-Encoding "compress"/);
      assert.equal(rejection.raw?.toString(), 'LZW?');
    });

    it('an unsupported encoding read to its end keeps the connection open for the next request', async () => {
      const { app } = mountedApp();
      const response = await request(app).post(CALLBACK_PATH).set('Content-Encoding', 'compress').set('Connection', 'keep-alive').send('LZW?').expect(200, '');
      assert.notEqual(response.headers['connection'], 'close');
    });

    it('bytes that are not what the encoding says are malformed', async () => {
      const { app, upgrades } = mountedApp();
      const outcome = nextOutcome(upgrades);
      await request(app).post(CALLBACK_PATH).set('Content-Encoding', 'gzip').send(fixtureText('fail')).expect(200, '');
      const rejection = rejectionOf(await outcome);
      assert.equal(rejection.reason, 'malformed');
      assert.match(rejection.message, /not valid gzip data/);
    });

    it('a truncated gzip body is malformed', async () => {
      const { app, upgrades } = mountedApp();
      const outcome = nextOutcome(upgrades);
      const gz = gzipSync(Buffer.from(fixtureText('fail')));
      await request(app).post(CALLBACK_PATH).set('Content-Encoding', 'gzip').send(gz.subarray(0, gz.length - 12)).expect(200, '');
      assert.equal(rejectionOf(await outcome).reason, 'malformed');
    });
  });

  describe('the limit', () => {
    it('is 64 KiB by default: a body of exactly 64 KiB is read, one byte more is too_large', async () => {
      const { app, upgrades } = mountedApp();
      const padding = (size: number): string => {
        const base = JSON.stringify({ ...fixture('success'), pad: '' });
        return base.replace('"pad":""', `"pad":"${'x'.repeat(size - base.length)}"`);
      };
      let outcome = nextOutcome(upgrades);
      await request(app).post(CALLBACK_PATH).send(padding(64 * 1024)).expect(200, '');
      assert.equal((await outcome).event, 'upgradeResult');
      outcome = nextOutcome(upgrades);
      await request(app).post(CALLBACK_PATH).send(padding(64 * 1024 + 1)).expect(200, '');
      const rejection = rejectionOf(await outcome);
      assert.equal(rejection.reason, 'too_large');
      assert.equal(rejection.limit, 65536);
    });

    it('takes a number or a size string', async () => {
      for (const limit of [2000, '2000b']) {
        const { app, upgrades } = mountedApp({ limit });
        const outcome = nextOutcome(upgrades);
        await request(app).post(CALLBACK_PATH).send({ ...fixture('success'), padding: 'x'.repeat(3000) }).expect(200, '');
        const rejection = rejectionOf(await outcome);
        assert.equal(rejection.reason === 'too_large' && rejection.limit, 2000);
      }
    });

    it('refuses a limit that is not a size', () => {
      assert.throws(() => mountedApp({ limit: 'lots' }), /limit must be a byte count/);
      assert.throws(() => mountedApp({ limit: -1 }), /limit must be a byte count/);
    });

    it('applies after decoding: a gzip bomb is cut off at the limit and answered 200', async () => {
      const { app, upgrades } = mountedApp();
      const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20));
      assert.ok(bomb.length < 64 * 1024, 'the compressed bomb itself is under the limit');
      const outcome = nextOutcome(upgrades);
      const response = await request(app).post(CALLBACK_PATH).set('Content-Encoding', 'gzip').send(bomb);
      assert.equal(response.status, 200);
      assert.equal(rejectionOf(await outcome).reason, 'too_large');
    });

    it('answers at once on a declared Content-Length over the limit, and closes the connection', async () => {
      const { app, upgrades } = mountedApp({ limit: 1024 });
      const { server, port } = await listenOn(app);
      try {
        const outcome = nextOutcome(upgrades);
        // Declares 10 MB but sends only a little: the answer must not wait for the rest.
        const reply = (await rawRequest(
          port,
          [`POST ${CALLBACK_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n{"notifyType":`],
        )).text;
        assert.match(reply, /^HTTP\/1\.1 200 OK\r\n/);
        assert.match(reply, /\r\nConnection: close\r\n/i);
        assert.equal(rejectionOf(await outcome).reason, 'too_large');
      } finally {
        server.close();
      }
    });

    it('stops reading a chunked body at the limit and answers at once', async () => {
      const { app, upgrades } = mountedApp({ limit: 1024 });
      const { server, port } = await listenOn(app);
      try {
        const outcome = nextOutcome(upgrades);
        const chunk = 'x'.repeat(2000);
        const reply = (await rawRequest(
          port,
          [`POST ${CALLBACK_PATH} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n`],
        )).text;
        assert.match(reply, /^HTTP\/1\.1 200 OK\r\n/);
        assert.equal(rejectionOf(await outcome).reason, 'too_large');
      } finally {
        server.close();
      }
    });
  });

  describe('text decoding', () => {
    it('strips a UTF-8 byte order mark', async () => {
      const { app, upgrades } = mountedApp();
      const outcome = nextOutcome(upgrades);
      await request(app).post(CALLBACK_PATH).send(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(fixtureText('success'))])).expect(200, '');
      assert.equal((await outcome).event, 'upgradeResult');
    });

    it('keeps non-ASCII text intact', async () => {
      const { app, upgrades } = mountedApp();
      const outcome = nextOutcome(upgrades);
      await request(app).post(CALLBACK_PATH).send({ ...fixture('fail'), description: '下载升级包超时' }).expect(200, '');
      assert.equal(notificationOf(await outcome).description, '下载升级包超时');
    });

    it('bytes that are not UTF-8 are malformed, not silently replaced', async () => {
      const { app, upgrades } = mountedApp();
      const outcome = nextOutcome(upgrades);
      const latin1 = Buffer.from(JSON.stringify({ ...fixture('fail'), description: 'échec' }), 'latin1');
      await request(app).post(CALLBACK_PATH).set('Content-Type', 'application/json; charset=ISO-8859-1').serialize(asIs).send(latin1).expect(200, '');
      const rejection = rejectionOf(await outcome);
      assert.equal(rejection.reason, 'malformed');
      assert.match(rejection.message, /not valid UTF-8/);
      assert.deepEqual(rejection.raw, latin1);
    });
  });

  describe('over a raw socket', () => {
    it('a sender that goes away mid-body gets no answer and yields invalid "aborted", not upgradeResult', async () => {
      const { app, upgrades } = mountedApp();
      const { server, port } = await listenOn(app);
      try {
        const outcome = nextOutcome(upgrades);
        const socket = connect(port, '127.0.0.1');
        await once(socket, 'connect');
        socket.write(`POST ${CALLBACK_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n${fixtureText('success').slice(0, 100)}`);
        // eslint-disable-next-line no-restricted-syntax -- a client that stops half-way: the router reads part of the body before the client goes
        await tick(50);
        socket.destroy();
        const rejection = rejectionOf(await outcome);
        assert.equal(rejection.reason, 'aborted');
        assert.match(rejection.message, /after 100 bytes/);
      } finally {
        server.close();
      }
    });

    it('keep-alive: two notifications on one connection, both answered and emitted', async () => {
      const { app, upgrades } = mountedApp();
      const { server, port } = await listenOn(app);
      try {
        const results: string[] = [];
        upgrades.on('upgradeResult', (notification) => void results.push(notification.deviceId));
        const one = fixtureText('success');
        const two = fixtureText('fail');
        const head = (body: string, close: boolean): string =>
          `POST ${CALLBACK_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;
        const reply = (await rawRequest(port, [head(one, false) + one + head(two, true) + two])).text;
        assert.equal(reply.match(/HTTP\/1\.1 200 OK/g)?.length, 2);
        assert.deepEqual(results, [fixture('success').deviceId, fixture('fail').deviceId]);
      } finally {
        server.close();
      }
    });
  });
});
