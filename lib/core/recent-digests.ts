/**
 * The in-memory duplicate store (issue 13): the digests of recent notifications, kept in four
 * generations of open-addressing tables of 32-bit pairs. A lookup probes each generation; an insert
 * goes into the newest. Every `ttl / 3` the oldest generation is emptied and becomes the newest, so a
 * digest is remembered for at least `ttl` and at most `ttl + ttl / 3`. Under a flood the newest turns
 * over early once it holds `max / 3`, but only when the generations left hold at least `max`: the
 * last `max` digests within the ttl are always remembered, and at most `2 × max` are held (4/3 × max
 * under a steady flood). Nothing is allocated per push and nothing is ever deleted one by one: the
 * tables grow to what they hold (16-32 bytes a digest) and are reused, and the garbage collector never
 * sees an entry.
 */
const GENERATIONS = 4;
const INITIAL_SLOTS = 1024;

class DigestTable {
  // Slot i holds its digest at 2i (hi) and 2i + 1 (lo); lo is always odd, so 0 marks an empty slot.
  slots = new Int32Array(INITIAL_SLOTS * 2);
  size = 0;

  has(hi: number, lo: number): boolean {
    const slots = this.slots;
    const mask = (slots.length >>> 1) - 1;
    for (let i = (hi ^ lo) & mask; ; i = (i + 1) & mask) {
      const slotLo = slots[2 * i + 1];
      if (slotLo === 0) return false;
      if (slotLo === lo && slots[2 * i] === hi) return true;
    }
  }

  add(hi: number, lo: number, capacity: number): void {
    // Kept at most half full, so that a probe ends soon on an empty slot.
    if (2 * (this.size + 1) > this.slots.length >>> 1) this.#grow(capacity);
    const slots = this.slots;
    const mask = (slots.length >>> 1) - 1;
    let i = (hi ^ lo) & mask;
    while (slots[2 * i + 1] !== 0) i = (i + 1) & mask;
    slots[2 * i] = hi;
    slots[2 * i + 1] = lo;
    this.size += 1;
  }

  clear(): void {
    this.slots.fill(0);
    this.size = 0;
  }

  #grow(capacity: number): void {
    const old = this.slots;
    const slotCount = old.length >>> 1;
    if (slotCount >= 2 * capacity) return;
    this.slots = new Int32Array(old.length * 2);
    this.size = 0;
    for (let i = 0; i < slotCount; i += 1) {
      const lo = old[2 * i + 1] as number;
      if (lo !== 0) this.add(old[2 * i] as number, lo, capacity);
    }
  }
}

export class RecentDigests {
  readonly #generations: DigestTable[] = Array.from({ length: GENERATIONS }, () => new DigestTable());
  readonly #span: number;
  readonly #perGeneration: number;
  readonly #max: number;
  readonly #now: () => number;
  #newest = 0;
  #newestSince: number;

  constructor(max: number, ttl: number, now: () => number = Date.now) {
    this.#span = Math.max(1, Math.ceil(ttl / (GENERATIONS - 1)));
    this.#perGeneration = Math.max(1, Math.ceil(max / (GENERATIONS - 1)));
    this.#max = max;
    this.#now = now;
    this.#newestSince = now();
  }

  /** True when the digest was seen within the ttl; otherwise remembers it and answers false. */
  seen(hi: number, lo: number): boolean {
    const oddLo = lo | 1;
    this.#age();
    for (const table of this.#generations) if (table.has(hi, oddLo)) return true;
    let newest = this.#generations[this.#newest] as DigestTable;
    if (newest.size >= this.#perGeneration && this.#heldWithoutOldest() >= this.#max) {
      this.#turnOver(1);
      this.#newestSince = this.#now();
      newest = this.#generations[this.#newest] as DigestTable;
    }
    newest.add(hi, oddLo, this.#max);
    return false;
  }

  #heldWithoutOldest(): number {
    let held = 0;
    for (let n = 0; n < GENERATIONS - 1; n += 1) held += (this.#generations[(this.#newest + GENERATIONS - n) % GENERATIONS] as DigestTable).size;
    return held;
  }

  // Generations turn over on a fixed grid of spans, however long the router sat idle in between,
  // so that the upper bound (ttl + one span) holds too.
  #age(): void {
    const elapsed = this.#now() - this.#newestSince;
    if (elapsed < this.#span) return;
    const spans = Math.floor(elapsed / this.#span);
    this.#turnOver(Math.min(spans, GENERATIONS));
    this.#newestSince += spans * this.#span;
  }

  #turnOver(count: number): void {
    for (let n = 0; n < count; n += 1) {
      this.#newest = (this.#newest + 1) % GENERATIONS;
      (this.#generations[this.#newest] as DigestTable).clear();
    }
  }
}
