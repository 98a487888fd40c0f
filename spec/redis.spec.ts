// @runtime-seam: sockets to a real redis-server
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createUpgradeRouter } from 'huawei-iot-upgrade-router';
import { redisDedupeStore } from 'huawei-iot-upgrade-router/redis';
import { CALLBACK_PATH, fresh, recordEvents } from './helpers';
import { RedisServer } from './support/redis-server';
import { tick, until } from './support/wait';

interface Reported {
  event: string;
  subOperationId?: string;
  message?: string;
}

/** One receiver process (spec/support/redis-app.mjs): its port and everything it emitted. */
interface App {
  child: ChildProcess;
  url: string;
  events: Reported[];
}

async function startApp(redisUrl: string, prefix: string): Promise<App> {
  const child = fork(join(__dirname, 'support', 'redis-app.mjs'), {
    env: { ...process.env, REDIS_URL: redisUrl, REDIS_PREFIX: prefix },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const events: Reported[] = [];
  const ready = new Promise<number>((resolve) => {
    child.on('message', (message: Reported & { ready?: boolean; port?: number }) => {
      if (message.ready === true) resolve(message.port ?? 0);
      else events.push(message);
    });
  });
  return { child, url: `http://127.0.0.1:${await ready}${CALLBACK_PATH}`, events };
}

const post = async (url: string, body: unknown): Promise<number> =>
  (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).status;

const count = (apps: App[], event: string): number => apps.reduce((n, app) => n + app.events.filter((e) => e.event === event).length, 0);

describe('several instances sharing a real Redis (huawei-iot-upgrade-router/redis)', function () {
  this.timeout(60_000);
  let redis: RedisServer;
  let apps: App[] = [];
  let prefix = '';

  before(async () => {
    redis = await RedisServer.start();
  });
  after(() => redis.kill());
  beforeEach(async () => {
    prefix = `spec-${randomUUID()}:`;
    apps = await Promise.all([startApp(redis.url, prefix), startApp(redis.url, prefix)]);
  });
  afterEach(async () => {
    for (const app of apps) {
      app.child.disconnect();
      if (app.child.exitCode === null) await once(app.child, 'exit');
    }
  });

  const reportOf = () => JSON.stringify(apps.map((app) => app.events));

  it('the same notification raced to two instances: exactly one upgradeResult and one duplicate', async () => {
    const notification = fresh('success');
    assert.deepEqual(await Promise.all(apps.map((app) => post(app.url, notification))), [200, 200]);
    await until(() => count(apps, 'upgradeResult') + count(apps, 'duplicate') === 2, reportOf);
    assert.equal(count(apps, 'upgradeResult'), 1);
    assert.equal(count(apps, 'duplicate'), 1);
    assert.equal(count(apps, 'error'), 0);
  });

  it('a hundred notifications raced to both: a hundred of each, each notification new exactly once', async () => {
    const notifications = Array.from({ length: 100 }, () => fresh('fail'));
    const statuses = await Promise.all(notifications.flatMap((n) => apps.map((app) => post(app.url, n))));
    assert.ok(statuses.every((status) => status === 200));
    await until(() => count(apps, 'upgradeResult') + count(apps, 'duplicate') === 200, reportOf);
    assert.equal(count(apps, 'error'), 0, 'no check failed open');
    assert.equal(count(apps, 'upgradeResult'), 100);
    assert.equal(count(apps, 'duplicate'), 100);
    const firsts = apps.flatMap((app) => app.events.filter((e) => e.event === 'upgradeResult').map((e) => e.subOperationId));
    assert.deepEqual(new Set(firsts), new Set(notifications.map((n) => n.subOperationId)));
    process.stdout.write(
      `      race: 200 requests, ${apps.map((app, i) => `instance ${i + 1}: ${app.events.filter((e) => e.event === 'upgradeResult').length} new, ${app.events.filter((e) => e.event === 'duplicate').length} duplicate`).join('; ')}\n`,
    );
  });

  it('Redis killed mid-run: 200s go on, notifications come out as new with an error each, and it recovers after a restart', async () => {
    const [one, two] = apps as [App, App];
    const before = fresh('success');
    await post(one.url, before);
    await until(() => count(apps, 'upgradeResult') === 1, reportOf);

    await redis.kill();
    const during = [fresh('fail'), fresh('fail')];
    for (const n of during) assert.equal(await post(one.url, n), 200);
    assert.equal(await post(two.url, during[0]), 200); // a repeat nobody can recognise while Redis is away
    // Each instance reports the store's failure, then emits the notification as new: wait for both.
    await until(() => count(apps, 'error') === 3 && count(apps, 'upgradeResult') >= 4, reportOf);
    assert.equal(count(apps, 'upgradeResult'), 4, 'fail open: every notification emitted as new');
    assert.match(apps.flatMap((a) => a.events).find((e) => e.event === 'error')?.message ?? '', /duplicate store failed/);

    await redis.restart();
    // Each instance's client reconnects by itself, on its own back-off: probe each until it
    // recognises a repeat again.
    for (const app of apps) {
      const probe = fresh('success');
      await until(
        () => {
          void post(app.url, probe);
          return app.events.some((e) => e.event === 'duplicate' && e.subOperationId === probe.subOperationId);
        },
        reportOf,
      );
    }
    // eslint-disable-next-line no-restricted-syntax -- the probes sent while polling above are answered within this; a late one would only add to the counts the next lines read
    await tick(100); // let the last probes settle
    const errorsAfterRecovery = count(apps, 'error');
    const last = fresh('fail');
    const outcomes = () => apps.flatMap((app) => app.events.filter((e) => e.subOperationId === last.subOperationId).map((e) => e.event)).sort();
    await Promise.all([post(one.url, last), post(two.url, last)]);
    await until(() => outcomes().length === 2, reportOf);
    assert.deepEqual(outcomes(), ['duplicate', 'upgradeResult']);
    assert.equal(count(apps, 'error'), errorsAfterRecovery, 'no store errors once Redis is back');
  });
});

describe('redisDedupeStore in one process', function () {
  let redis: RedisServer;
  before(async () => {
    redis = await RedisServer.start();
  });
  after(() => redis.kill());

  it('forgets after the ttl (PX), and keeps keys under the prefix', async () => {
    const client = new Redis(redis.url);
    const store = redisDedupeStore({ client, prefix: 'ttl-spec:' });
    try {
      const upgrades = createUpgradeRouter({ dedupe: { store, ttl: 800 } });
      const notification = fresh('success');
      // Sent together: both within the window however slow a loaded machine's round trips are.
      assert.deepEqual((await Promise.all([upgrades.receive(notification), upgrades.receive(notification)])).sort(), ['duplicate', 'upgradeResult']);
      const keys = await client.keys('ttl-spec:*');
      assert.equal(keys.length, 1);
      const ttl = await client.pttl(keys[0] ?? '');
      assert.ok(ttl > 0 && ttl <= 800, `PTTL ${ttl}`);
      // eslint-disable-next-line no-restricted-syntax -- the key's time to live (800 ms) is time itself
      await tick(1000);
      assert.equal(await upgrades.receive(notification), 'upgradeResult');
      await store.close(); // a client passed in is left open
      assert.equal(client.status, 'ready');
    } finally {
      client.disconnect();
    }
  });

  it('a Redis that accepts but never answers: the store gives up after timeoutMs and the router fails open', async () => {
    const silent: Server = createServer(() => {}).listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const address = silent.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const store = redisDedupeStore({ url: `redis://127.0.0.1:${port}`, timeoutMs: 100 });
    try {
      const upgrades = createUpgradeRouter({ dedupe: { store } });
      const seen = recordEvents(upgrades);
      // Without the time-out this would wait for ever (and mocha's time-out would say so).
      assert.equal(await upgrades.receive(fresh('fail')), 'upgradeResult');
      assert.deepEqual(seen.map((e) => e.event).sort(), ['error', 'upgradeResult']);
      assert.equal(upgrades.stats().storeErrors, 1);
    } finally {
      await store.close();
      silent.close();
    }
  });

  it('with no url, uses redis://127.0.0.1:6379, and a notification comes out as new whether or not one answers there', async () => {
    const store = redisDedupeStore({ timeoutMs: 100 });
    try {
      const upgrades = createUpgradeRouter({ dedupe: { store } });
      const seen = recordEvents(upgrades);
      assert.equal(await upgrades.receive(fresh('fail')), 'upgradeResult');
      assert.ok(seen.some((e) => e.event === 'upgradeResult'));
    } finally {
      await store.close();
    }
  });

  it('a client of your own created with lazyConnect: connected by the store, and duplicates are suppressed', async () => {
    const client = new Redis(redis.url, { lazyConnect: true });
    const store = redisDedupeStore({ client, prefix: `lazy-${randomUUID()}:`, timeoutMs: 2000 });
    try {
      const upgrades = createUpgradeRouter({ dedupe: { store } });
      const seen = recordEvents(upgrades);
      const notification = fresh('success');
      assert.equal(await upgrades.receive(notification), 'upgradeResult');
      assert.equal(await upgrades.receive(notification), 'duplicate');
      assert.deepEqual(
        seen.map((e) => e.event),
        ['upgradeResult', 'duplicate'],
      );
    } finally {
      client.disconnect();
    }
  });

  it('fifty lookups while the client connects share one wait: no leak warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): number => warnings.push(warning);
    process.on('warning', onWarning);
    const client = new Redis(redis.url, { lazyConnect: true });
    const store = redisDedupeStore({ client, prefix: `wait-${randomUUID()}:`, timeoutMs: 2000 });
    try {
      const lookups = Array.from({ length: 50 }, (_, i) => Promise.resolve(store.seen(`key-${i}`, 60_000)));
      assert.ok(client.listenerCount('ready') <= 2, `${client.listenerCount('ready')} ready listeners`);
      assert.deepEqual(new Set(await Promise.all(lookups)), new Set([false]));
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(warnings.map((w) => w.name), []);
    } finally {
      process.off('warning', onWarning);
      client.disconnect();
    }
  });
});
