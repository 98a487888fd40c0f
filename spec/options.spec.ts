import assert from 'node:assert/strict';
import { createUpgradeDashboard, createUpgradeRouter, type UpgradeRouterOptions } from 'huawei-iot-upgrade-router';
import { startPlatformEmulator } from 'huawei-iot-upgrade-router/emulator';
import { createPlatformClient } from 'huawei-iot-upgrade-router/platform';
import { postgresJournal } from 'huawei-iot-upgrade-router/postgres';
import { registerMetrics } from 'huawei-iot-upgrade-router/prometheus';
import { createReconciler } from 'huawei-iot-upgrade-router/reconcile';
import { createRollouts, planRollout } from 'huawei-iot-upgrade-router/rollout';
import { redisDedupeStore } from 'huawei-iot-upgrade-router/redis';
import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';

// Options are checked, not guessed: each mistake a new user made, and each option given
// the wrong kind of value, is refused with a TypeError that names the option and shows how to write it.
const refuse = (options: unknown, message: RegExp): void => {
  assert.throws(
    () => createUpgradeRouter(options as UpgradeRouterOptions),
    (error: unknown) => error instanceof TypeError && message.test(error.message) && error.message.startsWith('huawei-iot-upgrade-router: '),
    `${JSON.stringify(options)} should be refused with ${message}`,
  );
};

describe('options are checked, not guessed', () => {
  describe('the mistakes that lost results', () => {
    const mistakes: Array<[string, unknown, RegExp]> = [
      ['allow: { ip: [...] }, a typo for ips', { allow: { ip: ['203.0.113.0/24'] } }, /^huawei-iot-upgrade-router: unknown option allow\.ip: did you mean allow\.ips\?$/],
      ["allow: '203.0.113.0/24', a string", { allow: '203.0.113.0/24' }, /allow must be an object, got the string "203\.0\.113\.0\/24"; for example allow: \{ ips: /],
      ["token: 'x' at the top level", { token: 'x' }, /unknown option token: did you mean allow\.token\?/],
      ["types: 'swUpgradeResultNotify', a string", { types: 'swUpgradeResultNotify' }, /types must be an array, got the string "swUpgradeResultNotify"; for example types: \['swUpgradeResultNotify'/],
      ["ips: '10.0.0.0/8', a string", { allow: { ips: '10.0.0.0/8' } }, /allow\.ips must be an array, got the string "10\.0\.0\.0\/8"/],
      ['token: 12345, a number', { allow: { token: 12345 } }, /allow\.token must be a non-empty string, got 12345/],
      ['logger: console.log, a function', { logger: console.log }, /logger must be an object with an error\(\) method, got a function; for example logger: console/],
    ];
    for (const [name, options, message] of mistakes) it(`${name}: refused`, () => refuse(options, message));

    it('dedupe.ttl: 900 (seconds by mistake): warned through the logger, once, with the likely value', () => {
      const warnings: unknown[][] = [];
      createUpgradeRouter({ dedupe: { ttl: 900 }, logger: { error: () => {}, warn: (...args: unknown[]) => void warnings.push(args) } });
      assert.equal(warnings.length, 1);
      assert.match(String(warnings[0]?.[0]), /dedupe\.ttl is 900 ms, under a second.*did you mean 900000 \(900 s\)\?/);
    });

    it('a logger without warn() gets warnings through error()', () => {
      const lines: unknown[][] = [];
      createUpgradeRouter({ dedupe: { ttl: 500 }, logger: { error: (...args: unknown[]) => void lines.push(args) } });
      assert.match(String(lines[0]?.[0]), /dedupe\.ttl is 500 ms/);
    });
  });

  describe('every option, given the wrong kind of value', () => {
    const wrong: Array<[string, unknown, RegExp]> = [
      ['options itself', 'fast', /options must be an object, got the string "fast"/],
      ['limit', { limit: 'lots' }, /limit must be a byte count or a size such as '64kb', got the string "lots"/],
      ['limit < 0', { limit: -1 }, /limit must be a byte count/],
      ['limit as an object', { limit: { kb: 64 } }, /limit must be a byte count .*got an object/],
      ['logger', { logger: {} }, /logger must be an object with an error\(\) method, got an object/],
      ['types: []', { types: [] }, /types must not be empty/],
      ['types: an unknown notifyType', { types: ['deviceAdded'] }, /types\[0\] must be "swUpgradeResultNotify" or .* got the string "deviceAdded"/],
      ['dedupe: true', { dedupe: true }, /dedupe must be false or an object, got true; for example dedupe: \{ ttl: 15 \* 60_000 \} or dedupe: false/],
      ['dedupe.ttl: "15m"', { dedupe: { ttl: '15m' } }, /dedupe\.ttl must be a positive whole number, got the string "15m"; for example dedupe: \{ ttl: 15 \* 60_000 \} \(milliseconds\)/],
      ['dedupe.max: 0', { dedupe: { max: 0 } }, /dedupe\.max must be a positive whole number, got 0/],
      ['dedupe.store without seen()', { dedupe: { store: { get: () => false } } }, /dedupe\.store must be an object with a seen\(\) method, got an object/],
      ['allow.ips: [42]', { allow: { ips: [42] } }, /allow\.ips\[0\] must be an IP address or CIDR range, got 42/],
      ['allow.ips: ["10.0.0.0/33"]', { allow: { ips: ['10.0.0.0/33'] } }, /allow\.ips\[0\] must be an IP address or CIDR range, got the string "10\.0\.0\.0\/33"/],
      ['allow.token: "a+b"', { allow: { token: 'a+b' } }, /allow\.token may hold only letters, digits and - \. _ ~/],
      ['allow.mode: "warn"', { allow: { ips: ['10.0.0.0/8'], mode: 'warn' } }, /allow\.mode must be "enforce" or "report", got the string "warn"/],
      ['unknownTypes: "pass"', { unknownTypes: 'pass' }, /unknownTypes must be "invalid" or "next", got the string "pass"/],
      ['limit: null', { limit: null }, /limit must be a byte count .*got null/],
      ['limit: true', { limit: true }, /limit must be a byte count .*got true/],
      ['limit: a symbol', { limit: Symbol('64kb') }, /limit must be a byte count .*got symbol/],
      ['a long string, quoted in part', { unknownTypes: 'x'.repeat(100) }, /got the string "x{40}…"; for example/],
    ];
    for (const [name, options, message] of wrong) it(`${name}: refused, named, with an example`, () => refuse(options, message));
  });

  describe('unknown keys, at every level, with the nearest known name', () => {
    const unknown: Array<[unknown, RegExp]> = [
      [{ lmit: '64kb' }, /unknown option lmit: did you mean limit\?/],
      [{ Limit: '64kb' }, /unknown option Limit: did you mean limit\?/],
      [{ dedupe: { tll: 60_000 } }, /unknown option dedupe\.tll: did you mean dedupe\.ttl\?/],
      [{ dedupe: { ttlMs: 60_000 } }, /unknown option dedupe\.ttlMs: did you mean dedupe\.ttl\?/],
      [{ allow: { tokens: 'x' } }, /unknown option allow\.tokens: did you mean allow\.token\?/],
      [{ ips: ['10.0.0.0/8'] }, /unknown option ips: did you mean allow\.ips\?/],
      [{ unknownType: 'next' }, /unknown option unknownType: did you mean unknownTypes\?/],
      [{ colour: 'blue' }, /unknown option colour; known options: limit, logger, types, dedupe, allow, unknownTypes, journal, delivery, onJournalError$/],
      [{ dedupe: { colour: 'blue' } }, /unknown option dedupe\.colour; known options: dedupe\.ttl, dedupe\.max, dedupe\.store$/],
    ];
    for (const [options, message] of unknown) it(`${JSON.stringify(options)}: refused`, () => refuse(options, message));
  });

  describe('what stays allowed', () => {
    const fine: unknown[] = [
      undefined,
      {},
      { limit: 1024 },
      { limit: '1mb' },
      { limit: undefined, logger: undefined }, // a default left undefined on purpose is the default
      { logger: console },
      { logger: new (class Logger {
        error(): void {}
      })() },
      { types: ['fwUpgradeResultNotify'] },
      { dedupe: false },
      { dedupe: { ttl: 60_000, max: 5 } },
      { dedupe: { store: { seen: () => false } } },
      { allow: { ips: ['0.0.0.0/0'], token: 'Ab9-._~', mode: 'report' } },
      { unknownTypes: 'next' },
    ];
    for (const options of fine) {
      it(options === undefined ? 'undefined' : JSON.stringify(options), () => {
        assert.doesNotThrow(() => createUpgradeRouter(options as UpgradeRouterOptions));
      });
    }
  });
});

describe('every public factory checks its options the same way', () => {
  // A misspelling of a real option of each: the same TypeError, the same did-you-mean, the same code.
  const factories: Array<[string, () => unknown, RegExp]> = [
    ['createUpgradeRouter', () => createUpgradeRouter({ lmit: '64kb' } as never), /unknown option lmit: did you mean limit\?/],
    ['sqliteJournal', () => sqliteJournal({ path: 'x.db', retainDay: 3 } as never), /unknown option retainDay: did you mean retainDays\?/],
    ['postgresJournal', () => postgresJournal({ connectionStrng: 'postgres://x' } as never), /unknown option connectionStrng: did you mean connectionString\?/],
    ['redisDedupeStore', () => redisDedupeStore({ urll: 'redis://x' } as never), /unknown option urll: did you mean url\?/],
    ['registerMetrics', () => registerMetrics(createUpgradeRouter(), { prefx: 'x_' } as never), /unknown option prefx: did you mean prefix\?/],
    ['createUpgradeDashboard', () => createUpgradeDashboard({ router: createUpgradeRouter(), staleAfter: 1000 } as never), /unknown option staleAfter: did you mean staleAfterMs\?/],
    ['createPlatformClient', () => createPlatformClient({ url: 'https://x', appId: 'a', secret: 's', retrie: 1 } as never), /unknown option retrie: did you mean retries\?/],
    ['createRollouts', () => createRollouts({ router: createUpgradeRouter(), client: createPlatformClient({ url: 'https://x', appId: 'a', secret: 's' }), tickMS: 1 } as never), /unknown option tickMS: did you mean tickMs\?/],
    ['planRollout', () => planRollout({ fileId: 'f', devices: ['d'], soak: 1 } as never), /unknown option soak: did you mean soakMs\?/],
    ['createReconciler', () => createReconciler({ router: createUpgradeRouter(), client: createPlatformClient({ url: 'https://x', appId: 'a', secret: 's' }), intervalMS: 1 } as never), /unknown option intervalMS: did you mean intervalMs\?/],
  ];
  for (const [name, make, message] of factories) {
    it(`${name}: a misspelt option is a TypeError with ERR_INVALID_OPTION and the nearest name`, () => {
      assert.throws(make, (error: unknown) => error instanceof TypeError && (error as TypeError & { code?: unknown }).code === 'ERR_INVALID_OPTION' && message.test(error.message));
    });
  }

  it('startPlatformEmulator: the same', async () => {
    await assert.rejects(startPlatformEmulator({ sped: 60 } as never), (error: unknown) => error instanceof TypeError && (error as TypeError & { code?: unknown }).code === 'ERR_INVALID_OPTION' && /did you mean speed\?/.test(error.message));
  });
});
