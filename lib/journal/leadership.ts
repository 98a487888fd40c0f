// The reconciliation lock of a Postgres journal: a session advisory lock on a connection of its own,
// kept between passes. Each login to the platform replaces the application's other tokens, so the
// instances sharing a journal must not take turns calling it (two receivers logged in 24 times in
// four minutes): the first to take the lock keeps it, and with it the one northbound session, until
// it gives it up or its connection ends. The server releases the lock with the connection; the holder
// learns of it from the connection's error or end (or the round trip made before each use), and its
// signal is aborted at once, so that it stops calling the platform while another instance takes over.
import type { Pool, PoolClient } from 'pg';
import { codedError } from '../core/errors';

interface Held {
  client: PoolClient;
  lost: AbortController;
}

const lostLock = (why: string): Error => codedError('ERR_RECONCILE_LOCK_LOST', `the reconciliation lock was lost: ${why}`);

export class Leadership {
  #held: Held | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  /** `lock` is the SQL expression of the advisory lock's key. */
  constructor(
    private readonly pool: Pool,
    private readonly lock: string,
  ) {}

  /** The lock's signal while this instance holds it (taken now if it is free); undefined while another does. */
  take(): Promise<AbortSignal | undefined> {
    return this.#serial(async () => {
      const held = this.#held;
      if (held !== undefined) {
        // A connection can die quietly (a network that drops it without a word): one round trip tells.
        try {
          await held.client.query('SELECT 1');
          return held.lost.signal;
        } catch (error) {
          this.#lose(held, error instanceof Error ? error.message : String(error));
        }
      }
      const client = await this.pool.connect();
      let locked: boolean;
      try {
        locked = (await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(${this.lock}) AS locked`)).rows[0]?.locked === true;
      } catch (error) {
        client.release(error instanceof Error ? error : true);
        throw error;
      }
      if (!locked) {
        client.release();
        return undefined;
      }
      const entry: Held = { client, lost: new AbortController() };
      client.on('error', (error: Error) => this.#lose(entry, error.message));
      client.on('end', () => this.#lose(entry, 'its connection ended'));
      this.#held = entry;
      return entry.lost.signal;
    });
  }

  /**
   * Gives the lock up, unlocked before it resolves (another instance may take it at once), then closes
   * its connection. A connection closed without the unlock frees the lock only once the server has
   * seen it go: a moment later.
   */
  release(): Promise<void> {
    return this.#serial(async () => {
      const held = this.#held;
      if (held === undefined) return;
      await held.client.query(`SELECT pg_advisory_unlock(${this.lock})`).catch(() => {});
      this.#lose(held, 'given up');
    });
  }

  #lose(entry: Held, why: string): void {
    if (this.#held !== entry) return;
    this.#held = undefined;
    entry.lost.abort(lostLock(why));
    // Not back into the pool: a connection that holds (or held) the lock is closed.
    entry.client.release(true);
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.#queue.then(work);
    this.#queue = turn.catch(() => {});
    return turn;
  }
}
