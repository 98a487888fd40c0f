import type { NotificationEvents, RejectionReason } from './events';
import { notificationTable } from './notification-types';
import { AckHistogram, type AckTimes } from './histogram';

/** What a journal counts, read by every instance sharing it. */
export interface JournalCounts {
  /** Entries waiting for a first or a later delivery, or being delivered. */
  pending: number;
  /** Pending entries that have failed at least once and wait for their next attempt. */
  retrying: number;
  dead: number;
  invalid: number;
  /** Seconds since the oldest pending entry was received; 0 when none is pending. */
  oldestPendingSeconds: number;
  /** Pending entries by listener event ('upgradeResult', ...): what waits for whom. */
  pendingByEvent: Record<string, number>;
}

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
  /** Pushes kept in the spill folder because the journal failed, and moved into it since, by this instance. */
  spilled: number;
  moved: number;
  /** Deliveries that ran past delivery.timeoutMs (each counted as a failed attempt). */
  timedOut: number;
}

/** Outcome events: each body the router takes in ends as exactly one of these. */
export type OutcomeEvent = keyof NotificationEvents | 'duplicate' | 'invalid';

/** What `stats()` returns: counters since the router was created, cheap enough for every scrape. */
export interface UpgradeRouterStats {
  /** Bodies taken in so far; always the sum of `events`, since each ends as exactly one event. */
  received: number;
  /** Outcome events emitted, by name. */
  events: Record<OutcomeEvent, number>;
  /** `invalid` events, by reason. */
  invalid: Record<RejectionReason, number>;
  /** Listener calls that threw or rejected (each reported once as `error`). */
  listenerErrors: number;
  /** Duplicate-store lookups that threw or rejected (each reported once as `error`; the notification went out as new). */
  storeErrors: number;
  /** Listener promises and duplicate-store lookups not yet settled: what `drain()` waits for. */
  inFlight: number;
  /** Notifications emitted while neither their event nor `notification` had a listener, by event. */
  unheard: Record<keyof NotificationEvents, number>;
  /** With `allow.mode: 'report'`: callers served that `allow` would have refused (`forbidden` events). */
  forbiddenReported: number;
  /** With `unknownTypes: 'next'`: requests of other notifyTypes handed to the host's next middleware (not in `received`). */
  passedOn: number;
  /** Final results the reconciler filled in through this router (committed to the journal, delivered as `reconciledResult`). */
  reconciled: number;
  /** The time from each request's arrival to its 200, in buckets (answers only: an aborted request has none). */
  ackSeconds: AckTimes;
  /** With a journal: its figures (pending, retrying, dead, oldest pending, commits, failures). */
  journal?: JournalStats;
  /** With a reconciler (`huawei-iot-upgrade-router/reconcile`): its figures. */
  reconciliation?: ReconcilerStats;
}

/** The reconciler's figures; the per-task ones are from each task's latest check. */
export interface ReconcilerStats {
  /** Passes made, and those skipped because another instance held the lock. */
  passes: number;
  skipped: number;
  /** Failed calls or checks (each reported as the router's `error`). */
  errors: number;
  /** Platform calls made by the reconciler. */
  calls: number;
  /** Tasks followed now (until complete). */
  tasks: number;
  /** Tasks named by pushes, not followed yet: a few a pass are looked up on the platform. */
  hinted: number;
  /** Tasks named by pushes that the platform does not know (remembered, never asked about again). */
  unknownTasks: number;
  /** Results filled in by this instance since start. */
  filledIn: number;
  /** Devices finished on the platform whose result is not here yet (inside the re-send window, or report only). */
  missing: number;
  /** Devices waiting or in progress on the platform. */
  waiting: number;
  /** Of those, stuck past `stuckAfterMs`. */
  stuck: number;
  lastPassAt: Date | undefined;
  lastError: string | undefined;
  /** The pass under way, as it goes (a pass over a big task takes minutes at the call budget); undefined between passes. */
  progress: ReconcileProgress | undefined;
}

/** Where a pass is: a pass that looks stalled says what it waits for. */
export interface ReconcileProgress {
  startedAt: Date;
  /** Tasks checked this pass, of those it will check. */
  tasksChecked: number;
  tasks: number;
  /** The task being checked, the listing of its sub-tasks being read, pages read of how many (as the platform counts them now). */
  operationId: string | undefined;
  listing: 'wait' | 'processing' | 'success' | 'fail' | 'stop' | undefined;
  pagesRead: number;
  pages: number;
  /** Results filled in (committed to the journal) this pass, so far. */
  filledIn: number;
  /** When calls held back by flow control may go on (the reconciler's `callsPerMinute`, or the platform's 1010009); undefined when none waits. */
  waitingForCallsUntil: Date | undefined;
}

const notificationEvents: ReadonlyArray<keyof NotificationEvents> = Object.values(notificationTable).map((entry) => entry.event);
const outcomeEvents: readonly OutcomeEvent[] = [...notificationEvents, 'duplicate', 'invalid'];
// A record, not a list: a reason added to Rejection without a counter here does not compile.
const noRejections: Record<RejectionReason, 0> = { malformed: 0, too_large: 0, aborted: 0, forbidden: 0, unknown_type: 0, schema: 0 };

export class OutcomeCounters {
  readonly events = Object.fromEntries(outcomeEvents.map((event) => [event, 0])) as Record<OutcomeEvent, number>;
  readonly invalid: Record<RejectionReason, number> = { ...noRejections };
  storeErrors = 0;
  forbiddenReported = 0;
  passedOn = 0;
  reconciled = 0;
  readonly unheard = Object.fromEntries(notificationEvents.map((event) => [event, 0])) as Record<keyof NotificationEvents, number>;

  count(event: OutcomeEvent, reason?: RejectionReason): void {
    this.events[event] += 1;
    if (reason !== undefined) this.invalid[reason] += 1;
  }

  readonly ackTimes = new AckHistogram();

  snapshot(listenerErrors: number, inFlight: number): UpgradeRouterStats {
    let received = 0;
    for (const event of outcomeEvents) received += this.events[event];
    return {
      received,
      events: { ...this.events },
      invalid: { ...this.invalid },
      listenerErrors,
      storeErrors: this.storeErrors,
      inFlight,
      unheard: { ...this.unheard },
      forbiddenReported: this.forbiddenReported,
      passedOn: this.passedOn,
      reconciled: this.reconciled,
      ackSeconds: this.ackTimes.snapshot(),
    };
  }
}
