/** Upper bounds, in seconds, of the answer-time buckets: from a fast loopback answer to the platform's 15 s. */
export const ACK_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15] as const;

/** How long answers took: counts per bucket (cumulative, as Prometheus reads them), their sum and number. */
export interface AckTimes {
  /** Answers given. */
  count: number;
  /** Seconds, summed over every answer. */
  sum: number;
  /** For each upper bound `le` (seconds), how many answers took at most that long. */
  buckets: Array<{ le: number; count: number }>;
}

/**
 * The time from a request's arrival to its 200, kept as fixed buckets: one comparison loop and no
 * allocation per answer, read whole by stats() (and so by a Prometheus scrape).
 */
export class AckHistogram {
  readonly #counts = new Array<number>(ACK_BUCKETS.length).fill(0);
  #count = 0;
  #sum = 0;

  observe(seconds: number): void {
    this.#count += 1;
    this.#sum += seconds;
    for (let i = 0; i < ACK_BUCKETS.length; i += 1) {
      if (seconds <= (ACK_BUCKETS[i] as number)) {
        this.#counts[i] = (this.#counts[i] ?? 0) + 1;
        return;
      }
    }
  }

  snapshot(): AckTimes {
    let cumulative = 0;
    const buckets = ACK_BUCKETS.map((le, i) => ({ le, count: (cumulative += this.#counts[i] ?? 0) }));
    return { count: this.#count, sum: this.#sum, buckets };
  }
}
