// At-least-once delivery from the journal: the entries committed by this instance are delivered at
// once; failures come back after a backoff, entries a crash left undelivered after their lease, and
// an entry out of attempts becomes dead (`deadLetter`). Each attempt is recorded before it starts
// (in the commit, or by claim()), so a listener that kills the process still ends dead.
import type { NotificationEvents, ReceiveContext } from '../events';
import type { EventHub } from '../core/emitter';
import type { Notification } from '../notification-types';
import { asError, describeThrown, ignore } from '../core/thrown';
import { Batch } from './batch';
import { GroupCommit } from './group-commit';
import type { ClaimedEntry, Journal, JournalCounts, JournalRecord } from './journal';

export interface DeliveryOptions {
  /** Attempts per entry before it is dead, the first included. Default 8. */
  attempts?: number;
  /** Wait before the second attempt, doubling after each failure. Default 1000 ms. */
  backoffMs?: number;
  /** The longest wait between two attempts. Default 5 minutes. */
  maxBackoffMs?: number;
  /** Deliveries run at once by this instance; the rest wait in the journal, not in memory. Default 100. */
  concurrency?: number;
}

export const DEFAULT_DELIVERY = { attempts: 8, backoffMs: 1000, maxBackoffMs: 5 * 60_000, concurrency: 100 } as const;

/** The journal's figures in stats(): read from the journal every few seconds, for every instance sharing it. */
export interface JournalStats extends JournalCounts {
  /** When the figures above were read (they are refreshed every 2 s). */
  readAt: Date | undefined;
  /** Journal operations that failed (each reported as `error`). */
  errors: number;
  /** Pushes answered 503 because the journal failed, with `onJournalError: 'refuse'`. */
  refused: number;
  /** Group commits so far, and the pushes they carried: pushes / commits is the grouping at work. */
  commits: number;
  committed: number;
  /** Entries this instance is delivering now. */
  delivering: number;
}

const POLL_MS = 1000;
const COUNTS_MS = 2000;
const PRUNE_MS = 60 * 60_000;

type Resolved = Required<DeliveryOptions>;

export class JournalDelivery {
  readonly #hub: EventHub;
  readonly #journal: Journal;
  readonly #options: Resolved;
  readonly #running = new Set<string>();
  readonly #timers: NodeJS.Timeout[] = [];
  readonly commit: GroupCommit;
  // Marked done in batches; an entry whose mark is lost is delivered again (at least once).
  // Usually they ride along with the next group commit: one transaction, one fsync for both.
  readonly #completed = new Batch<string>(
    (ids) => this.#journal.complete(ids),
    (error, ids) => this.#completedLost(ids, error),
  );
  #wake: { at: number; timer: NodeJS.Timeout } | undefined;
  #polling = false;
  #backlog = false;
  #reserved = 0;
  #closed = false;
  #counts: JournalCounts | undefined;
  #readAt: Date | undefined;
  errors = 0;
  /** Pushes answered 503 because the journal failed (onJournalError 'refuse'). */
  refused = 0;

  constructor(hub: EventHub, journal: Journal, options: Resolved) {
    this.#hub = hub;
    this.#journal = journal;
    this.#options = options;
    this.commit = new GroupCommit(
      journal,
      (records) => {
        this.#lease(records);
        return this.#completed.take();
      },
      (ids, error) => this.#completedLost(ids, error),
    );
    // Started on a later turn than the router's creation: listeners are attached right after it.
    setImmediate(() => {
      if (this.#closed) return;
      this.#poll();
      this.#refreshCounts();
      this.#prune();
    });
    this.#every(POLL_MS, () => this.#poll());
    // Renewed three times per lease: a slow listener keeps its entry, a dead instance loses it.
    this.#every(Math.max(50, Math.floor(journal.leaseMs / 3)), () => this.#renew());
    this.#every(COUNTS_MS, () => this.#refreshCounts());
    this.#every(PRUNE_MS, () => this.#prune());
  }

  /** 'sqlite' or 'postgres', for messages. */
  get kind(): string {
    return this.#journal.kind;
  }

  /** A new entry leased at its commit, delivered now (attempt 1). */
  start(id: string, event: keyof NotificationEvents, notification: Notification, context: ReceiveContext): void {
    this.#reserved -= 1;
    this.#run(id, event, notification, { ...context, id, attempt: 1 });
  }

  /** A journal operation failed: counted, and reported as `error`. */
  failed(error: unknown, what: string, notification?: Notification): void {
    this.errors += 1;
    this.#hub.report(new Error(`${what}: ${describeThrown(error)}`, { cause: error }), notification);
  }

  stats(): JournalStats {
    const counts = this.#counts ?? { pending: 0, retrying: 0, dead: 0, invalid: 0, oldestPendingSeconds: 0 };
    return {
      pending: counts.pending,
      retrying: counts.retrying,
      dead: counts.dead,
      invalid: counts.invalid,
      oldestPendingSeconds: counts.oldestPendingSeconds,
      readAt: this.#readAt,
      errors: this.errors,
      refused: this.refused,
      commits: this.commit.commits,
      committed: this.commit.committed,
      delivering: this.#running.size,
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    if (this.#wake !== undefined) clearTimeout(this.#wake.timer);
    await this.commit.idle();
    await this.#completed.idle();
    await this.#journal.close();
  }

  #every(ms: number, work: () => void): void {
    this.#timers.push(setInterval(work, ms).unref());
  }

  // Decided just before each commit: an entry whose event has listeners, while this instance has
  // room, is leased in the commit and delivered at once; the others wait in the journal.
  #lease(records: readonly JournalRecord[]): void {
    for (const record of records) {
      if (record.kind !== 'notification') continue;
      const room = this.#running.size + this.#reserved < this.#options.concurrency;
      record.leased = room && this.#heard(record.event);
      if (record.leased) this.#reserved += 1;
      else this.#backlog = true;
    }
  }

  #completedLost(ids: readonly string[], error: unknown): void {
    this.failed(error, `the ${this.#journal.kind} journal could not mark ${ids.length} delivered entries done (they will be delivered again)`);
  }

  /** Un-reserves what a failed commit had leased. */
  released(count: number): void {
    this.#reserved -= count;
  }

  #heard(event: string): boolean {
    return this.#hub.listenerCount(event as keyof NotificationEvents) > 0 || this.#hub.listenerCount('notification') > 0;
  }

  #run(id: string, event: keyof NotificationEvents, notification: Notification, context: ReceiveContext & { id: string; attempt: number }): void {
    this.#running.add(id);
    this.#hub
      .deliver(event, notification, context)
      .then((failure) => (failure === undefined ? this.#done(id) : this.#failedAttempt(id, notification, context.attempt, failure)))
      .catch((error: unknown) => this.failed(error, `the ${this.#journal.kind} journal could not record the end of delivery ${id}`, notification))
      .finally(() => {
        this.#running.delete(id);
        if (this.#backlog) this.#soon();
      })
      .catch(ignore);
  }

  #done(id: string): void {
    this.#completed.add(id);
  }

  async #failedAttempt(id: string, notification: Notification, attempt: number, failure: unknown): Promise<void> {
    if (attempt >= this.#options.attempts) return this.#bury(id, notification, attempt, asError(failure, 'a listener threw'));
    const delay = Math.min(this.#options.backoffMs * 2 ** (attempt - 1), this.#options.maxBackoffMs);
    await this.#journal.retry(id, describeThrown(failure), delay);
    this.#wakeAt(Date.now() + delay);
  }

  async #bury(id: string, notification: Notification, attempts: number, error: Error): Promise<void> {
    await this.#journal.bury(id, describeThrown(error));
    this.#hub.dispatch('deadLetter', [notification, { id, attempts, error }], notification);
  }

  // One timer for the earliest retry due: retries come on time without a poll per entry.
  #wakeAt(at: number): void {
    if (this.#closed || (this.#wake !== undefined && this.#wake.at <= at)) return;
    if (this.#wake !== undefined) clearTimeout(this.#wake.timer);
    this.#wake = {
      at,
      timer: setTimeout(() => {
        this.#wake = undefined;
        this.#poll();
      }, Math.max(0, at - Date.now())).unref(),
    };
  }

  #soon(): void {
    this.#wakeAt(Date.now());
  }

  #poll(): void {
    if (this.#polling || this.#closed) return;
    const room = this.#options.concurrency - this.#running.size - this.#reserved;
    const events = this.#hub.heardEvents();
    if (room <= 0 || events.length === 0) return;
    this.#polling = true;
    this.#backlog = false;
    this.#journal
      .claim(events, room)
      .then((entries) => {
        // A full batch may have left more behind.
        if (entries.length === room) this.#backlog = true;
        for (const entry of entries) this.#redeliver(entry);
      })
      .catch((error: unknown) => this.failed(error, `the ${this.#journal.kind} journal could not be read for deliveries due`))
      .finally(() => {
        this.#polling = false;
        if (this.#backlog && this.#running.size < this.#options.concurrency) this.#soon();
      })
      .catch(ignore);
  }

  #redeliver(entry: ClaimedEntry): void {
    const notification = JSON.parse(entry.body) as Notification;
    const context = { receivedAt: entry.receivedAt, ip: entry.ip ?? undefined, id: entry.id, attempt: entry.attempt };
    // Claiming counted an attempt; past the limit, the earlier ones were cut off (the process ended
    // during them), so this entry is dead without another try.
    if (entry.attempt > this.#options.attempts) {
      const error = new Error(`delivery did not finish in ${entry.attempt - 1} attempts (the process ended during them)`);
      this.#bury(entry.id, notification, entry.attempt - 1, error).catch((failure: unknown) =>
        this.failed(failure, `the ${this.#journal.kind} journal could not mark entry ${entry.id} dead`, notification),
      );
      return;
    }
    this.#run(entry.id, entry.event as keyof NotificationEvents, notification, context);
  }

  #renew(): void {
    if (this.#running.size === 0) return;
    this.#journal.renew([...this.#running]).catch((error: unknown) => this.failed(error, `the ${this.#journal.kind} journal could not renew its leases`));
  }

  #refreshCounts(): void {
    this.#journal
      .counts()
      .then((counts) => {
        this.#counts = counts;
        this.#readAt = new Date();
      })
      .catch((error: unknown) => this.failed(error, `the ${this.#journal.kind} journal could not be counted`));
  }

  #prune(): void {
    this.#journal.prune(this.#journal.retainDays).catch((error: unknown) => this.failed(error, `the ${this.#journal.kind} journal could not be pruned`));
  }
}

