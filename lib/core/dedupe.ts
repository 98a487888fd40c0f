import { hash } from 'node:crypto';
import { dedupeDigests, dedupeKeys } from '../generated/dedupe-keys';
import type { Notification, NotifyType } from './notification-types';
import { KeyedDigest } from './digest';
import { RecentDigests } from './recent-digests';

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
  /**
   * How many notifications the in-memory store remembers at least (up to 4/3 of it); under a flood the
   * oldest go first, a third at a time. Default 10 000.
   */
  max?: number;
  /** A store of your own (shared between instances); `max` then does not apply. */
  store?: DedupeStore;
}

/** What the receiver is given: the in-memory default, or a store of the user's with the ttl it is passed. */
export type ResolvedDedupe = { memory: MemoryDedupe } | { store: DedupeStore; ttl: number };

export const DEFAULT_DEDUPE_TTL = 15 * 60 * 1000;
export const DEFAULT_DEDUPE_MAX = 10_000;

/**
 * The default: in memory, by keyed 64-bit digest (digest.ts), each with its arrival time, in
 * generations turned over by count (recent-digests.ts). Not a DedupeStore: it never builds the string
 * key, which is what made duplicate suppression the dearest part of a push.
 */
export class MemoryDedupe {
  readonly #digest = new KeyedDigest();
  readonly #recent: RecentDigests;

  constructor(max: number, ttl: number) {
    this.#recent = new RecentDigests(max, ttl);
  }

  seen(type: NotifyType, notification: Notification): boolean {
    const digest = (dedupeDigests[type] as (d: KeyedDigest, n: Notification) => KeyedDigest)(this.#digest, notification).finish();
    return this.#recent.seen(digest.hi, digest.lo);
  }
}

/**
 * A re-send is the same notification however its JSON was laid out, so the key is drawn from the
 * values of the schema's documented fields in schema order (by a function generated from the
 * schemas; extra fields do not count), each written as its length and its text so that no two
 * notifications share one, and digested with SHA-256. This is the key a shared store and the journal
 * keep: it outlives the process, so it must resist a sender who crafts bodies without any secret, and
 * at 43 characters it keeps a store's size independent of what a sender puts in its fields.
 */
export function dedupeKey(type: NotifyType, notification: Notification): string {
  return hash('sha256', (dedupeKeys[type] as (n: Notification) => string)(notification), 'base64url');
}
