// The retry schedule of a journaled delivery, and the window it spans: small and free of the
// journal's peers, so the main entry can export retryWindowMs() for sizing `delivery` options.
import { DEFAULT_DELIVERY_TIMING } from './defaults';

/** The wait before attempt `attempt + 1` after attempt `attempt` failed. */
export function backoffAfter(attempt: number, options: { backoffMs: number; maxBackoffMs: number }): number {
  return Math.min(options.backoffMs * 2 ** Math.min(attempt - 1, 40), options.maxBackoffMs);
}

/**
 * From a journaled notification's first delivery attempt to its last, in ms: how long an outage of
 * what your listener writes to the retries ride out before the entry is dead. Without options, the
 * defaults' (about 63.5 minutes).
 */
export function retryWindowMs(options: { attempts?: number; backoffMs?: number; maxBackoffMs?: number } = {}): number {
  const resolved = {
    attempts: options.attempts ?? DEFAULT_DELIVERY_TIMING.attempts,
    backoffMs: options.backoffMs ?? DEFAULT_DELIVERY_TIMING.backoffMs,
    maxBackoffMs: options.maxBackoffMs ?? DEFAULT_DELIVERY_TIMING.maxBackoffMs,
  };
  let total = 0;
  for (let attempt = 1; attempt < resolved.attempts; attempt += 1) total += backoffAfter(attempt, resolved);
  return total;
}
