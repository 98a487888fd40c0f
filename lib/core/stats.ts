import type { NotificationEvents, RejectionReason } from '../events';
import { notificationTable } from '../notification-types';

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
}

const outcomeEvents: readonly OutcomeEvent[] = [...Object.values(notificationTable).map((entry) => entry.event), 'duplicate', 'invalid'];
const reasons: readonly RejectionReason[] = ['malformed', 'too_large', 'aborted', 'forbidden', 'unknown_type', 'schema'];

const zeroes = <K extends string>(keys: readonly K[]): Record<K, number> =>
  Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;

export class OutcomeCounters {
  readonly events = zeroes(outcomeEvents);
  readonly invalid = zeroes(reasons);

  count(event: OutcomeEvent, reason?: RejectionReason): void {
    this.events[event] += 1;
    if (reason !== undefined) this.invalid[reason] += 1;
  }

  snapshot(listenerErrors: number, inFlight: number, storeErrors: number): UpgradeRouterStats {
    let received = 0;
    for (const event of outcomeEvents) received += this.events[event];
    return { received, events: { ...this.events }, invalid: { ...this.invalid }, listenerErrors, storeErrors, inFlight };
  }
}
