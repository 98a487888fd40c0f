// This subpath is the only module that loads ioredis: users who never import it need not install it.
import { once } from 'node:events';
import { Redis, type RedisOptions } from 'ioredis';
import type { DedupeStore } from '../core/dedupe';
import { checkOptions, checks } from '../core/option-checks';
import { codedError } from '../core/errors';

export interface RedisDedupeStoreOptions {
  /** A Redis URL (`redis://host:6379/0`) for a client this store creates and owns. Default: redis://127.0.0.1:6379. */
  url?: string;
  /** A client of your own (ioredis) instead of `url`; you keep closing it. */
  client?: Redis;
  /** Prefix of every key, so one Redis can serve several applications. Default 'huawei-iot-upgrade-router:'. */
  prefix?: string;
  /**
   * How long one check may take before the store gives up, in ms. Default 250. A store that gives up
   * fails open: the router emits the notification as new and reports the failure as `error`.
   */
  timeoutMs?: number;
}

export interface RedisDedupeStore extends DedupeStore {
  /** Closes the client the store created from `url` (a client you passed in is left alone). */
  close(): Promise<void>;
}

const DEFAULT_PREFIX = 'huawei-iot-upgrade-router:';

/**
 * A duplicate store shared by several instances: `SET key 1 NX PX ttl` checks and sets in one atomic
 * command, so of two instances that receive the same notification at once exactly one sees it as new.
 */
export function redisDedupeStore(options: RedisDedupeStoreOptions = {}): RedisDedupeStore {
  // A misspelt `urll` used to pass unchecked and the store connected to localhost.
  checkOptions(options, {
    url: { check: checks.nonEmptyString, example: 'redisDedupeStore({ url: process.env.REDIS_URL })', presentMeansSet: true },
    client: { check: checks.withMethod('set'), example: 'redisDedupeStore({ client: new Redis(...) }) (an ioredis client)' },
    prefix: { check: checks.nonEmptyString, example: "redisDedupeStore({ url, prefix: 'my-app:' })" },
    timeoutMs: { check: checks.wholeNumber, example: 'redisDedupeStore({ url, timeoutMs: 250 }) (milliseconds)' },
  });
  const timeoutMs = options.timeoutMs ?? 250;
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const owned = options.client === undefined;
  const client = options.client ?? createClient(options.url ?? 'redis://127.0.0.1:6379', timeoutMs);
  // One wait for 'ready' shared by every lookup that arrives while the client connects: a listener
  // pair per lookup made Node warn of a leak past ten.
  let ready: Promise<unknown> | undefined;
  const whenReady = (): Promise<unknown> => {
    if (ready === undefined) {
      ready = once(client, 'ready').finally(() => (ready = undefined));
      // A client created with lazyConnect waits for a first command that, without an offline
      // queue, it refuses: start the connection ourselves. Its failure is the
      // lookup's timeout, already reported.
      if (client.status === 'wait') client.connect().catch(noop);
    }
    return ready;
  };

  return {
    async seen(key, ttlMs) {
      // The first notifications may arrive while the client is still connecting: wait for it, within
      // the same timeout. Once connected, a lost connection fails fast (no offline queue).
      if (client.status === 'wait' || client.status === 'connecting' || client.status === 'connect') {
        await withTimeout(whenReady(), timeoutMs);
      }
      const reply = await withTimeout(client.set(`${prefix}${key}`, '1', 'PX', Math.ceil(ttlMs), 'NX'), timeoutMs);
      // 'OK': the key was set now, so the notification is new; null: it was there already.
      return reply === null;
    },
    async close() {
      if (owned) await client.quit().catch(() => client.disconnect());
    },
  };
}

function createClient(url: string, timeoutMs: number): Redis {
  const options: RedisOptions = {
    // Fail fast while Redis is away (the router then fails open) instead of queueing the commands
    // until it is back; ioredis keeps reconnecting on its own, so the store recovers by itself.
    enableOfflineQueue: false,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    lazyConnect: false,
  };
  const client = new Redis(url, options);
  // Connection errors surface as failed commands (reported as `error` events by the router);
  // without a listener ioredis would print each reconnection failure.
  client.on('error', () => {});
  return client;
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(codedError('ERR_DEDUPE_STORE_TIMEOUT', `Redis did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function noop(): void {}
