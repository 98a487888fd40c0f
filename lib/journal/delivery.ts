// At-least-once delivery from the journal: the entries committed by this instance are delivered at
// once; failures come back after a backoff, entries a crash left undelivered after their lease, and
// an entry out of attempts becomes dead (`deadLetter`). Each attempt is recorded before it starts
// (in the commit, or by claim()), so a listener that kills the process still ends dead.
import type { Delivered, ReceiveContext } from '../core/events';
import { dedupeKey } from '../core/dedupe';
import type { EventHub, JournaledEvent } from '../core/emitter';
import type { CheckedPush, Intake, Kept, RejectedPush } from '../core/intake';
import type { Notification, NotifyType } from '../core/notification-types';
import type { JournalStats } from '../core/stats';
import { asError, describeThrown, ignore } from '../core/thrown';
import { Batch } from './batch';
import { GroupCommit } from './group-commit';
import type { Appended, ClaimedEntry, Journal, JournalCounts, JournalRecord, NotificationRecord } from './journal';
import { Spill } from './spill';
import { backoffAfter } from './retry-window';
import { DEFAULT_DELIVERY_TIMING } from './defaults';
import { codedError } from '../core/errors';

export interface DeliveryOptions {
  /** Attempts per entry before it is dead, the first included. Default 21 (about 64 minutes with the default backoff). */
  attempts?: number;
  /** Wait before the second attempt, doubling after each failure. Default 1000 ms. */
  backoffMs?: number;
  /** The longest wait between two attempts. Default 5 minutes. */
  maxBackoffMs?: number;
  /** Deliveries run at once by this instance; the rest wait in the journal, not in memory. Default 100. */
  concurrency?: number;
  /**
   * How long one delivery (its listeners' promises) may take: past it the attempt counts as failed
   * and its slot is freed (the listener itself cannot be stopped). Default 5 minutes.
   */
  timeoutMs?: number;
  /**
   * Dead entries of an event are made due again, with a fresh set of attempts, once a delivery of that
   * event succeeds again (the cause, a database down, say, is gone). Default false: replay them with
   * `journal replay --dead`.
   */
  reviveDead?: boolean;
}

export const DEFAULT_DELIVERY = { ...DEFAULT_DELIVERY_TIMING, concurrency: 100, timeoutMs: 5 * 60_000, reviveDead: false } as const;

/** The in-process monotonic clock: wake-ups must not follow steps of the wall clock. */
const now = (): number => performance.now();

export type { JournalStats };

const POLL_MS = 1000;
const COUNTS_MS = 2000;
const PRUNE_MS = 60 * 60_000;
/** Rows deleted per prune statement: each is a short transaction, and commits go between them. */
export const PRUNE_BATCH = 1000;
/** Dead entries of one event are revived at most this often (delivery.reviveDead). */
const REVIVE_MS = 60_000;

export type ResolvedDelivery = Required<DeliveryOptions> & {
  /** The journal's duplicate window: dedupe.ttl. */
  dedupeWindowMs: number;
  /** onJournalError 'refuse': the platform is told to re-send, nothing is spilled. */
  refuse: boolean;
  /** Whether pushes are journaled under their duplicate key (false with `dedupe: false`). */
  keyed: boolean;
};

const TIMED_OUT = Symbol('timed out');
const WAKE_SLACK_MS = 5;

/**
 * The journal as the core's intake: a push is committed before its answer, and delivered by this
 * instance (leased in its commit) or later from the journal. Leases and reservations stay in here.
 */
export class JournalDelivery implements Intake {
  readonly durable = true;
  readonly #hub: EventHub;
  readonly #journal: Journal;
  readonly #options: ResolvedDelivery;
  readonly #running = new Set<string>();
  // Delivered, their end not yet committed: not to be claimed again by this instance meanwhile.
  readonly #finishing = new Set<string>();
  readonly #spill: Spill | undefined;
  readonly #revivedAt = new Map<string, number>();
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #commit: GroupCommit;
  // Marked done in batches; an entry whose mark is lost is delivered again (at least once).
  // Usually they ride along with the next group commit: one transaction, one fsync for both.
  readonly #completed = new Batch<string>(
    (ids) => this.#journal.complete(ids).then(() => this.#finished(ids)),
    (error, ids) => this.#completedLost(ids, error),
  );
  #wake: { at: number; timer: NodeJS.Timeout } | undefined;
  #polling = false;
  #pollAgain = false;
  #backlog = false;
  #reserved = 0;
  #closed = false;
  #journalClosed = false;
  #counts: JournalCounts | undefined;
  #readAt: Date | undefined;
  #errors = 0;
  /** Pushes answered 503 because the journal failed (onJournalError 'refuse'). */
  #refused = 0;
  #timedOut = 0;
  #moving = false;
  #pruning = false;

  constructor(hub: EventHub, journal: Journal, options: ResolvedDelivery) {
    this.#hub = hub;
    this.#journal = journal;
    this.#options = options;
    this.#spill = journal.spill === false || options.refuse ? undefined : new Spill(journal.spill);
    this.#commit = new GroupCommit(
      journal,
      {
        beforeCommit: (records) => {
          this.#lease(records);
          return this.#completed.take();
        },
        completedLost: (ids, error) => this.#completedLost(ids, error),
        committed: (ids) => this.#finished(ids),
        spill: (records, error) => this.#toSpill(records, error),
        spilling: () => this.#spill?.holding === true,
      },
      options.dedupeWindowMs,
    );
    // Started on a later turn than the router's creation: listeners are attached right after it.
    setImmediate(() => {
      if (this.#closed) return;
      this.#move();
      this.#poll();
      this.#refreshCounts();
      this.#prune();
    });
    this.#every(POLL_MS, () => {
      this.#move();
      this.#poll();
    });
    // Renewed three times per lease: a slow listener keeps its entry, a dead instance loses it.
    this.#every(Math.max(50, Math.floor(journal.leaseMs / 3)), () => this.#renew());
    this.#every(COUNTS_MS, () => this.#refreshCounts());
    this.#every(PRUNE_MS, () => this.#prune());
  }

  /** 'sqlite' or 'postgres', for messages. */
  get kind(): string {
    return this.#journal.kind;
  }

  keep<T>(push: CheckedPush, settle: (kept: Kept) => T): Promise<T> {
    const record: NotificationRecord = {
      kind: 'notification',
      key: push.key ?? (this.#options.keyed ? dedupeKey(push.notifyType as NotifyType, push.notification as Notification) : null),
      event: push.event,
      notifyType: push.notifyType,
      deviceId: push.deviceId,
      body: JSON.stringify(push.notification),
      ip: push.context.ip ?? null,
      receivedAt: push.context.receivedAt,
      leased: false,
    };
    return this.#commit.add(record).then(
      ({ id, duplicate, spilled }) => {
        // Leased in its commit (#lease): delivered now, after the core has answered; or its slot freed.
        const deliverNow = record.leased && !duplicate && spilled !== true;
        if (record.leased && !deliverNow) this.#reserved -= 1;
        try {
          return settle(spilled === true ? { kept: 'spill' } : { kept: 'journal', id, duplicate });
        } finally {
          if (deliverNow) {
            this.#reserved -= 1;
            this.#run(id, push.event, push.notification, { ...push.context, id, attempt: 1 });
          }
        }
      },
      (error: unknown) => {
        if (record.leased) this.#reserved -= 1;
        if (push.filled !== true) {
          const fallback = this.#options.refuse ? 'answered 503: the platform will send it again' : 'delivered from memory, once';
          this.failed(error, `the ${this.kind} journal could not record a push (${fallback})`, push.notification);
          if (this.#options.refuse) this.#refused += 1;
        }
        return settle({ kept: 'lost', refuse: this.#options.refuse && push.filled !== true, error });
      },
    );
  }

  // Reported, never thrown: sending the push again would not make it valid.
  keepRejected(push: RejectedPush): Promise<void> {
    return this.#commit.add({ kind: 'invalid', ...push }).then(
      () => undefined,
      (error: unknown) => this.failed(error, `the ${this.kind} journal could not record an invalid push`),
    );
  }

  /** A journal operation failed: counted, and reported as `error`. */
  failed(error: unknown, what: string, notification?: Delivered): void {
    this.#errors += 1;
    this.#hub.report(codedError('ERR_JOURNAL_FAILED', `${what}: ${describeThrown(error)}`, { cause: error }), notification);
  }

  stats(): JournalStats {
    const counts = this.#counts ?? { pending: 0, retrying: 0, dead: 0, invalid: 0, oldestPendingSeconds: 0, pendingByEvent: {} };
    return {
      pending: counts.pending,
      retrying: counts.retrying,
      dead: counts.dead,
      invalid: counts.invalid,
      oldestPendingSeconds: counts.oldestPendingSeconds,
      readAt: this.#readAt,
      errors: this.#errors,
      refused: this.#refused,
      commits: this.#commit.commits,
      committed: this.#commit.committed,
      delivering: this.#running.size,
      pendingByEvent: { ...counts.pendingByEvent },
      spilled: this.#spill?.written ?? 0,
      moved: this.#spill?.moved ?? 0,
      timedOut: this.#timedOut,
    };
  }

  /**
   * Stops, waits up to `waitMs` for the deliveries under way (a commit in progress may have started
   * some after the router drained), marks the finished ones done, and closes the journal. A delivery
   * that ends after that is not marked: it is delivered again at the next start, as documented.
   */
  async close(waitMs = 0): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    if (this.#wake !== undefined) clearTimeout(this.#wake.timer);
    await this.#commit.idle();
    const deadline = performance.now() + waitMs;
    while (this.#running.size > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    await this.#completed.idle();
    // One last move: what the spill holds goes into the journal now if it can, else at the next start.
    if (this.#spill?.hasWork === true) await this.#spill.move((records) => this.#appendMoved(records)).catch(ignore);
    await this.#spill?.close();
    this.#journalClosed = true;
    await this.#journal.close();
  }

  // The journal failed (`error`), or records must wait behind those spilled earlier (undefined).
  async #toSpill(records: readonly JournalRecord[], error: unknown): Promise<boolean> {
    const spill = this.#spill;
    if (spill === undefined) return false;
    try {
      await spill.write(records);
    } catch (failure) {
      this.failed(failure, `the spill folder ${spill.dir} could not keep ${records.length} pushes either`);
      return false;
    }
    if (error !== undefined) {
      this.failed(error, `the ${this.#journal.kind} journal could not commit ${records.length} pushes: kept in ${spill.dir}, moved into the journal once it commits again`);
    }
    return true;
  }

  #appendMoved(records: JournalRecord[]): Promise<Appended[]> {
    return this.#journal.append(records, [], this.#options.dedupeWindowMs);
  }

  // Tried every second while the spill holds records: the first move that commits ends the outage.
  #move(): void {
    const spill = this.#spill;
    if (spill === undefined || !spill.hasWork || this.#moving || this.#closed) return;
    this.#moving = true;
    spill
      .move((records) => this.#appendMoved(records))
      .then((moved) => {
        if (moved > 0) this.#soon();
      })
      // Reported once by the commits that spilled; a move that fails means the outage goes on.
      .catch(ignore)
      .finally(() => {
        this.#moving = false;
      })
      .catch(ignore);
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

  #finished(ids: readonly string[]): void {
    for (const id of ids) this.#finishing.delete(id);
  }

  #completedLost(ids: readonly string[], error: unknown): void {
    this.#finished(ids);
    this.failed(error, `the ${this.#journal.kind} journal could not mark ${ids.length} delivered entries done (they will be delivered again)`);
  }

  #heard(event: string): boolean {
    return this.#hub.heard(event as JournaledEvent);
  }

  #run(id: string, event: JournaledEvent, notification: Delivered, context: ReceiveContext & { id: string; attempt: number }, budgetAttempt = context.attempt): void {
    this.#running.add(id);
    let timer: NodeJS.Timeout | undefined;
    // A listener that never settles must not hold a slot for ever.
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), this.#options.timeoutMs).unref();
    });
    Promise.race([this.#hub.deliver(event, notification, context), timeout])
      .then((outcome) => {
        clearTimeout(timer);
        if (outcome === TIMED_OUT) {
          this.#timedOut += 1;
          const error = codedError('ERR_DELIVERY_TIMEOUT', `delivery ${id} did not settle within delivery.timeoutMs (${this.#options.timeoutMs} ms): counted as failed`);
          this.#hub.report(error, notification);
          return this.#failedAttempt(id, notification, budgetAttempt, error);
        }
        if (!outcome.heard) return this.#unheard(id, event);
        return outcome.failure === undefined ? this.#done(id, event) : this.#failedAttempt(id, notification, budgetAttempt, outcome.failure.error);
      })
      .catch((error: unknown) => this.failed(error, `the ${this.#journal.kind} journal could not record the end of delivery ${id}`, notification))
      .finally(() => {
        this.#running.delete(id);
        if (this.#backlog) this.#soon();
      })
      .catch(ignore);
  }

  #done(id: string, event: string): void {
    // Ended after close(): not marked, delivered again at the next start (at least once).
    if (this.#journalClosed) return;
    this.#finishing.add(id);
    this.#completed.add(id);
    if (this.#options.reviveDead) this.#revive(event);
  }

  // No listener was left when the delivery ran (a `once` listener taken by the entry before it): the
  // entry waits for one, as any entry nobody listens to.
  async #unheard(id: string, event: string): Promise<void> {
    await this.#journal.retry(id, `no listener for '${event}' when it was delivered`, 0);
    this.#backlog = true;
  }

  // delivery.reviveDead: a success shows the cause of the dead letters of this event may be gone.
  #revive(event: string): void {
    const at = now();
    if ((this.#counts?.dead ?? 0) === 0 || at - (this.#revivedAt.get(event) ?? -Infinity) < REVIVE_MS) return;
    this.#revivedAt.set(event, at);
    this.#journal
      .reviveDead(event)
      .then((revived) => {
        if (revived > 0) {
          this.#hub.warn(`a delivery of '${event}' succeeded again: ${revived} dead entries of it are delivered again (delivery.reviveDead)`);
          this.#soon();
        }
      })
      .catch((error: unknown) => this.failed(error, `the ${this.#journal.kind} journal could not revive dead entries of '${event}'`));
  }

  async #failedAttempt(id: string, notification: Delivered, attempt: number, failure: unknown): Promise<void> {
    if (attempt >= this.#options.attempts) return this.#bury(id, notification, attempt, asError(failure, 'a listener threw'));
    const delay = backoffAfter(attempt, this.#options);
    await this.#journal.retry(id, describeThrown(failure), delay);
    // The journal timed the retry a little after this thread's clock was read, and timers may fire a
    // millisecond early: woken exactly at `delay`, the poll found nothing due and the retry waited
    // for the next poll, a second later.
    this.#wakeAt(now() + delay + WAKE_SLACK_MS);
  }

  async #bury(id: string, notification: Delivered, attempts: number, error: Error): Promise<void> {
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
      }, Math.max(0, at - now())).unref(),
    };
  }

  #soon(): void {
    this.#wakeAt(now());
  }

  #poll(): void {
    if (this.#closed) return;
    // A wake-up during a poll (a retry come due) is not dropped: it polls again right after.
    if (this.#polling) {
      this.#pollAgain = true;
      return;
    }
    const room = this.#options.concurrency - this.#running.size - this.#reserved;
    const events = this.#hub.heardEvents();
    if (room <= 0 || events.length === 0) return;
    this.#polling = true;
    this.#backlog = false;
    this.#journal
      .claim(events, room, [...this.#running, ...this.#finishing])
      .then((entries) => {
        // A full batch may have left more behind.
        if (entries.length === room) this.#backlog = true;
        for (const entry of entries) this.#redeliver(entry);
      })
      .catch((error: unknown) => this.failed(error, `the ${this.#journal.kind} journal could not be read for deliveries due`))
      .finally(() => {
        this.#polling = false;
        if ((this.#pollAgain || this.#backlog) && this.#running.size < this.#options.concurrency) this.#soon();
        this.#pollAgain = false;
      })
      .catch(ignore);
  }

  #redeliver(entry: ClaimedEntry): void {
    const notification = JSON.parse(entry.body) as Delivered;
    const context = { receivedAt: entry.receivedAt, ip: entry.ip ?? undefined, id: entry.id, attempt: entry.attempt };
    // Claiming counted an attempt; past the limit, the earlier ones were cut off (the process ended
    // during them), so this entry is dead without another try.
    if (entry.budgetAttempt > this.#options.attempts) {
      const error = codedError('ERR_DELIVERY_CUT_OFF', `delivery did not finish in ${entry.budgetAttempt - 1} attempts (the process ended during them)`);
      this.#bury(entry.id, notification, entry.attempt - 1, error).catch((failure: unknown) =>
        this.failed(failure, `the ${this.#journal.kind} journal could not mark entry ${entry.id} dead`, notification),
      );
      return;
    }
    this.#run(entry.id, entry.event as JournaledEvent, notification, context, entry.budgetAttempt);
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

  // In batches with a turn of the event loop between them, so that commits go in between.
  #prune(): void {
    if (this.#pruning) return;
    this.#pruning = true;
    const step = (): void => {
      if (this.#closed) {
        this.#pruning = false;
        return;
      }
      this.#journal
        .prune(this.#journal.retainDays, PRUNE_BATCH)
        .then(
          (deleted) => {
            if (deleted >= PRUNE_BATCH) setTimeout(step, 10).unref();
            else this.#pruning = false;
          },
          (error: unknown) => {
            this.#pruning = false;
            this.failed(error, `the ${this.#journal.kind} journal could not be pruned`);
          },
        )
        .catch(ignore);
    };
    step();
  }
}

