// What the router asks of a durable journal. sqliteJournal() and postgresJournal() implement it; the
// router's delivery logic (group commits, retries, leases, dead letters) lives above it, in
// delivery.ts, so that both stores behave alike.

/** A valid notification to journal; `key` is its duplicate key, or null with `dedupe: false`. */
export interface NotificationRecord {
  kind: 'notification';
  key: string | null;
  event: string;
  notifyType: string;
  deviceId: string | null;
  /** The notification as JSON text. */
  body: string;
  ip: string | null;
  receivedAt: Date;
  /** Delivered by this instance right after the commit: the first attempt is recorded in the commit itself. */
  leased: boolean;
}

/** Anything received that was not a valid notification, kept so that nothing received is lost. */
export interface InvalidRecord {
  kind: 'invalid';
  reason: string;
  message: string;
  notifyType: string | null;
  deviceId: string | null;
  /** The parsed body as JSON text, when there was one. */
  body: string | null;
  /** The bytes received, up to the router's limit, when there were any. */
  raw: Buffer | null;
  ip: string | null;
  receivedAt: Date;
}

export type JournalRecord = NotificationRecord | InvalidRecord;

/** What a commit did with one record: its entry's id, and whether the key was there already. */
export interface Appended {
  id: string;
  duplicate: boolean;
}

/** One entry taken for delivery: `attempt` already counts this delivery. */
export interface ClaimedEntry {
  id: string;
  event: string;
  body: string;
  ip: string | null;
  receivedAt: Date;
  attempt: number;
}

export type EntryState = 'pending' | 'done' | 'dead' | 'invalid';

/** One entry, for the `journal` command and for inspection. */
export interface JournalEntry {
  id: string;
  state: EntryState;
  notifyType: string | null;
  deviceId: string | null;
  attempts: number;
  reason: string | null;
  message: string | null;
  lastError: string | null;
  body: string | null;
  receivedAt: Date;
}

/** A notification as the journal keeps it, for readers that fold the history (the dashboard). */
export interface JournaledNotification {
  id: string;
  body: string;
  receivedAt: Date;
}

/** The journal's figures (for every instance sharing it); done entries are not counted (there are many). */
export interface JournalCounts {
  /** Entries waiting for a first or a later delivery, or being delivered. */
  pending: number;
  /** Pending entries that have failed at least once and wait for their next attempt. */
  retrying: number;
  dead: number;
  invalid: number;
  /** Seconds since the oldest pending entry was received; 0 when none is pending. */
  oldestPendingSeconds: number;
}

/**
 * A durable journal. Every method may reject (disk full, database down); the router reports that and
 * falls back as the README says. Methods that write commit before they resolve.
 */
export interface Journal {
  /** Which store this is, for messages: 'sqlite' or 'postgres'. */
  readonly kind: string;
  /** Lease length in ms: a delivery claimed by an instance that died is taken by another after it. */
  readonly leaseMs: number;
  /** Days that done and invalid entries are kept (and re-sends of them recognised as duplicates). */
  readonly retainDays: number;
  /**
   * Commits `records` in one transaction, in key order, and marks the entries `completed` done in the
   * same one (one fsync for both); the answer is in the order of `records`.
   */
  append(records: readonly JournalRecord[], completed: readonly string[]): Promise<Appended[]>;
  /**
   * Takes up to `limit` (at least 1) pending entries of `events` (at least one) that are due and not
   * leased, counting an attempt on each.
   */
  claim(events: readonly string[], limit: number): Promise<ClaimedEntry[]>;
  /** Extends this instance's leases on deliveries still running. */
  renew(ids: readonly string[]): Promise<void>;
  /** Deliveries that succeeded, marked done in one transaction. */
  complete(ids: readonly string[]): Promise<void>;
  /** A failed attempt: delivered again after `delayMs`. */
  retry(id: string, error: string, delayMs: number): Promise<void>;
  /** Out of attempts: kept as dead, for inspection and replay. */
  bury(id: string, error: string): Promise<void>;
  counts(): Promise<JournalCounts>;
  list(state: 'dead' | 'invalid' | 'pending', limit: number): Promise<JournalEntry[]>;
  /** A dead entry (or a pending one) made due now with its attempts reset; false when there is no such entry. */
  replay(id: string): Promise<boolean>;
  /** Every dead entry replayed; how many. */
  replayDead(): Promise<number>;
  /** Valid notifications (any state) with an id above `afterId` ('0' for all), in id order, up to `limit`. */
  notificationsAfter(afterId: string, limit: number): Promise<JournaledNotification[]>;
  /** Deletes done and invalid entries last changed more than `retainDays` ago; how many. */
  prune(retainDays: number): Promise<number>;
  close(): Promise<void>;
}

export const DEFAULT_LEASE_MS = 60_000;
export const DEFAULT_RETAIN_DAYS = 30;
