/**
 * The in-memory duplicate store: the digests of recent notifications, each with the time it
 * arrived, in four generations of open-addressing tables. A digest counts as seen while it is younger
 * than `ttl`, to the millisecond. Inserts go into the newest generation; once it holds a third of
 * `max` the oldest is emptied and becomes the newest, so the last `max` digests are always held and
 * never more than 4/3 of `max` (rounded up to thirds). Nothing is allocated per push and nothing is
 * deleted one by one: the tables grow to what they hold (16 bytes a slot, at most half of them used) and are reused, and the
 * garbage collector never sees an entry.
 */
const GENERATIONS = 4;
const INITIAL_SLOTS = 1024;

class DigestTable {
  // Slot i holds its digest at 2i (hi) and 2i + 1 (lo), and its arrival at times[i]; lo is always
  // odd, so 0 marks an empty slot.
  digests = new Int32Array(INITIAL_SLOTS * 2);
  times = new Float64Array(INITIAL_SLOTS);
  size = 0;

  /** The slot holding the digest, or -1. */
  find(hi: number, lo: number): number {
    const digests = this.digests;
    const mask = this.times.length - 1;
    for (let i = (hi ^ lo) & mask; ; i = (i + 1) & mask) {
      const slotLo = digests[2 * i + 1];
      if (slotLo === 0) return -1;
      if (slotLo === lo && digests[2 * i] === hi) return i;
    }
  }

  add(hi: number, lo: number, at: number, capacity: number): void {
    // Kept at most half full, so that a probe ends soon on an empty slot.
    if (2 * (this.size + 1) > this.times.length) this.#grow(capacity);
    const digests = this.digests;
    const mask = this.times.length - 1;
    let i = (hi ^ lo) & mask;
    while (digests[2 * i + 1] !== 0) i = (i + 1) & mask;
    digests[2 * i] = hi;
    digests[2 * i + 1] = lo;
    this.times[i] = at;
    this.size += 1;
  }

  clear(): void {
    this.digests.fill(0);
    this.size = 0;
  }

  #grow(capacity: number): void {
    const { digests, times } = this;
    if (times.length >= 2 * capacity) return;
    this.digests = new Int32Array(digests.length * 2);
    this.times = new Float64Array(times.length * 2);
    this.size = 0;
    for (let i = 0; i < times.length; i += 1) {
      const lo = digests[2 * i + 1] as number;
      if (lo !== 0) this.add(digests[2 * i] as number, lo, times[i] as number, capacity);
    }
  }
}

export class RecentDigests {
  readonly #generations: DigestTable[] = Array.from({ length: GENERATIONS }, () => new DigestTable());
  readonly #ttl: number;
  readonly #perGeneration: number;
  #newest = 0;

  constructor(max: number, ttl: number) {
    this.#ttl = ttl;
    this.#perGeneration = Math.max(1, Math.ceil(max / (GENERATIONS - 1)));
  }

  /** True when the digest arrived within the ttl; otherwise remembers it, arriving now, and answers false. */
  seen(hi: number, lo: number): boolean {
    const oddLo = lo | 1;
    const now = Date.now();
    // Seen once, long enough ago to be forgotten: its slot in the newest generation is reused.
    let expired = -1;
    for (let g = 0; g < GENERATIONS; g += 1) {
      const table = this.#generations[g] as DigestTable;
      const slot = table.find(hi, oddLo);
      if (slot === -1) continue;
      if (now - (table.times[slot] as number) < this.#ttl) return true;
      if (g === this.#newest) expired = slot;
    }
    let newest = this.#generations[this.#newest] as DigestTable;
    if (expired !== -1) {
      newest.times[expired] = now;
      return false;
    }
    if (newest.size >= this.#perGeneration) {
      this.#newest = (this.#newest + 1) % GENERATIONS;
      newest = this.#generations[this.#newest] as DigestTable;
      newest.clear();
    }
    newest.add(hi, oddLo, now, this.#perGeneration);
    return false;
  }
}
