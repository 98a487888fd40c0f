import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createUpgradeRouter, type SwUpgradeResultNotify } from 'huawei-iot-upgrade-router';
import { fixture } from './helpers';

// The in-memory store's promises, checked against a model on a clock the spec moves:
// remembered for ttl to the millisecond; the last `max` always remembered, never more than
// 4/3 × max (in thirds, rounded up) held. Date.now is the store's clock; it is replaced only while a router is built and fed.
const realNow = Date.now;
let clock = 0;

function withClock<T>(run: () => T): T {
  Date.now = () => clock;
  try {
    return run();
  } finally {
    Date.now = realNow;
  }
}

const base = fixture('success');
const pushOf = (key: number): SwUpgradeResultNotify => ({ ...base, subOperationId: `sub-${key}` });

type Step = { kind: 'push'; key: number } | { kind: 'wait'; ms: number };

describe('duplicate suppression in memory: generations of digests', () => {
  afterEach(() => {
    Date.now = realNow;
  });

  it('remembers each notification for exactly ttl, and the last max at least, 4/3 x max at most', () => {
    const step: fc.Arbitrary<Step> = fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('push' as const), key: fc.nat(20) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.oneof(fc.nat(1500), fc.nat(6000)) }) },
    );
    fc.assert(
      fc.property(fc.integer({ min: 3000, max: 12_000 }), fc.integer({ min: 1, max: 12 }), fc.array(step, { maxLength: 200, size: 'medium' }), (ttl, max, steps) => {
        clock = 1_000_000;
        const upgrades = withClock(() => createUpgradeRouter({ dedupe: { ttl, max } }));
        upgrades.on('upgradeResult', () => {});
        // Each notification remembered: when it went in, and how many went in before it.
        const remembered = new Map<number, { at: number; order: number }>();
        let inserted = 0;
        for (const s of steps) {
          if (s.kind === 'wait') {
            clock += s.ms;
            continue;
          }
          const outcome = withClock(() => upgrades.receive(pushOf(s.key)));
          const last = remembered.get(s.key);
          const age = last === undefined ? Infinity : clock - last.at;
          const newer = last === undefined ? Infinity : inserted - last.order - 1;
          if (age < ttl && newer < max) assert.equal(outcome, 'duplicate', `forgotten after ${age} ms (ttl ${ttl}) and ${newer} newer (max ${max})`);
          const third = Math.ceil(max / 3);
          if (age >= ttl || newer >= 4 * third) assert.equal(outcome, 'upgradeResult', `remembered after ${age} ms (ttl ${ttl}) and ${newer} newer (max ${max})`);
          if (outcome === 'upgradeResult') remembered.set(s.key, { at: clock, order: inserted++ });
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('a flood after quiet spells drops no generation that the last max still need', () => {
    // Generations left part-full by the clock must not make a flood evict early: with max 12 (a
    // third is 4) and ttl 3 s, the one pushed 2 s before the flood is among the last 12.
    clock = 0;
    const upgrades = withClock(() => createUpgradeRouter({ dedupe: { ttl: 3000, max: 12 } }));
    upgrades.on('upgradeResult', () => {});
    withClock(() => upgrades.receive(pushOf(1000)));
    clock += 1000;
    withClock(() => upgrades.receive(pushOf(1001)));
    clock += 1000;
    for (let key = 0; key < 10; key += 1) withClock(() => upgrades.receive(pushOf(key)));
    assert.equal(withClock(() => upgrades.receive(pushOf(1000))), 'duplicate');
  });

  it('remembers a notification for the whole ttl and not a millisecond more', () => {
    clock = 0;
    const upgrades = withClock(() => createUpgradeRouter({ dedupe: { ttl: 3000 } }));
    upgrades.on('upgradeResult', () => {});
    withClock(() => upgrades.receive(pushOf(1)));
    clock = 999;
    withClock(() => upgrades.receive(pushOf(2)));
    clock = 999 + 2999;
    assert.equal(withClock(() => upgrades.receive(pushOf(2))), 'duplicate');
    clock = 999 + 3000;
    assert.equal(withClock(() => upgrades.receive(pushOf(2))), 'upgradeResult');
    // Remembered again from then on.
    clock += 2999;
    assert.equal(withClock(() => upgrades.receive(pushOf(2))), 'duplicate');
  });

  it('tells apart any two notifications that differ in a documented field, whatever the characters', () => {
    // Including lone surrogates and code units with the top bit set: the digest reads UTF-16 units.
    const text = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 });
    const field = fc.constantFrom('deviceId', 'appId', 'operationId', 'subOperationId', 'curVersion', 'resultDesc', 'errorCode', 'description');
    const upgrades = createUpgradeRouter();
    upgrades.on('upgradeResult', () => {});
    let run = 0;
    fc.assert(
      fc.property(field, text, text, (name, one, other) => {
        fc.pre(one !== other);
        run += 1;
        // sourceVersion keeps each run its own (the fields under test and the split ones are others).
        const own = { ...base, sourceVersion: `run-${run}` };
        assert.equal(upgrades.receive({ ...own, [name]: one }), 'upgradeResult');
        assert.equal(upgrades.receive({ ...own, [name]: other }), 'upgradeResult');
        assert.equal(upgrades.receive({ ...own, [name]: one }), 'duplicate');
        // The same characters split differently across two neighbouring fields are other notifications.
        for (let split = 0; split <= one.length; split += 1) {
          assert.equal(upgrades.receive({ ...own, curVersion: one.slice(0, split), targetVersion: one.slice(split) }), 'upgradeResult', `split at ${split}`);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('after an idle spell longer than the ttl, forgets everything', () => {
    clock = 5_000;
    const upgrades = withClock(() => createUpgradeRouter({ dedupe: { ttl: 900 } }));
    withClock(() => upgrades.receive(pushOf(1)));
    clock += 899;
    assert.equal(withClock(() => upgrades.receive(pushOf(1))), 'duplicate');
    clock += 10_000;
    assert.equal(withClock(() => upgrades.receive(pushOf(1))), 'upgradeResult');
  });

  it('under a flood of 20 000 distinct notifications, remembers the last max and forgets the oldest', () => {
    const upgrades = createUpgradeRouter({ dedupe: { max: 1000 } });
    upgrades.on('upgradeResult', () => {});
    for (let key = 0; key < 20_000; key += 1) upgrades.receive(pushOf(key));
    // The last thousand are remembered; the first thousand are long gone.
    for (let key = 19_000; key < 20_000; key += 1) assert.equal(upgrades.receive(pushOf(key)), 'duplicate', `key ${key}`);
    for (let key = 0; key < 1000; key += 1) assert.equal(upgrades.receive(pushOf(key)), 'upgradeResult', `key ${key}`);
  });
});
