import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { createUpgradeRouter } from 'huawei-iot-upgrade-router';
import { listenOn } from './support/raw-http';
import { CALLBACK_PATH, fixture, mountedApp } from './helpers';
import { tick, until } from './support/wait';

describe('stats()', () => {
  it('starts at zero, in the documented shape', () => {
    const { ackSeconds, ...counters } = createUpgradeRouter().stats();
    assert.deepEqual(ackSeconds, {
      count: 0,
      sum: 0,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15].map((le) => ({ le, count: 0 })),
    });
    assert.deepEqual(counters, {
      received: 0,
      events: { upgradeResult: 0, upgradeState: 0, firmwareUpgradeResult: 0, firmwareUpgradeState: 0, batchTaskUpdate: 0, batchTaskStatusUpdate: 0, duplicate: 0, invalid: 0 },
      invalid: { malformed: 0, too_large: 0, aborted: 0, forbidden: 0, unknown_type: 0, schema: 0 },
      listenerErrors: 0,
      storeErrors: 0,
      inFlight: 0,
      unheard: { upgradeResult: 0, upgradeState: 0, firmwareUpgradeResult: 0, firmwareUpgradeState: 0, batchTaskUpdate: 0, batchTaskStatusUpdate: 0 },
      forbiddenReported: 0,
      passedOn: 0,
      reconciled: 0,
    });
  });

  it('counts every POST once, by event and by reason, and received is their sum', async () => {
    const { app, upgrades } = mountedApp({ limit: '1kb' });
    const post = (body: string | Buffer, encoding?: string) => {
      const req = request(app).post(CALLBACK_PATH);
      if (encoding !== undefined) req.set('Content-Encoding', encoding);
      return req.send(body).expect(200, '');
    };
    await post(JSON.stringify(fixture('success')));
    await post(JSON.stringify(fixture('fail')));
    await post('{"notifyType": ');
    await post(gzipSync(Buffer.alloc(100_000, 0x20)), 'gzip');
    await post('{"notifyType":"deviceAdded"}');
    await post('{"notifyType":"swUpgradeResultNotify"}');
    await request(app).get(CALLBACK_PATH).expect(418); // not a POST: the host's, not counted
    const { ackSeconds, ...counters } = upgrades.stats();
    assert.equal(ackSeconds.count, 6, 'every POST was answered, and timed');
    assert.equal(ackSeconds.buckets.at(-1)?.count, 6);
    assert.deepEqual(counters, {
      received: 6,
      events: { upgradeResult: 2, upgradeState: 0, firmwareUpgradeResult: 0, firmwareUpgradeState: 0, batchTaskUpdate: 0, batchTaskStatusUpdate: 0, duplicate: 0, invalid: 4 },
      invalid: { malformed: 1, too_large: 1, aborted: 0, forbidden: 0, unknown_type: 1, schema: 1 },
      listenerErrors: 0,
      storeErrors: 0,
      inFlight: 0,
      // Nobody listened to upgradeResult here: counted, and said once through the logger.
      unheard: { upgradeResult: 2, upgradeState: 0, firmwareUpgradeResult: 0, firmwareUpgradeState: 0, batchTaskUpdate: 0, batchTaskStatusUpdate: 0 },
      forbiddenReported: 0,
      passedOn: 0,
      reconciled: 0,
    });
  });

  it('a listener that returns a plain value is not in flight', () => {
    const upgrades = createUpgradeRouter({ dedupe: false });
    upgrades.on('upgradeResult', () => 42);
    upgrades.on('upgradeResult', () => 'done');
    upgrades.receive(fixture('success'));
    assert.equal(upgrades.stats().inFlight, 0);
  });

  it('times each answer from the request\'s arrival: a body that takes 150 ms to arrive is answered after that', async () => {
    const { app, upgrades } = mountedApp();
    const { server, port } = await listenOn(app);
    let heads = 0;
    server.on('request', () => (heads += 1));
    try {
      const body = JSON.stringify(fixture('fail'));
      const head = `POST ${CALLBACK_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
      const socket = connect(port, '127.0.0.1');
      await once(socket, 'connect');
      let reply = '';
      socket.on('data', (data: Buffer) => (reply += data.toString('latin1')));
      const closed = once(socket, 'close');
      socket.write(head + body.slice(0, 10));
      // The rest only once the server has read the head: on a busy machine a pause alone could pass
      // before the server reads anything, and both parts would arrive together.
      await until(() => heads === 1, 'the server to read the request head');
      // eslint-disable-next-line no-restricted-syntax -- a body that takes 150 ms to arrive after its head is the case under test
      await tick(150);
      socket.write(body.slice(10));
      await closed;
      assert.match(reply, /^HTTP\/1\.1 200 /);
      const { count, buckets } = upgrades.stats().ackSeconds;
      assert.equal(count, 1);
      // At least 150 ms: nothing in the buckets up to 0.1 s, everything by the last one.
      assert.equal(buckets.find((b) => b.le === 0.1)?.count, 0);
      assert.equal(buckets.at(-1)?.count, 1);
    } finally {
      server.close();
    }
  });

  it('counts listener failures and listener promises in flight', async () => {
    const upgrades = createUpgradeRouter({ logger: { error: () => {} } });
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    upgrades.on('upgradeResult', () => held);
    upgrades.on('upgradeResult', () => {
      throw new Error('sync');
    });
    upgrades.on('upgradeResult', async () => Promise.reject(new Error('async')));
    upgrades.receive(fixture('success'));
    assert.equal(upgrades.stats().inFlight, 2);
    release();
    await upgrades.drain();
    assert.equal(upgrades.stats().inFlight, 0);
    assert.equal(upgrades.stats().listenerErrors, 2);
  });

  it('returns a snapshot: changing it changes nothing', () => {
    const upgrades = createUpgradeRouter();
    const stats = upgrades.stats();
    stats.events.invalid = 99;
    stats.invalid.schema = 99;
    assert.equal(upgrades.stats().events.invalid, 0);
    assert.equal(upgrades.stats().invalid.schema, 0);
  });
});

describe('drain()', () => {
  it('settles at once when nothing is in flight', async () => {
    assert.deepEqual(await createUpgradeRouter().drain(), { drained: true, pending: 0 });
  });

  it('waits for every listener promise in flight, error listeners included', async () => {
    const upgrades = createUpgradeRouter();
    const finished: string[] = [];
    upgrades.on('upgradeResult', async () => {
      // eslint-disable-next-line no-restricted-syntax -- a listener that takes a while is what drain() waits for
      await tick(20);
      finished.push('listener');
      throw new Error('late failure');
    });
    upgrades.on('error', async () => {
      // eslint-disable-next-line no-restricted-syntax -- a listener that takes a while is what drain() waits for
      await tick(20);
      finished.push('error listener');
    });
    upgrades.receive(fixture('fail'));
    assert.deepEqual(await upgrades.drain(), { drained: true, pending: 0 });
    assert.deepEqual(finished, ['listener', 'error listener']);
  });

  it('gives up after the timeout and says how many are still pending', async () => {
    const upgrades = createUpgradeRouter();
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    upgrades.on('upgradeResult', () => held);
    upgrades.receive(fixture('success'));
    upgrades.receive(fixture('fail'));
    assert.deepEqual(await upgrades.drain(30), { drained: false, pending: 2 });
    release();
    assert.deepEqual(await upgrades.drain(1000), { drained: true, pending: 0 });
  });

  it('serves several callers waiting at once', async () => {
    const upgrades = createUpgradeRouter();
    let release: () => void = () => {};
    upgrades.on('invalid', () => new Promise<void>((resolve) => (release = resolve)));
    upgrades.receive('nope');
    const waiting = [upgrades.drain(), upgrades.drain(5000)];
    release();
    assert.deepEqual(await Promise.all(waiting), [
      { drained: true, pending: 0 },
      { drained: true, pending: 0 },
    ]);
  });
});
