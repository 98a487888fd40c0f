// The client keeps its word: timeoutMs is a deadline over the whole answer and an answer's size is
// bounded; a session is the credentials' own (a wrong secret never rides on a good one's token) and
// login() always asks the platform; clients of one appId share one call budget.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPlatformClient, PlatformError, type PlatformClient } from 'huawei-iot-upgrade-router/platform';
import { startPlatformEmulator, type PlatformEmulator } from 'huawei-iot-upgrade-router/emulator';
import { testTls } from './support/platform';

const LOGIN = '/iocm/app/sec/v1.1.0/login';

describe('the platform client keeps its word', function () {
  const closing: Array<() => Promise<unknown> | undefined> = [];
  afterEach(async () => {
    for (const close of closing.splice(0).reverse()) await close();
  });

  /** A server that logs anyone in and answers every other call with `answer`. */
  async function platformThat(answer: (response: ServerResponse) => void): Promise<string> {
    const server: Server = createServer((request, response) => {
      if (request.url?.startsWith(LOGIN) === true) {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accessToken: 'a', refreshToken: 'r', tokenType: 'bearer', expiresIn: 3600, scope: 'default' }));
        return;
      }
      answer(response);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    closing.push(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  function client(url: string, timeoutMs: number): PlatformClient {
    const made = createPlatformClient({ url, appId: 'app', secret: 's', timeoutMs, retries: 0 });
    closing.push(() => made.close());
    return made;
  }

  it('timeoutMs is a deadline over the whole answer: headers at once, then a byte every 500 ms, is cut off', async () => {
    let trickling = false;
    const url = await platformThat((response) => {
      // A body of 60 bytes a byte every 500 ms: 30 s, far past the 2 s deadline.
      response.writeHead(200, { 'content-type': 'application/json' });
      trickling = true;
      let sent = 0;
      const timer = setInterval(() => {
        if (response.destroyed || sent === 60) {
          clearInterval(timer);
          trickling = false;
          response.end();
          return;
        }
        response.write(sent === 0 ? '{' : ' ');
        sent += 1;
      }, 500);
    });
    const platform = client(url, 2000);
    await assert.rejects(platform.listTasks(), (error: unknown) => error instanceof PlatformError && error.status === 0 && /no whole answer within timeoutMs \(2000 ms\)/.test(error.message));
    assert.ok(trickling, 'the call ended only when the server had sent its whole body');
  });

  it('an answer larger than 8 MiB is refused, not read into memory whole', async () => {
    const url = await platformThat((response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      for (let i = 0; i < 9; i += 1) response.write(chunk);
      response.end('{}');
    });
    await assert.rejects(client(url, 30_000).listTasks(), (error: unknown) => error instanceof PlatformError && /larger than 8388608 bytes/.test(error.message));
  });

  describe('against the emulator', () => {
    let emulator: PlatformEmulator;
    let ca: string;
    beforeEach(async () => {
      const { tls, certificates } = await testTls();
      ca = certificates.ca;
      emulator = await startPlatformEmulator({ tls, rateLimit: { calls: 3, windowMs: 1000 } });
      closing.push(() => emulator.close());
    });
    const clientOf = (secret: string, rateLimit: { calls: number; windowMs: number } = { calls: 100, windowMs: 60_000 }): PlatformClient => {
      const made = createPlatformClient({ url: emulator.url, appId: emulator.appId, secret, ca, retries: 0, rateLimit });
      closing.push(() => made.close());
      return made;
    };

    it('a client with a wrong secret fails, even after a good one logged in; login() always asks the platform', async () => {
      const good = clientOf(emulator.secret);
      await good.login();
      await good.listTasks();
      const bad = clientOf('not-the-secret');
      await assert.rejects(bad.login(), PlatformError);
      await assert.rejects(bad.listTasks(), PlatformError);
      // The good one logs in again when asked to, though it holds a token: that is the check.
      const before = emulator.sessions().logins;
      await good.login();
      assert.equal(emulator.sessions().logins, before + 1);
      await good.listTasks();
    });

    it('two clients of one appId share its call budget: together they never draw a 1010009', async () => {
      // The platform allows 3 calls a second; each client would allow itself 3 every 1.1 s.
      const clients = [clientOf(emulator.secret, { calls: 3, windowMs: 1100 }), clientOf(emulator.secret, { calls: 3, windowMs: 1100 })];
      await clients[0]?.login();
      const outcomes = await Promise.allSettled(clients.flatMap((made) => [made.listTasks(), made.listTasks(), made.listTasks()]));
      const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [String(outcome.reason)] : []));
      assert.deepEqual(refused, []);
    });
  });
});
