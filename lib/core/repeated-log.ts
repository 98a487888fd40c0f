import { log, type LogDetails, type Logger } from './log';
import { describeThrown } from './thrown';

/** Repeats of one message are summed over this long, then logged as one line with their count. */
export const REPEAT_INTERVAL_MS = 60_000;

/**
 * Error lines through the logger, each message written in full (with its stack) once per interval;
 * its repeats in that interval are counted and written as one line when it ends. Messages that
 * differ only in numbers (entry ids, counts) are one message.
 */
export class RepeatedLog {
  readonly #logger: Logger;
  readonly #seen = new Map<string, { message: string; repeats: number }>();
  #timer: NodeJS.Timeout | undefined;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  error(message: string, details: LogDetails & { error: Error }): void {
    // describeThrown never throws: an error's message getter may.
    const text = describeThrown(details.error);
    const key = `${message}\u0000${text.replace(/\d+/g, '#')}`;
    const seen = this.#seen.get(key);
    if (seen !== undefined) {
      seen.repeats += 1;
      return;
    }
    this.#seen.set(key, { message: `${message}: ${text}`, repeats: 0 });
    log(this.#logger, 'error', message, details);
    if (this.#timer === undefined) this.#timer = setTimeout(() => this.#flush(), REPEAT_INTERVAL_MS).unref();
  }

  #flush(): void {
    this.#timer = undefined;
    const seen = [...this.#seen.values()];
    this.#seen.clear();
    for (const { message, repeats } of seen) {
      if (repeats > 0) log(this.#logger, 'error', `${repeats} more times in the last ${REPEAT_INTERVAL_MS / 1000} s: ${message}`);
    }
  }
}
