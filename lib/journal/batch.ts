import { ignore } from '../core/thrown';
/**
 * Items added in one turn of the event loop, or while the previous flush runs, are flushed together:
 * a group of pushes, or a hundred deliveries to mark done, costs one transaction (one fsync), not one each.
 */
export class Batch<T> {
  readonly #flush: (items: T[]) => Promise<void>;
  readonly #onError: (error: unknown, items: T[]) => void;
  #items: T[] = [];
  #busy = false;
  #scheduled = false;

  constructor(flush: (items: T[]) => Promise<void>, onError: (error: unknown, items: T[]) => void) {
    this.#flush = flush;
    this.#onError = onError;
  }

  add(item: T): void {
    this.#items.push(item);
    this.#schedule();
  }

  /** Takes what waits for the next flush, for a caller that writes it along with something else. */
  take(): T[] {
    const items = this.#items;
    this.#items = [];
    return items;
  }

  /** Resolves once nothing is waiting or being flushed (before the journal is closed). */
  async idle(): Promise<void> {
    while (this.#busy || this.#scheduled || this.#items.length > 0) await new Promise((resolve) => setImmediate(resolve));
  }

  #schedule(): void {
    if (this.#busy || this.#scheduled || this.#items.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      const items = this.take();
      if (items.length === 0) return;
      this.#busy = true;
      this.#flush(items)
        .catch((error: unknown) => this.#onError(error, items))
        .finally(() => {
          this.#busy = false;
          this.#schedule();
        })
        .catch(ignore);
    });
  }
}

