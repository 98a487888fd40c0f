// Faults a test asks for: the next matching northbound calls (or pushes) fail the way the platform
// can fail. Each fault applies `times` times (default 1), to calls whose path starts with `path`,
// after letting `after` of them pass (default 0: the fourth page of a listing fails with `after: 3`).
import { codedError } from '../core/errors';

export type EmulatorFault =
  /** 403 1010005, in either envelope the platform is seen to use (default `resultcode`). */
  | { kind: 'expiredToken'; envelope?: 'error_code' | 'resultcode'; times?: number; after?: number; path?: string }
  /** 403 1010009, as when the application's 100 calls a minute are spent. */
  | { kind: 'throttle'; times?: number; after?: number; path?: string }
  /** This HTTP status with the platform's internal-error body. */
  | { kind: 'status'; status: number; times?: number; after?: number; path?: string }
  /** The answer comes `delayMs` real milliseconds late: the call is done after the wait, or with `when: 'after'` at once (its answer late). */
  | { kind: 'slow'; delayMs: number; when?: 'before' | 'after'; times?: number; after?: number; path?: string }
  /** The request is lost on the way: never done, never answered (the caller's timeout ends it). */
  | { kind: 'lost'; times?: number; after?: number; path?: string }
  /** Listings answer pages of at most `pageSize` entries (numbered in pages of that size), whatever was asked for. */
  | { kind: 'pageCap'; pageSize: number; times?: number; after?: number; path?: string }
  /**
   * Pushes lost on the platform's side: never sent, recorded as `dropped`. The next `times` pushes; or,
   * with `ratio`, that share of pushes (of `notifyType`, when given; IoTDA's task pushes are
   * `batchtask`) drawn at random from the seed, until `clearFaults()`.
   */
  | { kind: 'dropPushes'; times?: number; ratio?: number; notifyType?: string };

type CallFault = Exclude<EmulatorFault, { kind: 'dropPushes' }>;

export class Faults {
  #active: Array<{ fault: CallFault; left: number; passing: number }> = [];

  add(fault: CallFault): void {
    if (!['expiredToken', 'throttle', 'status', 'slow', 'lost', 'pageCap'].includes(fault.kind)) throw codedError('ERR_INVALID_ARG_VALUE', `no such fault: ${JSON.stringify(fault.kind)} (expiredToken, throttle, status, slow, lost, pageCap, dropPushes)`, { kind: TypeError });
    if (fault.kind === 'slow' && !([undefined, 'before', 'after'] as unknown[]).includes(fault.when)) throw codedError('ERR_INVALID_ARG_VALUE', "a slow fault's when is 'before' (the default: done after the wait) or 'after' (done at once, answered late)", { kind: TypeError });
    if (fault.kind === 'pageCap' && !(Number.isInteger(fault.pageSize) && fault.pageSize >= 1 && fault.pageSize <= 100)) throw codedError('ERR_INVALID_ARG_VALUE', 'a pageCap fault needs pageSize, a whole number from 1 to 100', { kind: TypeError });
    if (fault.kind === 'status' && !(Number.isInteger(fault.status) && fault.status >= 100 && fault.status <= 599)) throw codedError('ERR_INVALID_ARG_VALUE', 'a status fault needs an HTTP status, 100 to 599', { kind: TypeError });
    // A timer of more than 2^31 - 1 ms fires at once in Node: a longer delay would be no delay.
    if (fault.kind === 'slow' && !(Number.isInteger(fault.delayMs) && fault.delayMs >= 0 && fault.delayMs <= 2_147_483_647)) throw codedError('ERR_INVALID_ARG_VALUE', 'a slow fault needs delayMs, a whole number of milliseconds from 0 to 2147483647', { kind: TypeError });
    const times = fault.times ?? 1;
    if (!Number.isInteger(times) || times < 1) throw codedError('ERR_INVALID_ARG_VALUE', 'a fault applies a whole number of times, at least 1', { kind: TypeError });
    const after = fault.after ?? 0;
    if (!Number.isInteger(after) || after < 0) throw codedError('ERR_INVALID_ARG_VALUE', 'a fault lets a whole number of calls pass first (after), at least 0', { kind: TypeError });
    this.#active.push({ fault, left: times, passing: after });
  }

  clear(): void {
    this.#active = [];
  }

  /** The fault for this call, if one applies (then spent once). A login is never told its token expired or its calls are spent. */
  take(path: string, login: boolean): CallFault | undefined {
    const matching = this.#active.filter(({ fault }) => path.startsWith(fault.path ?? '/') && !(login && (fault.kind === 'expiredToken' || fault.kind === 'throttle')));
    // Each fault still letting calls pass counts this one; the first that lets none pass applies.
    const found = matching.find((active) => active.passing === 0);
    for (const active of matching) if (active.passing > 0) active.passing -= 1;
    if (found === undefined) return undefined;
    found.left -= 1;
    if (found.left === 0) this.#active = this.#active.filter((active) => active !== found);
    return found.fault;
  }

  /** The faults still to apply, and how many times each. */
  list(): Array<CallFault & { left: number }> {
    return this.#active.map(({ fault, left }) => ({ ...fault, left }));
  }
}
