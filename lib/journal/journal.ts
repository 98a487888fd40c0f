// What the router asks of a durable journal. sqliteJournal() and postgresJournal() implement it; the
// router's delivery logic (group commits, retries, leases, dead letters) lives above it, in
// delivery.ts, so that both stores behave alike.
import type { RecheckedPush, RejectedPush } from '../core/intake';
import type { JournalCounts } from '../core/stats';

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
export interface InvalidRecord extends RejectedPush {
  kind: 'invalid';
}

export type JournalRecord = NotificationRecord | InvalidRecord;

/** What a commit did with one record: its entry's id, and whether the key was there already. */
export interface Appended {
  id: string;
  duplicate: boolean;
  /** Kept in the spill folder, not the journal (which failed): moved into it once it works again. */
  spilled?: boolean;
}

/** One entry taken for delivery: `attempt` already counts this delivery. */
export interface ClaimedEntry {
  id: string;
  event: string;
  body: string;
  ip: string | null;
  receivedAt: Date;
  attempt: number;
  /** Attempts since the last replay: the delivery options' `attempts` limit this one, not `attempt`. */
  budgetAttempt: number;
}

/** 'discarded': pending entries the operator dropped (`journal discard EVENT`); pruned like done ones. */
export type EntryState = 'pending' | 'done' | 'dead' | 'invalid' | 'discarded';

/** What a replay did: replayed, no such entry, being delivered now (refused), or not of a state that can be. */
export type ReplayOutcome = 'replayed' | 'missing' | 'delivering' | 'invalid' | 'not-replayable';

/** An invalid entry found valid on a second look, as it becomes a pending notification. */
export type RevivedNotification = RecheckedPush;

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
  /** The listener event it is delivered to (null for invalid entries). */
  event: string | null;
  /** A pending entry that an instance is delivering now (its lease is live). */
  delivering: boolean;
  /** The bytes received, for invalid entries; only from get(). */
  raw?: Buffer | null;
}

/** A notification as the journal keeps it, for readers that fold the history (the dashboard). */
export interface JournaledNotification {
  id: string;
  body: string;
  receivedAt: Date;
}

/** Events whose entries hold a device's final result: the two result pushes, and results filled in by the reconciler. */
export const FINAL_EVENTS = ['upgradeResult', 'firmwareUpgradeResult', 'reconciledResult'] as const;

/** A final result a task's entry holds (any state: delivered, pending, dead or discarded alike). */
export interface FinalResult {
  subOperationId: string;
  deviceId: string | null;
  /** One of FINAL_EVENTS: 'reconciledResult' when the reconciler filled it in. */
  event: string;
}

/** A final result with its body: what a rollout's gate reads to tell success, verified or not, from failure. */
export interface FinalResultBody extends Omit<FinalResult, 'subOperationId'> {
  /** Null for an IoTDA device's outcome (`iotdaDeviceResult`, a task has no sub-task IDs). */
  subOperationId: string | null;
  body: string;
}

/** A rollout as the journal keeps it: the plan it started with, and when. */
export interface RolloutRow {
  id: string;
  /** The rollout's settings as JSON text. */
  spec: string;
  createdAt: Date;
  /** The kind of its latest step (null before the first). */
  lastKind: string | null;
  /** The newest operator request's id (0: none). */
  lastRequest: number;
}

/** One step of a rollout's log, numbered from 1: each is written once, so two drivers cannot both write step n. */
export interface RolloutStep {
  seq: number;
  at: Date;
  kind: string;
  /** JSON text. */
  data: string;
}

/** An operator's request (pause, resume, abort, approve, retry), numbered in order; the driver answers each with a step. */
export interface RolloutRequest {
  id: number;
  action: string;
  /** JSON text. */
  data: string;
  at: Date;
}

export interface RolloutRecord extends RolloutRow {
  steps: RolloutStep[];
  requests: RolloutRequest[];
}

/** Where rollouts live: in the journal's database, beside the pushes their gates read. */
export interface RolloutStore {
  /** Records a new rollout; false when the id is taken. */
  createRollout(id: string, spec: string, at: Date): Promise<boolean>;
  /**
   * Appends steps numbered from `seq` in one transaction; false (nothing written) when step `seq` is
   * there already: another driver wrote it, and this one's view is stale.
   */
  appendRolloutSteps(id: string, seq: number, steps: ReadonlyArray<{ kind: string; data: string }>, at: Date): Promise<boolean>;
  /** The rollout with its steps and requests in order, or undefined. */
  readRollout(id: string): Promise<RolloutRecord | undefined>;
  /** Every rollout, oldest first. */
  listRollouts(): Promise<RolloutRow[]>;
  /** Records an operator request; its id, or undefined when there is no such rollout. */
  requestRollout(id: string, action: string, data: string, at: Date): Promise<number | undefined>;
  /** The final results of one task's entries (a legacy operationId or an IoTDA task_id), with their bodies. */
  finalResultBodies(taskId: string): Promise<FinalResultBody[]>;
}

/** The journal's figures (for every instance sharing it); done entries are not counted (there are many). */
export type { JournalCounts };

/**
 * What the `journal` command needs: reads, and changes to single entries that are safe while a
 * receiver runs (nothing here touches a delivery in progress).
 */
export interface JournalAdmin extends RolloutStore {
  readonly kind: string;
  counts(): Promise<JournalCounts>;
  /** One task's entries (by the body's operationId) counted by state. */
  taskCounts(operationId: string): Promise<Partial<Record<EntryState, number>>>;
  list(state: 'dead' | 'invalid' | 'pending', limit: number): Promise<JournalEntry[]>;
  /** The final results one task's entries hold, by sub-task (an index on the body's operationId finds them). */
  finalResults(operationId: string): Promise<FinalResult[]>;
  /** The tasks (operationIds) of valid entries received since `since`. */
  tasksSince(since: Date): Promise<string[]>;
  /** One entry whole, with the bytes received for an invalid one. */
  get(id: string): Promise<JournalEntry | undefined>;
  /**
   * Makes a dead or pending entry (any delivered one with `again`) due now. The attempt count goes on
   * and the entry gets a fresh set of attempts; refused while the entry is being delivered.
   */
  replay(id: string, again?: boolean): Promise<ReplayOutcome>;
  /** Every dead entry replayed; how many. */
  replayDead(): Promise<number>;
  /** An invalid entry turned into a pending notification, or the entry that already holds its key. */
  reviveInvalid(id: string, notification: RevivedNotification): Promise<ReplayOutcome | { duplicateOf: string }>;
  /** Pending entries of `event` that are not being delivered, set aside as discarded; how many. */
  discard(event: string): Promise<number>;
  /** Valid notifications (any state) with an id above `afterId` ('0' for all), in id order, up to `limit`. */
  notificationsAfter(afterId: string, limit: number): Promise<JournaledNotification[]>;
  /** Valid notifications among `ids` (entries the reader found missing and checks again), in id order. */
  notificationsIn(ids: readonly string[]): Promise<JournaledNotification[]>;
  close(): Promise<void>;
}

/**
 * A durable journal. Every method may reject (disk full, database down); the router reports that and
 * falls back as the README says. Methods that write commit before they resolve.
 */
export interface Journal extends JournalAdmin {
  /** Lease length in ms: a delivery claimed by an instance that died is taken by another after it. */
  readonly leaseMs: number;
  /** Days that done and invalid entries are kept. */
  readonly retainDays: number;
  /** The folder where pushes are kept while the journal cannot commit them (see spill.ts), or false. */
  readonly spill: string | false;
  /**
   * Commits `records` in one transaction, in key order, and marks the entries `completed` done in the
   * same one (one fsync for both); the answer is in the order of `records`. A key already held by an
   * entry received less than `dedupeWindowMs` earlier is a duplicate; an older holder gives it up.
   */
  append(records: readonly JournalRecord[], completed: readonly string[], dedupeWindowMs: number): Promise<Appended[]>;
  /**
   * Takes up to `limit` (at least 1) pending entries of `events` (at least one) that are due, not
   * leased and not among `exclude` (what this instance delivers now), counting an attempt on each.
   */
  claim(events: readonly string[], limit: number, exclude: readonly string[]): Promise<ClaimedEntry[]>;
  /** Extends this instance's leases on deliveries still running. */
  renew(ids: readonly string[]): Promise<void>;
  /** Deliveries that succeeded, marked done in one transaction. */
  complete(ids: readonly string[]): Promise<void>;
  /** A failed attempt: delivered again after `delayMs`. */
  retry(id: string, error: string, delayMs: number): Promise<void>;
  /** Out of attempts: kept as dead, for inspection and replay. */
  bury(id: string, error: string): Promise<void>;
  /** The dead entries of `event` made due again with a fresh set of attempts (delivery.reviveDead); how many. */
  reviveDead(event: string): Promise<number>;
  /**
   * Runs `work` when this instance holds the reconciliation lock, taking it if it is free; `{ ran: false }`
   * when another instance holds it. Postgres: an advisory lock on a connection of its own, kept between
   * calls (one instance calls the platform, so one northbound session: each login replaces the others'
   * tokens) until `relinquish()`, `close()` or the connection's end, which the server releases it on and
   * which aborts `signal` at once. SQLite: one owner per file.
   */
  exclusive<T>(work: (signal: AbortSignal) => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }>;
  /** Gives up the reconciliation lock kept by `exclusive` (a reconciler that closes), for another instance to take. */
  relinquish?(): Promise<void>;
  /** Deletes up to `limit` done, discarded and invalid entries last changed more than `retainDays` ago; how many. */
  prune(retainDays: number, limit: number): Promise<number>;
}

export const DEFAULT_LEASE_MS = 60_000;
export const DEFAULT_RETAIN_DAYS = 30;

/**
 * A journal object as the factories return it: every method an own property bound to `journal`, so
 * that a journal wrapped by spreading it (`{ ...journal, append }`, as in tests) keeps them all.
 */
export function plainJournal(journal: Journal): Journal {
  const plain: Record<string, unknown> = { ...(journal as object) };
  for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(journal))) {
    const value: unknown = (journal as unknown as Record<string, unknown>)[name];
    if (name !== 'constructor' && typeof value === 'function') plain[name] = value.bind(journal);
  }
  return plain as unknown as Journal;
}
