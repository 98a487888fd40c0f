// The platform allows an application 100 calls in 60 s by default and answers 1010009 beyond. The
// client keeps under that itself: a sliding window of call start times, callers queued in order.

export class SlidingWindow {
  readonly #starts: number[] = [];
  #queue: Promise<void> = Promise.resolve();
  /** When the call waiting for room may start (epoch ms); undefined while none waits. */
  #waitingUntil: number | undefined;

  constructor(
    readonly calls: number,
    readonly windowMs: number,
  ) {}

  /** Resolves when a call may start without exceeding `calls` in any `windowMs`. */
  acquire(): Promise<void> {
    const turn = this.#queue.then(() => this.#wait());
    this.#queue = turn;
    return turn;
  }

  /** When a call held back may start; undefined when none is held back. */
  waitingUntil(): Date | undefined {
    return this.#waitingUntil === undefined ? undefined : new Date(this.#waitingUntil);
  }

  /** After a 1010009 the platform's window is full whatever ours says: wait a whole window. */
  saturate(): void {
    const now = performance.now();
    this.#starts.length = 0;
    for (let i = 0; i < this.calls; i += 1) this.#starts.push(now);
  }

  async #wait(): Promise<void> {
    for (;;) {
      const now = performance.now();
      while (this.#starts.length > 0 && (this.#starts[0] as number) <= now - this.windowMs) this.#starts.shift();
      if (this.#starts.length < this.calls) {
        this.#starts.push(now);
        this.#waitingUntil = undefined;
        return;
      }
      const waitMs = (this.#starts[0] as number) + this.windowMs - now;
      this.#waitingUntil = Date.now() + waitMs;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}

/** The latest of some waits (undefined ones are none): when every call held back may go on. */
export function latest(times: ReadonlyArray<Date | undefined>): Date | undefined {
  const known = times.flatMap((time) => time ?? []);
  return known.length === 0 ? undefined : new Date(Math.max(...known.map((time) => time.getTime())));
}

const windows = new Map<string, SlidingWindow>();

/**
 * The one call budget of `appId` on the platform at `url` in this process: the platform counts calls
 * by application, so two clients of one appId keeping separate windows would spend twice its budget.
 * The first client's limit sets it; a client asking for a stricter one gets a window of its own
 * within it (both are waited for).
 */
export function budgetOf(url: string, appId: string, calls: number, windowMs: number): SlidingWindow[] {
  const key = `${url}\n${appId}`;
  let shared = windows.get(key);
  if (shared === undefined) {
    shared = new SlidingWindow(calls, windowMs);
    windows.set(key, shared);
  }
  return calls / windowMs < shared.calls / shared.windowMs ? [shared, new SlidingWindow(calls, windowMs)] : [shared];
}
