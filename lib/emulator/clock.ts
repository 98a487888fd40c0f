// The emulator's time. It runs `speed` times faster than the wall clock (a 10-minute re-send window
// in seconds) and can be moved forward at once; everything the emulator times (token expiry, device
// schedules, push time-outs and re-sends, the rate limit's window) reads this clock.

interface Timer {
  at: number;
  seq: number;
  run: () => void;
}

export class EmulatedClock {
  readonly #realStart = performance.now();
  readonly #start: number;
  #skipped = 0;
  #seq = 0;
  /** A binary heap on (at, seq): the next timer first. */
  readonly #heap: Timer[] = [];
  #wake: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    /** Emulated milliseconds per real millisecond. */
    readonly speed: number,
    start = Date.now(),
  ) {
    this.#start = start;
  }

  /** Emulated epoch milliseconds. */
  now(): number {
    return this.#start + (performance.now() - this.#realStart) * this.speed + this.#skipped;
  }

  /** Real milliseconds that `ms` of emulated time take. */
  real(ms: number): number {
    return ms / this.speed;
  }

  /** Runs `run` when the emulated clock reaches `at`. */
  at(at: number, run: () => void): void {
    this.#push({ at, seq: (this.#seq += 1), run });
    this.#arm();
  }

  after(ms: number, run: () => void): void {
    this.at(this.now() + ms, run);
  }

  /** Moves emulated time forward by `ms` and runs what fell due. */
  advance(ms: number): void {
    // Step from timer to timer: each runs with the clock reading its own time, so that what it stamps
    // (a sub-task's stopTime, a push's time) is when it fell due, not the end of the jump.
    const target = this.now() + ms;
    for (let top = this.#heap[0]; top !== undefined && top.at <= target; top = this.#heap[0]) {
      const now = this.now();
      if (top.at > now) this.#skipped += top.at - now;
      this.#pop();
      top.run();
    }
    const now = this.now();
    if (target > now) this.#skipped += target - now;
    this.#arm();
  }

  /** Timers not yet run. */
  pending(): number {
    return this.#heap.length;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#wake);
    this.#heap.length = 0;
  }

  #fire(): void {
    const now = this.now();
    for (let top = this.#heap[0]; top !== undefined && top.at <= now; top = this.#heap[0]) {
      this.#pop();
      top.run();
    }
    this.#arm();
  }

  #arm(): void {
    clearTimeout(this.#wake);
    const top = this.#heap[0];
    if (top === undefined || this.#closed) return;
    // setTimeout's ceiling is 2^31-1 ms; a later timer re-arms on waking.
    this.#wake = setTimeout(() => this.#fire(), Math.min(2 ** 31 - 1, Math.max(0, this.real(top.at - this.now()))));
    this.#wake.unref();
  }

  #push(timer: Timer): void {
    const heap = this.#heap;
    heap.push(timer);
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i] as Timer, heap[parent] as Timer)) break;
      [heap[i], heap[parent]] = [heap[parent] as Timer, heap[i] as Timer];
      i = parent;
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop() as Timer;
    if (heap.length === 0) return;
    heap[0] = last;
    for (let i = 0; ; ) {
      const left = 2 * i + 1;
      const right = left + 1;
      let first = i;
      if (left < heap.length && before(heap[left] as Timer, heap[first] as Timer)) first = left;
      if (right < heap.length && before(heap[right] as Timer, heap[first] as Timer)) first = right;
      if (first === i) return;
      [heap[i], heap[first]] = [heap[first] as Timer, heap[i] as Timer];
      i = first;
    }
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
