// @express-seam: the caller's address as each Express major reports it (trust proxy)
import assert from 'node:assert/strict';
import request from 'supertest';
import { createUpgradeRouter, type AllowOptions } from 'huawei-iot-upgrade-router';
import express from './express';
import { CALLBACK_PATH, fresh, mountedApp, nextOutcome, rejectionOf } from './helpers';
import { listenOn, rawRequest } from './support/raw-http';

function appWith(allow: AllowOptions, trustProxy = false) {
  return mountedApp({ allow }, (host) => host.set('trust proxy', trustProxy));
}

describe('access control (allow), off by default', () => {
  it('off by default: any caller is served', async () => {
    const { app, upgrades } = mountedApp();
    const outcome = nextOutcome(upgrades);
    await request(app).post(CALLBACK_PATH).set('X-Forwarded-For', '198.51.100.1').send(fresh('success')).expect(200, '');
    assert.equal((await outcome).event, 'upgradeResult');
  });

  describe('allow.ips', () => {
    const cases: Array<{ rules: string[]; from: string; allowed: boolean }> = [
      { rules: ['203.0.113.0/24'], from: '203.0.113.7', allowed: true },
      { rules: ['203.0.113.0/24'], from: '203.0.114.7', allowed: false },
      { rules: ['198.51.100.7'], from: '198.51.100.7', allowed: true },
      { rules: ['198.51.100.7'], from: '198.51.100.8', allowed: false },
      { rules: ['2001:db8::/32'], from: '2001:db8:1::5', allowed: true },
      { rules: ['2001:db8::/32'], from: '2001:db9::5', allowed: false },
      { rules: ['203.0.113.0/24'], from: '::ffff:203.0.113.9', allowed: true },
      { rules: ['10.0.0.0/8', '2001:db8::/32'], from: '2001:db8::1', allowed: true },
    ];
    for (const { rules, from, allowed } of cases) {
      it(`${JSON.stringify(rules)} ${allowed ? 'lets in' : 'refuses'} ${from} (read from req.ip, trust proxy on)`, async () => {
        const { app, upgrades } = appWith({ ips: rules }, true);
        const outcome = nextOutcome(upgrades);
        await request(app).post(CALLBACK_PATH).set('X-Forwarded-For', from).send(fresh('success')).expect(200, '');
        const result = await outcome;
        if (allowed) {
          assert.equal(result.event, 'upgradeResult');
        } else {
          const rejection = rejectionOf(result);
          assert.equal(rejection.reason, 'forbidden');
          assert.equal(rejection.context.ip, from);
          assert.match(rejection.message, new RegExp(`caller ${from.replaceAll('.', '\\.')} is not in allow.ips`));
        }
      });
    }

    it("matches an IPv4 caller seen as IPv4-mapped IPv6 on the socket (no proxy)", async () => {
      const { app, upgrades } = appWith({ ips: ['127.0.0.0/8'] });
      const outcome = nextOutcome(upgrades);
      await request(app).post(CALLBACK_PATH).send(fresh('success')).expect(200, '');
      const result = await outcome;
      assert.equal(result.event, 'upgradeResult');
      assert.match(String(result.context.ip), /127\.0\.0\.1/);
    });

    it("without trust proxy, X-Forwarded-For is not believed", async () => {
      const { app, upgrades } = appWith({ ips: ['203.0.113.0/24'] }, false);
      const outcome = nextOutcome(upgrades);
      await request(app).post(CALLBACK_PATH).set('X-Forwarded-For', '203.0.113.7').send(fresh('success')).expect(200, '');
      assert.equal(rejectionOf(await outcome).reason, 'forbidden');
    });

    it('refuses rules that are not addresses or ranges', () => {
      for (const rule of ['nope', '10.0.0.0/33', '10.0.0.0/x', '10.0.0.0/8.5', '10.0.0.0/-1', '2001:db8::/129', '1.2.3.4/8/8', '']) {
        assert.throws(() => createUpgradeRouter({ allow: { ips: [rule] } }), /must be an IP address or CIDR range/, rule);
      }
    });

    it('takes the boundary prefixes and rules with spaces around them', () => {
      for (const rule of ['0.0.0.0/0', '203.0.113.7/32', '::/0', '2001:db8::1/128', ' 203.0.113.7 ', '198.51.100.0/24 ']) {
        assert.doesNotThrow(() => createUpgradeRouter({ allow: { ips: [rule] } }), rule);
      }
    });

    it('0.0.0.0/0 lets in any IPv4 caller; /32 only that address', async () => {
      for (const [rules, from, allowed] of [
        [['0.0.0.0/0'], '198.51.100.200', true],
        [['203.0.113.7/32'], '203.0.113.7', true],
        [['203.0.113.7/32'], '203.0.113.8', false],
        [[' 203.0.113.7 '], '203.0.113.7', true],
      ] as const) {
        const { app, upgrades } = appWith({ ips: rules }, true);
        const outcome = nextOutcome(upgrades);
        await request(app).post(CALLBACK_PATH).set('X-Forwarded-For', from).send(fresh('success')).expect(200, '');
        assert.equal((await outcome).event, allowed ? 'upgradeResult' : 'invalid', `${rules[0]} ${from}`);
      }
    });
  });

  describe('allow.token', () => {
    const tokenCases: Array<{ url: string; allowed: boolean; why?: RegExp }> = [
      { url: `${CALLBACK_PATH}?token=s3cr%2Ee-t_~9`, allowed: true },
      { url: `${CALLBACK_PATH}?a=1&token=s3cr%2Ee-t_~9`, allowed: true },
      { url: `${CALLBACK_PATH}?token=s3cre-t_~9`, allowed: false, why: /does not match allow.token/ },
      { url: `${CALLBACK_PATH}?token=`, allowed: false, why: /does not match allow.token/ },
      { url: CALLBACK_PATH, allowed: false, why: /has no token parameter/ },
      { url: `${CALLBACK_PATH}?tokens=s3cr%2Ee-t_~9`, allowed: false, why: /has no token parameter/ },
    ];
    for (const { url, allowed, why } of tokenCases) {
      it(`${url}: ${allowed ? 'served' : 'forbidden'}`, async () => {
        const { app, upgrades } = appWith({ token: 's3cr.e-t_~9' });
        const outcome = nextOutcome(upgrades);
        await request(app).post(url).send(fresh('fail')).expect(200, '');
        const result = await outcome;
        if (allowed) assert.equal(result.event, 'upgradeResult');
        else assert.match(rejectionOf(result).message, why ?? /./);
      });
    }

    it('refuses an empty secret', () => {
      assert.throws(() => createUpgradeRouter({ allow: { token: '' } }), /allow.token must be a non-empty string/);
    });

    it('with ips too, both must pass', async () => {
      const { app, upgrades } = appWith({ ips: ['127.0.0.1'], token: 't' });
      let outcome = nextOutcome(upgrades);
      await request(app).post(`${CALLBACK_PATH}?token=t`).send(fresh('fail')).expect(200, '');
      assert.equal((await outcome).event, 'upgradeResult');
      outcome = nextOutcome(upgrades);
      await request(app).post(`${CALLBACK_PATH}?token=u`).send(fresh('fail')).expect(200, '');
      assert.equal(rejectionOf(await outcome).reason, 'forbidden');
    });
  });

  it('a refused caller declaring a body over the limit gets 200 at once, and the connection is closed', async () => {
    const { app, upgrades } = appWith({ token: 'secret' });
    const { server, port } = await listenOn(app);
    try {
      const outcome = nextOutcome(upgrades);
      // Declares a large body and sends a little of it: the answer must not wait for the rest.
      const reply = await rawRequest(port, [
        `POST ${CALLBACK_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n{"notifyType":"swUpgradeResultNotify"`,
      ]);
      assert.deepEqual(reply.statuses, [200]);
      assert.match(reply.text, /\r\nConnection: close\r\n/i);
      const rejection = rejectionOf(await outcome);
      assert.equal(rejection.reason, 'forbidden');
      assert.equal(Object.hasOwn(rejection, 'body') || Object.hasOwn(rejection, 'raw'), false);
    } finally {
      server.close();
    }
  });

  it('applies in errorHandler too: a refused caller behind a failing body parser is forbidden, not malformed', async () => {
    const app = express();
    app.use(express.json());
    const upgrades = createUpgradeRouter({ allow: { token: 'secret' } });
    app.use(CALLBACK_PATH, upgrades, upgrades.errorHandler);
    const outcome = nextOutcome(upgrades);
    await request(app).post(CALLBACK_PATH).set('Content-Type', 'application/json').send('{bad').expect(200, '');
    assert.equal(rejectionOf(await outcome).reason, 'forbidden');
  });

  it('applies when a body parser already read the body', async () => {
    const { app, upgrades } = mountedApp({ allow: { ips: ['192.0.2.0/24'] } }, (host) => host.use(express.json()));
    const outcome = nextOutcome(upgrades);
    await request(app).post(CALLBACK_PATH).send(fresh('fail')).expect(200, '');
    assert.equal(rejectionOf(await outcome).reason, 'forbidden');
  });

  describe('a setting that is present must be usable', () => {
    const refused: Array<[string, unknown, RegExp]> = [
      ['token: undefined (an unset environment variable)', { token: undefined }, /allow.token must be a non-empty string, got undefined/],
      ['ips: undefined', { ips: undefined }, /allow.ips must be an array/],
      ['ips and token both undefined', { ips: undefined, token: undefined }, /allow.ips must be an array/],
      ['ips: a string', { ips: '10.0.0.0/8' }, /allow.ips must be an array, got the string "10.0.0.0\/8"/],
      ['ips: []', { ips: [] }, /allow.ips must not be empty; .*would refuse everyone/],
      ['ips: [42]', { ips: [42] }, /allow.ips\[0\] must be an IP address or CIDR range, got 42/],
      ['token: 12345', { token: 12345 }, /allow.token must be a non-empty string, got 12345/],
      ['a token with "+", which a URL turns into a space', { token: 'a+b' }, /letters, digits and - . _ ~/],
      ['a token with "%"', { token: 'a%20b' }, /letters, digits and - . _ ~/],
      ['a token with "&"', { token: 'a&b' }, /letters, digits and - . _ ~/],
      ['allow: a string', '203.0.113.0/24', /allow must be an object/],
    ];
    for (const [name, allow, message] of refused) {
      it(`refuses ${name} with a TypeError that names it`, () => {
        assert.throws(() => createUpgradeRouter({ allow: allow as AllowOptions }), (error: Error) => error instanceof TypeError && message.test(error.message));
      });
    }

    it('accepts a token of the URL-safe alphabet, as pasted raw into the callback URL', async () => {
      const token = 'Ab9-._~Zz';
      const { app, upgrades } = appWith({ token });
      const outcome = nextOutcome(upgrades);
      await request(app).post(`${CALLBACK_PATH}?token=${token}`).send(fresh('fail')).expect(200, '');
      assert.equal((await outcome).event, 'upgradeResult');
    });
  });
});
