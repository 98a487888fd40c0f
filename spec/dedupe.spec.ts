import assert from 'node:assert/strict';
import request from 'supertest';
import { createUpgradeRouter, type DedupeStore, type Notification, type ReceiveContext, type SwUpgradeResultNotify } from 'huawei-iot-upgrade-router';
import { CALLBACK_PATH, allFixtures, fixture, fresh, mountedApp, recordEvents } from './helpers';
import { tick } from './support/wait';

const events = (seen: ReturnType<typeof recordEvents>): string[] => seen.map((e) => e.event);

describe('duplicate suppression', () => {
  it('is on by default: a re-send, however its JSON is laid out, is emitted as duplicate with the notification', async () => {
    const { app, upgrades } = mountedApp();
    const seen = recordEvents(upgrades);
    const notification = fresh('fail');
    const reordered = Object.fromEntries(Object.entries(notification).reverse());
    await request(app).post(CALLBACK_PATH).set('Content-Type', 'application/json').send(JSON.stringify(notification)).expect(200, '');
    await request(app).post(CALLBACK_PATH).set('Content-Type', 'application/json').send(JSON.stringify(reordered, null, 4)).expect(200, '');
    assert.deepEqual(events(seen), ['upgradeResult', 'duplicate']);
    assert.deepEqual(seen[1]?.args[0], reordered);
    assert.ok((seen.at(1)?.args[1] as ReceiveContext).receivedAt instanceof Date);
    assert.equal(upgrades.stats().events.duplicate, 1);
  });

  it('works for every type of the family, and tells types apart', () => {
    const upgrades = createUpgradeRouter();
    const seen = recordEvents(upgrades);
    for (const { body } of allFixtures) upgrades.receive(body);
    for (const { body } of allFixtures) upgrades.receive(body);
    assert.deepEqual(events(seen).slice(allFixtures.length), allFixtures.map(() => 'duplicate'));
    assert.ok(!events(seen).slice(0, allFixtures.length).includes('duplicate'));
  });

  it('a notification that differs in any documented field is new; extra fields and 187 vs "187" do not count', () => {
    const upgrades = createUpgradeRouter();
    const base = fresh('success');
    assert.equal(upgrades.receive(base), 'upgradeResult');
    assert.equal(upgrades.receive({ ...base, upgradeTime: 187 }), 'upgradeResult');
    assert.equal(upgrades.receive({ ...base, upgradeTime: '187' }), 'duplicate'); // the same value, written two ways
    assert.equal(upgrades.receive({ ...base, resultDesc: 'other' }), 'upgradeResult');
    assert.equal(upgrades.receive({ ...base, gatewayId: 'gw-2' }), 'duplicate');
  });

  it('forgets after dedupe.ttl', async () => {
    const upgrades = createUpgradeRouter({ dedupe: { ttl: 40 } });
    const notification = fresh('success');
    assert.equal(upgrades.receive(notification), 'upgradeResult');
    assert.equal(upgrades.receive(notification), 'duplicate');
    // eslint-disable-next-line no-restricted-syntax -- the duplicate window is time itself
    await tick(80);
    assert.equal(upgrades.receive(notification), 'upgradeResult');
  });

  it('remembers at least the last dedupe.max notifications; a flood of new ones evicts the oldest', () => {
    const upgrades = createUpgradeRouter({ dedupe: { max: 3 } });
    const pushes = Array.from({ length: 12 }, () => fresh('success'));
    for (const push of pushes) upgrades.receive(push);
    for (const push of pushes.slice(-3)) assert.equal(upgrades.receive(push), 'duplicate');
    assert.equal(upgrades.receive(pushes[0] as SwUpgradeResultNotify), 'upgradeResult');
  });

  it('bounds the key of a huge notification (hashed), still telling near-identical ones apart', () => {
    const upgrades = createUpgradeRouter();
    const long = 'x'.repeat(20_000);
    const one = { ...fresh('success'), description: `${long}1` };
    const two = { ...one, description: `${long}2` };
    assert.equal(upgrades.receive(one), 'upgradeResult');
    assert.equal(upgrades.receive(two), 'upgradeResult');
    assert.equal(upgrades.receive(one), 'duplicate');
  });

  it('dedupe: false turns it off', () => {
    const upgrades = createUpgradeRouter({ dedupe: false });
    assert.equal(upgrades.receive(fixture('success')), 'upgradeResult');
    assert.equal(upgrades.receive(fixture('success')), 'upgradeResult');
  });

  it('refuses nonsense options', () => {
    assert.throws(() => createUpgradeRouter({ dedupe: { ttl: 0 } }), /dedupe.ttl must be a positive whole number/);
    assert.throws(() => createUpgradeRouter({ dedupe: { max: -5 } }), /dedupe.max must be a positive whole number/);
    assert.throws(() => createUpgradeRouter({ dedupe: { store: {} as DedupeStore } }), /seen\(key, ttlMs\)/);
  });

  describe('dedupe.store', () => {
    it('takes any object with seen(key, ttlMs), called once per valid notification with the ttl', () => {
      const calls: Array<[string, number]> = [];
      const keys = new Set<string>();
      const store: DedupeStore = {
        seen(key, ttlMs) {
          calls.push([key, ttlMs]);
          const had = keys.has(key);
          keys.add(key);
          return had;
        },
      };
      const upgrades = createUpgradeRouter({ dedupe: { store, ttl: 60_000 } });
      upgrades.receive(fixture('fail'));
      upgrades.receive('not json');
      assert.equal(upgrades.receive(fixture('fail')), 'duplicate');
      assert.equal(calls.length, 2);
      assert.equal(calls[0]?.[1], 60_000);
      assert.equal(calls.at(0)?.[0], calls.at(1)?.[0]);
    });

    it('may answer with a promise: the event waits for it, receive() returns a promise, drain() waits too', async () => {
      const seenKeys = new Set<string>();
      const store: DedupeStore = {
        async seen(key) {
          // eslint-disable-next-line no-restricted-syntax -- a listener that takes a while
          await tick(20);
          const had = seenKeys.has(key);
          seenKeys.add(key);
          return had;
        },
      };
      const upgrades = createUpgradeRouter({ dedupe: { store } });
      const seen = recordEvents(upgrades);
      const first = upgrades.receive(fixture('success'));
      assert.ok(first instanceof Promise);
      assert.equal(upgrades.stats().inFlight, 1);
      assert.deepEqual(await upgrades.drain(), { drained: true, pending: 0 });
      assert.deepEqual(events(seen), ['upgradeResult']);
      assert.equal(await first, 'upgradeResult');
      assert.equal(await upgrades.receive(fixture('success')), 'duplicate');
    });

    it('over HTTP with an async store: still 200 at once, then one event', async () => {
      // A store that answers only when the test says so: the 200 comes first whatever the machine's load.
      let answer: () => void = () => {};
      const held = new Promise<void>((resolve) => (answer = resolve));
      const store: DedupeStore = { seen: () => held.then(() => false) };
      const { app, upgrades } = mountedApp({ dedupe: { store } });
      const seen = recordEvents(upgrades);
      await request(app).post(CALLBACK_PATH).send(fixture('success')).expect(200, '');
      assert.deepEqual(events(seen), []);
      answer();
      await upgrades.drain(1000);
      assert.deepEqual(events(seen), ['upgradeResult']);
    });

    const failing: Record<string, DedupeStore> = {
      throws: {
        seen() {
          throw new Error('store down');
        },
      },
      rejects: { seen: () => Promise.reject(new Error('store down')) },
    };
    for (const [how, store] of Object.entries(failing)) {
      it(`a store that ${how} fails open: the notification is emitted as new and the failure reported as error`, async () => {
        const upgrades = createUpgradeRouter({ dedupe: { store } });
        const seen = recordEvents(upgrades);
        await upgrades.receive(fixture('fail'));
        assert.deepEqual(events(seen).sort(), ['error', 'upgradeResult']);
        const [error, notification] = seen.find((e) => e.event === 'error')?.args as [Error, Notification];
        assert.match(error.message, /duplicate store failed, notification emitted as new: store down/);
        assert.deepEqual(notification, fixture('fail'));
        assert.equal(upgrades.stats().storeErrors, 1);
        assert.equal(upgrades.stats().listenerErrors, 0);
      });
    }

    it('a store answering something other than true means new', async () => {
      const upgrades = createUpgradeRouter({ dedupe: { store: { seen: () => Promise.resolve('yes' as unknown as boolean) } } });
      assert.equal(await upgrades.receive(fixture('fail')), 'upgradeResult');
    });
  });

  it('two notifications that differ only in where a NUL falls are two notifications', async () => {
    const { app, upgrades } = mountedApp();
    const seen = recordEvents(upgrades);
    const base = fresh('fail');
    // Joined by NUL, both gave "...a\0\0b..." : the same key, and the second was lost as a duplicate.
    const first = { ...base, resultDesc: 'a\u0000', errorCode: 'b' };
    const second = { ...base, resultDesc: 'a', errorCode: '\u0000b' };
    await request(app).post(CALLBACK_PATH).send(first).expect(200, '');
    await request(app).post(CALLBACK_PATH).send(second).expect(200, '');
    assert.deepEqual(events(seen), ['upgradeResult', 'upgradeResult']);
  });

  it('refuses a fractional ttl or max with its own message, not a third-party one', () => {
    assert.throws(() => createUpgradeRouter({ dedupe: { ttl: 1.5 } }), /^TypeError: huawei-iot-upgrade-router: dedupe.ttl must be a positive whole number, got 1.5; for example /);
    assert.throws(() => createUpgradeRouter({ dedupe: { max: 10.5 } }), /^TypeError: huawei-iot-upgrade-router: dedupe.max must be a positive whole number, got 10.5; for example /);
  });
});
