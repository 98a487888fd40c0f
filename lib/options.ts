import { parse as parseBytes } from 'bytes';
import type { Logger } from './core/emitter';
import { DEFAULT_DEDUPE_MAX, DEFAULT_DEDUPE_TTL, MemoryDedupeStore, type DedupeOptions, type DedupeStore } from './core/dedupe';
import { notifyTypes, type NotifyType } from './notification-types';
import { createAccessCheck, type AccessCheck, type AllowOptions } from './transport/access';

export interface UpgradeRouterOptions {
  /**
   * The largest body accepted, after gzip/deflate/br is undone: bytes, or a string such as '64kb'.
   * A larger one is answered 200, cut off there, and emitted as `invalid` with reason `too_large`.
   * Default '64kb' (real notifications are under 1 KB).
   */
  limit?: number | string;
  /** Where failures that no `error` listener takes are written. Default: console. */
  logger?: Logger;
  /** The notifyType values this router handles; others are `invalid` with reason `unknown_type`. Default: all. */
  types?: readonly NotifyType[];
  /** Duplicate suppression: on by default (15 minutes, 10 000 notifications, in memory); `false` turns it off. */
  dedupe?: false | DedupeOptions;
  /** Access control, off by default: callers refused are answered 200 and emitted as `invalid`, reason `forbidden`. */
  allow?: AllowOptions;
}

export interface ResolvedOptions {
  limit: number;
  logger: Logger;
  types: readonly NotifyType[];
  dedupe: { store: DedupeStore; ttl: number } | undefined;
  access: AccessCheck | undefined;
}

export const DEFAULT_LIMIT = 64 * 1024;

const fail = (message: string): never => {
  throw new TypeError(`huawei-iot-upgrade-router: ${message}`);
};

// Whole milliseconds and whole entries: lru-cache refuses fractions with an error of its own.
function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  return Number.isSafeInteger(value) && value > 0 ? value : fail(`${name} must be a positive whole number, got ${String(value)}`);
}

function resolveDedupe(dedupe: UpgradeRouterOptions['dedupe']): ResolvedOptions['dedupe'] {
  if (dedupe === false) return undefined;
  const ttl = positiveInteger(dedupe?.ttl, DEFAULT_DEDUPE_TTL, 'dedupe.ttl');
  const max = positiveInteger(dedupe?.max, DEFAULT_DEDUPE_MAX, 'dedupe.max');
  const store = dedupe?.store ?? new MemoryDedupeStore(max, ttl);
  if (typeof store.seen !== 'function') fail('dedupe.store must have a seen(key, ttlMs) method');
  return { store, ttl };
}

export function resolveOptions(options: UpgradeRouterOptions): ResolvedOptions {
  const limit = options.limit === undefined ? DEFAULT_LIMIT : parseBytes(options.limit);
  if (limit === null || !Number.isFinite(limit) || limit < 0) {
    fail(`limit must be a byte count or a size such as '64kb', got ${String(options.limit)}`);
  }
  const types = options.types ?? notifyTypes;
  for (const type of types) if (!notifyTypes.includes(type)) fail(`types has ${JSON.stringify(type)}, which is not one of ${notifyTypes.join(', ')}`);
  return {
    limit: limit as number,
    logger: options.logger ?? console,
    types,
    dedupe: resolveDedupe(options.dedupe),
    access: createAccessCheck(options.allow),
  };
}
