import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { dedupeKeys } from '../generated/dedupe-keys';
import type { Notification, NotifyType } from '../notification-types';

/**
 * Where duplicate suppression remembers what it has seen. `seen` must check and set in one atomic
 * step: true when `key` was already there (within `ttlMs`), false when it was not (and now is).
 * A shared store (Redis, say) lets several instances suppress each other's repeats.
 */
export interface DedupeStore {
  seen(key: string, ttlMs: number): boolean | Promise<boolean>;
}

export interface DedupeOptions {
  /** How long a notification is remembered, in ms. Default 15 minutes (the platform retries for 10). */
  ttl?: number;
  /** How many notifications the in-memory store remembers; the least recently used go first. Default 10 000. */
  max?: number;
  /** A store of your own (shared between instances); `max` then does not apply. */
  store?: DedupeStore;
}

export const DEFAULT_DEDUPE_TTL = 15 * 60 * 1000;
export const DEFAULT_DEDUPE_MAX = 10_000;

/** The default store: bounded in entries by an LRU (lru-cache), each entry expiring after its ttl. */
export class MemoryDedupeStore implements DedupeStore {
  readonly #cache: LRUCache<string, true>;

  constructor(max: number, ttl: number) {
    this.#cache = new LRUCache<string, true>({ max, ttl });
  }

  seen(key: string, ttlMs: number): boolean {
    if (this.#cache.has(key)) return true;
    this.#cache.set(key, true, { ttl: ttlMs });
    return false;
  }
}

/**
 * A re-send is the same notification however its JSON was laid out, so the key is drawn from the
 * values of the schema's documented fields in schema order (by a function generated from the
 * schemas; extra fields do not count), each written as its length and its text so that no two
 * notifications share one, and digested with SHA-256. The digest keeps every
 * key at 43 characters, so 10 000 of them stay under 1 MB whatever a sender puts in its fields; and it
 * is cheaper than it looks: the LRU retains far fewer bytes, which the garbage collector repays with
 * interest (measured in bench/: +13 % requests per second against keeping the joined values).
 */
export function dedupeKey(type: NotifyType, notification: Notification): string {
  return hash('sha256', (dedupeKeys[type] as (n: Notification) => string)(notification), 'base64url');
}
