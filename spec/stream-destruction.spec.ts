// @express-seam: requests and responses destroyed under the router, as each Express major handles them
// @runtime-seam: sockets and streams destroyed mid-request
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import type { UpgradeRouter } from 'huawei-iot-upgrade-router';
import { CALLBACK_PATH, fresh, mountedApp, recordEvents } from './helpers';
import { closeOf, listenOn, post } from './support/raw-http';
import { tick, until } from './support/wait';

const RUNS = Number(process.env['HOSTILE_RUNS'] ?? 400) / 4;

// The transport's invariant: whatever happens to the request stream, destroyed
// before the router, mid-body or after its last byte, by the sender or the host, with or without
// gzip, it ends as exactly one outcome, counted.
describe('a request stream destroyed at any point ends as exactly one outcome', function () {
  this.timeout(120_000);
  let server: Server;
  let port = 0;
  let upgrades: UpgradeRouter;
  let events: ReturnType<typeof recordEvents>;

  before(async () => {
    const mounted = mountedApp(undefined, (app) => {
      // A host middleware before the router, told by the test what to do to the request.
      app.use((req, _res, next) => {
        const plan = req.headers['x-destroy'];
        const delay = Number(req.headers['x-delay'] ?? 0);
        if (plan === 'before-router') {
          req.destroy();
          next();
        } else if (plan === 'after-delay') {
          setTimeout(() => req.destroy(), delay);
          next();
        } else if (plan === 'async-middleware') {
          // An await before the router (a session lookup, say) while the sender goes away: the await
          // ends `delay` ms after the socket closed (a fixed delay alone raced the close under load).
          const resume = (): void => void setTimeout(next, delay);
          if (req.socket.destroyed) resume();
          else req.socket.once('close', resume);
        } else next();
      });
    });
    upgrades = mounted.upgrades;
    events = recordEvents(upgrades);
    ({ server, port } = await listenOn(mounted.app));
  });
  after(() => {
    server.close();
    server.closeAllConnections();
  });

  /** Sends `bytes`, then closes the socket after `cutAt` bytes (or after all of them, once `closeAfterMs` passed). */
  async function send(bytes: Buffer, cutAt: number | undefined, closeAfterMs: number): Promise<void> {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.resume();
    await once(socket, 'connect');
    const closed = closeOf(socket);
    socket.write(cutAt === undefined ? bytes : bytes.subarray(0, cutAt));
    // eslint-disable-next-line no-restricted-syntax -- a client that goes away after a while is the case under test
    if (closeAfterMs > 0) await tick(closeAfterMs);
    socket.destroy();
    await closed;
  }

  async function expectOneOutcome(before: number, what: string): Promise<string> {
    await until(() => events.length > before, `${what}: an outcome`);
    // eslint-disable-next-line no-restricted-syntax -- a negative check: the wait bounds how long a second outcome is looked for; it cannot fail a correct router
    await tick(30);
    const outcomes = events.slice(before).map((e) => (e.event === 'invalid' ? `invalid:${(e.args[0] as { reason: string }).reason}` : e.event));
    assert.equal(outcomes.length, 1, `${what}: ${outcomes.join(', ') || 'no outcome'}`);
    return outcomes[0] ?? '';
  }

  /** A valid notification of about 40 KB decoded (22 KB gzipped: more than a stream buffers at once). */
  const large = (): Buffer => Buffer.from(JSON.stringify({ ...fresh('fail'), description: randomBytes(20_000).toString('hex') }));

  it('a gzip body over 16 KB whose sender closes right after the last byte', async () => {
    for (let i = 0; i < 10; i += 1) {
      const before = events.length;
      await send(post(CALLBACK_PATH, gzipSync(large()), { 'Content-Encoding': 'gzip' }), undefined, 0);
      assert.match(await expectOneOutcome(before, 'gzip then close'), /^(upgradeResult|invalid:aborted)$/);
    }
  });

  it('an async host middleware before the router while the sender closes', async () => {
    for (const delay of [5, 20, 50]) {
      const before = events.length;
      await send(post(CALLBACK_PATH, JSON.stringify(fresh('success')), { 'X-Destroy': 'async-middleware', 'X-Delay': String(delay) }), undefined, 1);
      assert.equal(await expectOneOutcome(before, `async middleware ${delay} ms`), 'invalid:aborted');
    }
  });

  it('a request the host destroyed before the router', async () => {
    const before = events.length;
    await send(post(CALLBACK_PATH, JSON.stringify(fresh('success')), { 'X-Destroy': 'before-router' }), undefined, 50);
    assert.equal(await expectOneOutcome(before, 'destroyed before the router'), 'invalid:aborted');
  });

  it(`${RUNS} requests destroyed at random points, by the sender or the host, with and without gzip`, async () => {
    const plan = fc.record({
      gzip: fc.boolean(),
      big: fc.boolean(),
      who: fc.constantFrom('sender-cut', 'sender-after-last-byte', 'host-after-delay', 'host-before-router', 'async-middleware'),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
      delay: fc.integer({ min: 0, max: 15 }),
      closeAfter: fc.integer({ min: 0, max: 25 }),
    });
    await fc.assert(
      fc.asyncProperty(plan, async ({ gzip, big, who, at, delay, closeAfter }) => {
        const json = big ? large() : Buffer.from(JSON.stringify(fresh('success')));
        const headers: Record<string, string> = gzip ? { 'Content-Encoding': 'gzip' } : {};
        if (who.startsWith('host') || who === 'async-middleware') {
          headers['X-Destroy'] = who === 'host-before-router' ? 'before-router' : who === 'host-after-delay' ? 'after-delay' : who;
          headers['X-Delay'] = String(delay);
        }
        const bytes = post(CALLBACK_PATH, gzip ? gzipSync(json) : json, headers);
        const before = events.length;
        const cutAt = who === 'sender-cut' ? Math.floor(at * bytes.length) : undefined;
        await send(bytes, cutAt, who === 'sender-cut' ? 0 : closeAfter);
        // A request cut before its headers ended never reached the router: Node drops it.
        const headEnd = bytes.indexOf('\r\n\r\n') + 4;
        if (cutAt !== undefined && cutAt < headEnd) {
          // eslint-disable-next-line no-restricted-syntax -- a negative check: the wait bounds how long a second outcome is looked for; it cannot fail a correct router
          await tick(20);
          assert.equal(events.length, before, 'a request without its headers reached the router');
          return;
        }
        await expectOneOutcome(before, `${who} ${gzip ? 'gzip' : 'plain'} ${big ? 'large' : 'small'} at ${cutAt ?? 'end'}, delay ${delay} ms, closed after ${closeAfter} ms`);
      }),
      { numRuns: RUNS },
    );
    const stats = upgrades.stats();
    assert.equal(stats.received, events.filter((e) => e.event !== 'error').length);
  });
});
