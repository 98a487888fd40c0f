// @express-seam: hostile thrown values that reach the host's error handling
import assert from 'node:assert/strict';
import request from 'supertest';
import { createUpgradeRouter, type DedupeStore, type UpgradeRouterOptions } from 'huawei-iot-upgrade-router';
import { CALLBACK_PATH, fresh, mountedApp } from './helpers';

// Listeners, error listeners, loggers and duplicate stores are the user's code: whatever they throw,
// synchronously or as a rejection, the process survives and the failure is reported.

function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

const throwing = (): never => {
  throw new Error('trap');
};

/** Every kind of value a JavaScript function can throw, by name. */
const hostileValues: Array<[string, () => unknown]> = [
  ['undefined', () => undefined],
  ['null', () => null],
  ['a number', () => 42],
  ['an empty string', () => ''],
  ['a symbol', () => Symbol('thrown')],
  ['a BigInt', () => 10n],
  ['a function', () => () => 'x'],
  ['Object.create(null)', () => Object.create(null) as object],
  ['an object whose toString throws', () => ({ toString: throwing })],
  ['an object whose Symbol.toPrimitive throws', () => ({ [Symbol.toPrimitive]: throwing })],
  [
    'an Error whose message getter throws',
    () => {
      const error = new Error('x');
      Object.defineProperty(error, 'message', { get: throwing });
      return error;
    },
  ],
  ['a revoked proxy', revokedProxy],
  ['a proxy whose every trap throws', () => new Proxy({}, { get: throwing, getPrototypeOf: throwing, has: throwing, ownKeys: throwing })],
  ['a thenable whose then getter throws', () => Object.defineProperty({}, 'then', { get: throwing })],
];

type How = 'throws' | 'rejects' | 'returns';
const hows: How[] = ['throws', 'rejects', 'returns'];

/** A function that throws `value`, returns a promise rejected with it, or returns it (a return value is only inspected for `then`). */
function failing(how: How, value: () => unknown): () => unknown {
  return () => {
    const thrown = value();
    if (how === 'throws') throw thrown;
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- rejecting with a non-Error is the point
    if (how === 'rejects') return Promise.reject(thrown);
    return thrown;
  };
}

describe('hostile thrown values from user code (listeners, error listeners, loggers, stores)', () => {
  const escaped: unknown[] = [];
  const onEscape = (error: unknown): number => escaped.push(error);
  before(() => {
    process.on('unhandledRejection', onEscape);
    process.on('uncaughtException', onEscape);
  });
  after(() => {
    process.off('unhandledRejection', onEscape);
    process.off('uncaughtException', onEscape);
  });

  /** Posts one notification and waits for every promise the router discarded to settle. */
  async function post(options: UpgradeRouterOptions, attach: (upgrades: ReturnType<typeof createUpgradeRouter>) => void): Promise<ReturnType<typeof createUpgradeRouter>> {
    const { app, upgrades } = mountedApp(options);
    attach(upgrades);
    await request(app).post(CALLBACK_PATH).send(fresh('success')).expect(200, '');
    await upgrades.drain(2000);
    // An unhandled rejection is reported once the microtasks have run: one turn of the event loop.
    await new Promise(setImmediate);
    assert.deepEqual(escaped.splice(0), [], 'nothing escaped as an uncaught exception or unhandled rejection');
    return upgrades;
  }

  for (const [name, value] of hostileValues) {
    for (const how of hows) {
      // A returned value is a failure only when reading its `then` throws.
      const reported = how !== 'returns' || /thenable|proxy/.test(name);
      describe(`${how} ${name}`, () => {
        it('from a listener: reported as an Error to the error listener', async () => {
          const errors: unknown[] = [];
          const upgrades = await post({}, (u) => {
            u.on('upgradeResult', failing(how, value));
            u.on('error', (error) => void errors.push(error));
          });
          assert.equal(errors.length, reported ? 1 : 0);
          for (const error of errors) assert.ok(error instanceof Error);
          // A value that is not an Error is wrapped, said in the message, and kept as the cause.
          if (how !== 'returns' && !name.startsWith('an Error')) {
            assert.match((errors[0] as Error).message, /^a listener threw a non-Error value: /);
            const cause: unknown = (errors[0] as Error).cause;
            assert.ok(cause === value() || typeof cause === typeof value() || typeof value() === 'function');
          }
          assert.equal(upgrades.stats().listenerErrors, reported ? 1 : 0);
        });

        it('from an error listener: written to the logger', async () => {
          const lines: unknown[][] = [];
          await post({ logger: { error: (...args: unknown[]) => void lines.push(args) } }, (u) => {
            u.on('upgradeResult', () => {
              throw new Error('first failure');
            });
            u.on('error', failing(how, value));
          });
          assert.equal(lines.length, reported ? 1 : 0);
          if (reported) assert.match(String(lines[0]?.[0]), /an error listener failed/);
          if (reported && how !== 'returns' && !name.startsWith('an Error')) assert.match((lines[0]?.[1] as Error).message, /^an error listener threw a non-Error value: /);
        });

        it('from the logger, with no error listener: swallowed, the host lives', async () => {
          await post({ logger: { error: failing(how, value) } }, (u) =>
            u.on('upgradeResult', () => {
              throw new Error('unheard failure');
            }),
          );
        });

        it('from a duplicate store: emitted as new, reported as error', async () => {
          const errors: Error[] = [];
          const events: string[] = [];
          const store = { seen: failing(how, value) } as DedupeStore;
          await post({ dedupe: { store } }, (u) => {
            u.on('upgradeResult', () => void events.push('upgradeResult'));
            u.on('duplicate', () => void events.push('duplicate'));
            u.on('error', (error) => void errors.push(error));
          });
          // A store that answers anything but true (or a promise of it) has not seen the notification.
          assert.deepEqual(events, ['upgradeResult']);
          assert.equal(errors.length, reported ? 1 : 0);
          if (reported) {
            assert.match(errors[0]?.message ?? '', /^duplicate store failed, notification emitted as new: /);
            assert.ok(errors[0]?.cause !== undefined || value() === undefined, 'the store failure is kept as cause');
          }
        });
      });
    }
  }
});
