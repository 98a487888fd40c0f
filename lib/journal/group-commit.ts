import { Batch } from './batch';
import type { Appended, Journal, JournalRecord } from './journal';
import { codedError } from '../core/errors';

// A commit that has not finished by then is treated as failed: the platform gives up on an answer
// after 15 s, and the push is better kept in the spill than lost with the subscription.
export const COMMIT_TIMEOUT_MS = 5000;

interface Waiting {
  record: JournalRecord;
  resolve: (appended: Appended) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitHooks {
  /**
   * Called just before each commit: may still change the records (it decides which are delivered at
   * once), and returns the ids of deliveries that succeeded meanwhile, marked done in the same commit.
   */
  beforeCommit(records: readonly JournalRecord[]): readonly string[];
  /** The ids `beforeCommit` gave were not marked done: the commit failed. */
  completedLost(ids: readonly string[], error: unknown): void;
  /** The ids `beforeCommit` gave were marked done. */
  committed(ids: readonly string[]): void;
  /**
   * Keeps records the journal could not commit (`error`), or those that must wait behind records
   * kept earlier (`error` undefined); resolves false when they could not be kept either.
   */
  spill(records: readonly JournalRecord[], error: unknown): Promise<boolean>;
  /** Whether records wait in the spill: new ones then join them there, in order, without trying the journal. */
  spilling(): boolean;
}

/**
 * Group commit: every record that arrives while a commit is in progress goes into the next one, so
 * durability costs one transaction (one fsync) per group, not per push. The first record of a group
 * waits for the end of the current turn of the event loop, so that the requests parsed in the same
 * turn share it.
 */
export class GroupCommit {
  readonly #journal: Journal;
  readonly #hooks: GroupCommitHooks;
  readonly #dedupeWindowMs: number;
  // The grouping itself (one flush at a time, the rest waiting for the next) is the Batch's.
  readonly #groups = new Batch<Waiting>(
    (group) => this.#commit(group),
    (error, group) => {
      for (const waiting of group) waiting.reject(error);
    },
  );
  commits = 0;
  committed = 0;

  constructor(journal: Journal, hooks: GroupCommitHooks, dedupeWindowMs: number) {
    this.#journal = journal;
    this.#hooks = hooks;
    this.#dedupeWindowMs = dedupeWindowMs;
  }

  add(record: JournalRecord): Promise<Appended> {
    return new Promise((resolve, reject) => this.#groups.add({ record, resolve, reject }));
  }

  /** Resolves once no record waits and no commit runs (before the journal is closed). */
  idle(): Promise<void> {
    return this.#groups.idle();
  }

  // Rejects (and then every record of the group is rejected) when the commit fails or times out and
  // the records could not be spilled either.
  async #commit(group: Waiting[]): Promise<void> {
    const records = group.map((waiting) => waiting.record);
    if (this.#hooks.spilling()) {
      for (const record of records) if (record.kind === 'notification') record.leased = false;
      if (await this.#hooks.spill(records, undefined)) return this.#spilled(group);
    }
    const completed = this.#hooks.beforeCommit(records);
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(codedError('ERR_JOURNAL_COMMIT_TIMEOUT', `the ${this.#journal.kind} journal did not commit within ${COMMIT_TIMEOUT_MS} ms`)), COMMIT_TIMEOUT_MS);
      });
      const answers = await Promise.race([this.#journal.append(records, completed, this.#dedupeWindowMs), timeout]);
      this.commits += 1;
      this.committed += group.length;
      this.#hooks.committed(completed);
      group.forEach((waiting, index) => waiting.resolve(answers[index] as Appended));
    } catch (error) {
      if (completed.length > 0) this.#hooks.completedLost(completed, error);
      if (!(await this.#hooks.spill(records, error))) throw error;
      this.#spilled(group);
    } finally {
      clearTimeout(timer);
    }
  }

  #spilled(group: Waiting[]): void {
    for (const waiting of group) waiting.resolve({ id: '', duplicate: false, spilled: true });
  }
}
