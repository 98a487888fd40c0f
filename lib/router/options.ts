import { parse as parseBytes } from 'bytes';
import { log, type Logger } from '../core/log';
import { DEFAULT_DEDUPE_MAX, DEFAULT_DEDUPE_TTL, MemoryDedupe, type DedupeOptions, type ResolvedDedupe } from '../core/dedupe';
import { notifyTypes, type NotifyType } from '../core/notification-types';
import { checkOptions, checks, kindOf, type OptionTable } from '../core/option-checks';
import { DEFAULT_DELIVERY, type DeliveryOptions, type ResolvedDelivery } from '../journal/delivery';
import type { Journal } from '../journal/journal';
import { createAccessCheck, isIpRule, TOKEN_ALPHABET, type AccessCheck, type AllowOptions } from '../transport/access';
import { codedError } from '../core/errors';

export interface UpgradeRouterOptions {
  /**
   * The largest body accepted, after gzip/deflate/br is undone: bytes, or a string such as '64kb'.
   * A larger one is answered 200, cut off there, and emitted as `invalid` with reason `too_large`.
   * Default '64kb' (real notifications are under 1 KB).
   */
  limit?: number | string;
  /** Where failures that no `error` listener takes, and warnings, are written: console, pino, winston. Default: console. */
  logger?: Logger;
  /** The notifyType values this router handles; others are `invalid` with reason `unknown_type`. Default: all. */
  types?: readonly NotifyType[];
  /** Duplicate suppression: on by default (15 minutes, 10 000 notifications, in memory); `false` turns it off. */
  dedupe?: false | DedupeOptions;
  /** Access control, off by default: callers refused are answered 200 and emitted as `invalid`, reason `forbidden`. */
  allow?: AllowOptions;
  /**
   * What a JSON object with a notifyType this router does not handle becomes: `'invalid'` (default), an
   * `invalid` event with reason `unknown_type`; or `'next'`, handed to the next Express middleware with
   * `req.body` set, for the host to answer (the platform sends every push type of an application to one
   * address, so `deviceDataChanged` or `commandRsp` may share the callback path).
   */
  unknownTypes?: 'invalid' | 'next';
  /**
   * A durable journal (`sqliteJournal` from 'huawei-iot-upgrade-router/sqlite', `postgresJournal` from
   * '.../postgres'): every push is committed before its 200, and delivered to listeners until they
   * succeed (at least once). Without one, delivery is at most once.
   */
  journal?: Journal;
  /** With a journal: retries and how many deliveries run at once. */
  delivery?: DeliveryOptions;
  /**
   * With a journal, when a commit fails (disk full, database down): 'deliver' (default) answers 200
   * and delivers from memory, once; 'refuse' answers 503 so that the platform keeps the push and sends
   * it again, at the risk of the callback URL being marked invalid after ten failures.
   */
  onJournalError?: 'deliver' | 'refuse';
}

export interface ResolvedOptions {
  limit: number;
  logger: Logger;
  types: readonly NotifyType[];
  dedupe: ResolvedDedupe | undefined;
  access: AccessCheck | undefined;
  /** allow.mode 'report': a caller that fails is reported (`forbidden` event) but served. */
  reportOnly: boolean;
  /** allow.ips is set: requests carrying X-Forwarded-For without `trust proxy` deserve a warning. */
  checksIps: boolean;
  passUnknownTypes: boolean;
  journal: { journal: Journal; delivery: ResolvedDelivery } | undefined;
}

export const DEFAULT_LIMIT = 64 * 1024;

/**
 * The smallest `limit` accepted: the platform's pushes are under 1 KB, but their text fields have no
 * documented length. Under this, a limit is a unit mistake (`limit: 64` is 64 bytes, not 64 kB) that
 * turns every real push into `too_large`.
 */
export const MIN_LIMIT = 1024;

const isSize = (value: unknown): string | undefined => {
  const bytes = typeof value === 'number' || typeof value === 'string' ? parseBytes(value) : null;
  if (bytes === null || !Number.isFinite(bytes) || bytes < 0) return `must be a byte count or a size such as '64kb', got ${kindOf(value)}`;
  if (bytes < MIN_LIMIT) return `must be at least ${MIN_LIMIT} bytes ('1kb'), got ${kindOf(value)} (${bytes} bytes), which would refuse real pushes as too_large; did you mean '${String(value)}kb'?`;
  return undefined;
};

/** What each option must be, and how it is written correctly (the message shows the example). */
const optionTable: OptionTable = {
  limit: { check: isSize, example: "limit: '64kb'" },
  logger: { check: checks.withMethod('error'), example: 'logger: console (or a pino or winston logger: an object with error(), not a function)' },
  types: { check: checks.arrayOf(checks.oneOf(...notifyTypes), { nonEmpty: true }), example: "types: ['swUpgradeResultNotify', 'fwUpgradeResultNotify']" },
  dedupe: {
    check: checks.falseOrObject,
    example: 'dedupe: { ttl: 15 * 60_000 } or dedupe: false',
    keys: {
      ttl: { check: checks.wholeNumber, example: 'dedupe: { ttl: 15 * 60_000 } (milliseconds)' },
      max: { check: checks.wholeNumber, example: 'dedupe: { max: 10_000 }' },
      store: { check: checks.withMethod('seen'), example: "dedupe: { store: redisDedupeStore({ url }) } (an object with seen(key, ttlMs))" },
    },
  },
  allow: {
    check: checks.object,
    example: "allow: { ips: ['203.0.113.0/24'], token: process.env.CALLBACK_TOKEN }",
    presentMeansSet: true,
    keys: {
      ips: {
        check: checks.arrayOf((rule) => (isIpRule(rule) ? undefined : `must be an IP address or CIDR range, got ${kindOf(rule)}`), { nonEmpty: true }),
        example: "allow: { ips: ['203.0.113.0/24', '2001:db8::/32'] } (an empty list would refuse everyone: leave ips out to accept any address)",
        presentMeansSet: true,
      },
      token: {
        check: (value) =>
          checks.nonEmptyString(value) ??
          (TOKEN_ALPHABET.test(value as string) ? undefined : 'may hold only letters, digits and - . _ ~ (other characters change on their way through a URL)'),
        example: 'allow: { token: process.env.CALLBACK_TOKEN } with a token made by `openssl rand -hex 32`',
        presentMeansSet: true,
      },
      mode: { check: checks.oneOf('enforce', 'report'), example: "allow: { ips: [...], mode: 'report' } (serve everyone, report who would be refused)" },
    },
  },
  unknownTypes: { check: checks.oneOf('invalid', 'next'), example: "unknownTypes: 'next'" },
  journal: {
    check: (value) => checks.withMethod('append')(value) ?? checks.withMethod('claim')(value),
    example: "journal: sqliteJournal({ path: './data/upgrades.db' }) (import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite')",
  },
  delivery: {
    check: checks.object,
    example: 'delivery: { attempts: 8, backoffMs: 1000 }',
    keys: {
      attempts: { check: checks.wholeNumber, example: 'delivery: { attempts: 8 } (the first attempt included)' },
      backoffMs: { check: checks.wholeNumber, example: 'delivery: { backoffMs: 1000 } (milliseconds, doubled after each failure)' },
      maxBackoffMs: { check: checks.wholeNumber, example: 'delivery: { maxBackoffMs: 5 * 60_000 } (milliseconds)' },
      concurrency: { check: checks.wholeNumber, example: 'delivery: { concurrency: 100 }' },
      timeoutMs: {
        check: (value) => checks.wholeNumber(value) ?? ((value as number) < 1000 ? `must be at least 1000 ms, got ${value as number}: it is in milliseconds` : undefined),
        example: 'delivery: { timeoutMs: 5 * 60_000 } (milliseconds)',
      },
      reviveDead: { check: checks.oneOf(true, false), example: 'delivery: { reviveDead: true }' },
    },
  },
  onJournalError: { check: checks.oneOf('deliver', 'refuse'), example: "onJournalError: 'deliver'" },
};

function fail(message: string): never {
  throw codedError('ERR_INVALID_OPTION', `huawei-iot-upgrade-router: ${message}`, { kind: TypeError });
}

// Settings that cannot do what they say are refused, not ignored: a user who set them believes them.
function resolveJournal(options: UpgradeRouterOptions): ResolvedOptions['journal'] {
  const { journal, dedupe } = options;
  if (journal === undefined) {
    for (const key of ['delivery', 'onJournalError'] as const) {
      if (options[key] !== undefined) fail(`${key} needs a journal (retries and commits happen only with one); for example journal: sqliteJournal({ path: './data/upgrades.db' })`);
    }
    return undefined;
  }
  if (dedupe !== undefined && dedupe !== false) {
    const set = (['max', 'store'] as const).filter((key) => dedupe[key] !== undefined);
    if (set.length > 0) {
      fail(
        `dedupe.${set.join(', dedupe.')} does not apply with a journal: the journal itself recognises a re-send within dedupe.ttl, ` +
          `across restarts and instances. Leave them out (dedupe.ttl still applies), or set dedupe: false to journal every push as new`,
      );
    }
  }
  return {
    journal,
    delivery: {
      attempts: options.delivery?.attempts ?? DEFAULT_DELIVERY.attempts,
      backoffMs: options.delivery?.backoffMs ?? DEFAULT_DELIVERY.backoffMs,
      maxBackoffMs: options.delivery?.maxBackoffMs ?? DEFAULT_DELIVERY.maxBackoffMs,
      concurrency: options.delivery?.concurrency ?? DEFAULT_DELIVERY.concurrency,
      timeoutMs: options.delivery?.timeoutMs ?? DEFAULT_DELIVERY.timeoutMs,
      reviveDead: options.delivery?.reviveDead ?? DEFAULT_DELIVERY.reviveDead,
      // Duplicates are what the platform re-sends, within its window: the same state reported again
      // later is a report of its own.
      dedupeWindowMs: dedupe === false ? 0 : (dedupe?.ttl ?? DEFAULT_DEDUPE_TTL),
      refuse: options.onJournalError === 'refuse',
      keyed: dedupe !== false,
    },
  };
}

/** How long under which a dedupe.ttl is almost certainly seconds meant as milliseconds. */
const TTL_UNIT_WARNING = 1000;

export function resolveOptions(options: UpgradeRouterOptions = {}): ResolvedOptions {
  checkOptions(options, optionTable);
  const logger = options.logger ?? console;
  const journal = resolveJournal(options);
  const dedupe = options.dedupe === false || journal !== undefined ? undefined : resolveDedupe(options.dedupe, logger);
  return {
    limit: options.limit === undefined ? DEFAULT_LIMIT : (parseBytes(options.limit) as number),
    logger,
    types: options.types ?? notifyTypes,
    dedupe,
    access: createAccessCheck(options.allow),
    reportOnly: options.allow?.mode === 'report',
    checksIps: options.allow?.ips !== undefined,
    passUnknownTypes: options.unknownTypes === 'next',
    journal,
  };
}

function resolveDedupe(dedupe: DedupeOptions | undefined, logger: Logger): ResolvedOptions['dedupe'] {
  const ttl = dedupe?.ttl ?? DEFAULT_DEDUPE_TTL;
  if (ttl < TTL_UNIT_WARNING) {
    log(logger, 'warn', `dedupe.ttl is ${ttl} ms, under a second: re-sends arriving later pass as new notifications. It is in milliseconds; did you mean ${ttl * 1000} (${ttl} s)?`);
  }
  if (dedupe?.store !== undefined) return { store: dedupe.store, ttl };
  return { memory: new MemoryDedupe(dedupe?.max ?? DEFAULT_DEDUPE_MAX, ttl) };
}

