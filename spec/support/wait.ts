// The one way a spec waits: on a condition, polled, with a ceiling far above what the condition needs
// on a quiet machine. A busy 2-core CI box with spec files running in parallel must not fail a spec;
// only a condition that never comes true does, and the message says which.

/** The ceiling when a spec names none: generous, so that only a condition that never holds fails. */
export const CEILING_MS = 30_000;

/**
 * Resolves once `check` holds (polled every 20 ms); rejects after `ceilingMs` with
 * "never happened: <what>". `what` may be a function, to describe the state seen last.
 */
export async function until(check: () => boolean | Promise<boolean>, what: string | (() => string | Promise<string>), ceilingMs = CEILING_MS): Promise<void> {
  const deadline = Date.now() + ceilingMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`never happened within ${ceilingMs} ms: ${typeof what === 'function' ? await what() : what}`);
    await tick(20);
  }
}

/**
 * Lets timers and I/O run for `ms` without waiting on anything: only for a component under test
 * that is itself defined by time (a listener that takes a while, a client that trickles bytes), never
 * for a spec to wait for something to happen.
 */
export const tick = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
