// @express-seam: query strings and headers as each Express major parses them
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import fc from 'fast-check';
import request from 'supertest';
import { createUpgradeRouter, type UpgradeRouter } from 'huawei-iot-upgrade-router';
import { CALLBACK_PATH, freshText, mountedApp, recordEvents } from './helpers';
import { listenOn, post, rawRequest } from './support/raw-http';
import { tick } from './support/wait';

const RUNS = Number(process.env['HOSTILE_RUNS'] ?? 400) / 2;

/** The names a lookup in a plain object finds without anyone having set them. */
export const prototypeNames = [
  ...new Set([...Object.getOwnPropertyNames(Object.prototype), ...Object.getOwnPropertyNames(Function.prototype), 'prototype', '__proto__']),
].filter((name) => name !== 'caller' && name !== 'arguments');

/** A header value or query word: a prototype name as sent, in another case, padded or listed; or any printable text. */
export const hostileWord: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...prototypeNames) },
  { weight: 1, arbitrary: fc.constantFrom(...prototypeNames).map((name) => name.toUpperCase()) },
  { weight: 1, arbitrary: fc.constantFrom(...prototypeNames).map((name) => ` ${name}\t`) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('gzip', 'identity', 'utf-8'), fc.constantFrom(...prototypeNames)).map(([a, b]) => `${a}, ${b}`) },
  { weight: 2, arbitrary: fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 24 }) },
);

describe('request data that names Object.prototype properties', () => {
  for (const encoding of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__']) {
    it(`Content-Encoding: ${encoding} under node:http: answered 200, invalid "malformed", the process lives`, async () => {
      const upgrades = createUpgradeRouter();
      const events = recordEvents(upgrades);
      const { server, port } = await listenOn(upgrades);
      try {
        const reply = await rawRequest(port, [post('/', freshText('success'), { 'Content-Encoding': encoding, Connection: 'close' })]);
        assert.deepEqual(reply.statuses, [200]);
        assert.deepEqual(
          events.map((e) => e.event),
          ['invalid'],
        );
        assert.match((events[0]?.args[0] as { message: string }).message, /unsupported Content-Encoding/);
      } finally {
        server.close();
      }
    });

    it(`Content-Encoding: ${encoding} under Express: 200, not 500`, async () => {
      const { app, upgrades } = mountedApp();
      const events = recordEvents(upgrades);
      await request(app).post(CALLBACK_PATH).set('Content-Encoding', encoding).send(freshText('success')).expect(200, '');
      assert.deepEqual(
        events.map((e) => e.event),
        ['invalid'],
      );
    });
  }

  describe('generated header values and query strings, over raw sockets', function () {
    this.timeout(120_000);
    let plain: { server: Server; port: number; upgrades: UpgradeRouter; events: ReturnType<typeof recordEvents> };
    let guarded: typeof plain;

    const start = async (guard: boolean): Promise<typeof plain> => {
      const { app, upgrades } = mountedApp(guard ? { allow: { ips: ['127.0.0.1', '::1'], token: 't0k' } } : undefined, (host) => {
        if (guard) host.set('trust proxy', true);
      });
      const events = recordEvents(upgrades);
      const { server, port } = await listenOn(app);
      return { server, port, upgrades, events };
    };
    before(async () => {
      plain = await start(false);
      guarded = await start(true);
    });
    after(() => {
      for (const { server } of [plain, guarded]) {
        server.close();
        server.closeAllConnections();
      }
    });

    const request = fc.record({
      encoding: fc.option(hostileWord, { nil: undefined }),
      contentType: fc.option(
        fc.oneof(
          hostileWord,
          hostileWord.map((word) => `application/json; charset=${word}`),
        ),
        { nil: undefined },
      ),
      length: fc.option(fc.constantFrom(...prototypeNames), { nil: undefined, freq: 8 }),
      transferEncoding: fc.option(hostileWord, { nil: undefined, freq: 8 }),
      expect: fc.option(hostileWord, { nil: undefined, freq: 8 }),
      forwardedFor: fc.option(hostileWord, { nil: undefined }),
      query: fc.option(
        fc.array(fc.tuple(fc.oneof(hostileWord, fc.constant('token')), fc.oneof(hostileWord, fc.constant('t0k'))), { maxLength: 3 }).map((pairs) =>
          pairs.map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`).join('&'),
        ),
        { nil: undefined },
      ),
      guard: fc.boolean(),
    });

    it(`${RUNS} requests: 200 with exactly one outcome, or Node's own refusal with none; never a 500 or a crash`, async () => {
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          const receiver = r.guard ? guarded : plain;
          const body = freshText('success');
          const headers: Record<string, string> = { Connection: 'close' };
          if (r.encoding !== undefined) headers['Content-Encoding'] = r.encoding;
          if (r.contentType !== undefined) headers['Content-Type'] = r.contentType;
          if (r.transferEncoding !== undefined) headers['Transfer-Encoding'] = r.transferEncoding;
          if (r.expect !== undefined) headers['Expect'] = r.expect;
          if (r.forwardedFor !== undefined) headers['X-Forwarded-For'] = r.forwardedFor;
          const path = r.query === undefined ? CALLBACK_PATH : `${CALLBACK_PATH}?${r.query}`;
          let bytes = post(path, body, headers);
          if (r.length !== undefined) bytes = Buffer.from(bytes.toString('latin1').replace(/Content-Length: \d+/, `Content-Length: ${r.length}`), 'latin1');
          const before = receiver.events.length;
          const reply = await rawRequest(receiver.port, [bytes], { waitMs: 1500 });
          // eslint-disable-next-line no-restricted-syntax -- a negative check: the wait bounds how long a second outcome is looked for; it cannot fail a correct router
          await tick(5);
          const outcomes = receiver.events.slice(before).map((e) => e.event);
          // Node refuses a request it cannot frame (400) or an expectation it does not know (417)
          // before any handler runs; every request that reaches the router is answered 200 and ends
          // as exactly one outcome.
          for (const status of reply.statuses) assert.ok([200, 400, 417].includes(status), reply.text.slice(0, 200));
          const answered = reply.statuses.filter((status) => status === 200).length;
          assert.equal(outcomes.length, answered, `${answered} answered 200, outcomes: ${outcomes.join(', ') || 'none'}`);
          assert.ok(answered <= 1);
          const accepted = outcomes[0] === 'upgradeResult';
          if (accepted && r.guard) assert.match(r.query ?? '', /(^|&)token=t0k(&|$)/);
          if (accepted) assert.ok(r.encoding === undefined || r.encoding.trim().toLowerCase() === 'identity', `accepted with Content-Encoding ${r.encoding}`);
        }),
        { numRuns: RUNS },
      );
      for (const receiver of [plain, guarded]) {
        const stats = receiver.upgrades.stats();
        assert.equal(stats.received, receiver.events.filter((e) => e.event !== 'error').length);
      }
    });
  });
});
