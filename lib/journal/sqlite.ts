// The embedded journal: one SQLite file, nothing to run. better-sqlite3 is an optional peer
// dependency, loaded only by this subpath. better-sqlite3 is synchronous, and a commit with
// durability 'full' waits for an fsync: run on the main thread, those waits stopped the event loop
// (0.35 x the router's throughput without a journal, measured). So the connection lives in a worker
// thread (sqlite-worker.ts), and the router groups pushes so that one commit serves every push that
// arrived while the previous one was being written.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { checkOptions, checks, type OptionTable } from '../option-checks';
import { DEFAULT_LEASE_MS, DEFAULT_RETAIN_DAYS, type Journal } from './journal';
import { describeThrown } from '../core/thrown';
import { positiveWhole, requireOption } from './rows';
import { openStore, type SqliteSettings, type StoreMethod } from './sqlite-store';
import type { Reply, Request } from './sqlite-worker';

export interface SqliteJournalOptions {
  /** The database file; created with its folder's permissions if missing. */
  path: string;
  /**
   * 'full' (default): a commit survives power loss (`synchronous = FULL`, one fsync per group commit).
   * 'normal': it survives a crash of the process, not of the machine (WAL with `synchronous = NORMAL`).
   */
  durability?: 'full' | 'normal';
  /** Days that done and invalid entries are kept. Default 30. */
  retainDays?: number;
  /** How long a delivery may run before it is taken again; renewed while it runs. Default 60 000 ms. */
  leaseMs?: number;
}

const optionTable: OptionTable = {
  path: { check: checks.nonEmptyString, example: "sqliteJournal({ path: './data/upgrades.db' })" },
  durability: { check: checks.oneOf('full', 'normal'), example: "sqliteJournal({ path, durability: 'full' })" },
  retainDays: { check: positiveWhole, example: 'sqliteJournal({ path, retainDays: 30 })' },
  leaseMs: { check: positiveWhole, example: 'sqliteJournal({ path, leaseMs: 60_000 })' },
};

export interface SqliteJournal extends Journal {
  /** Read back from SQLite after they were set: what durability the commits really get. */
  readonly settings: SqliteSettings;
}

// An error thrown in a worker arrives as a copy, which may have kept only its code (better-sqlite3's
// SqliteError arrives as { code: 'SQLITE_IOERR_SHMSIZE' } when the disk is full at open).
function messageOf(error: unknown): string {
  const { message, code } = (error ?? {}) as { message?: unknown; code?: unknown };
  if (typeof message === 'string' && message !== '') return message;
  return typeof code === 'string' ? code : describeThrown(error);
}

/** An embedded durable journal in one SQLite file. One process per file: at open it takes over every lease. */
export function sqliteJournal(options: SqliteJournalOptions): SqliteJournal {
  checkOptions(options, optionTable);
  requireOption(options.path, 'path', "sqliteJournal({ path: './data/upgrades.db' })");
  const { path, durability = 'full', retainDays = DEFAULT_RETAIN_DAYS, leaseMs = DEFAULT_LEASE_MS } = options;
  // Opened once here, on the caller's thread: a file that cannot be opened fails now, not at the first push.
  const first = openStore({ path, durability, leaseMs });
  const { settings } = first;
  first.releaseLeases();
  first.close();

  // A worker that died (it could not open the file on a full disk, say) is started again by the next
  // request: a journal that failed once must be used again once it can be. Each worker has its own
  // requests in flight, so the end of a dead one fails only its own.
  interface Running {
    worker: Worker;
    waiting: Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>;
  }
  let current: Running | undefined;
  let closing = false;
  let next = 0;
  const start = (): Running => {
    const running: Running = { worker: new Worker(join(__dirname, 'sqlite-worker.js'), { workerData: { path, durability, leaseMs } }), waiting: new Map() };
    const { worker, waiting } = running;
    worker.on('message', (reply: Reply) => {
      const entry = waiting.get(reply.id);
      waiting.delete(reply.id);
      // The worker must not keep the host alive by itself: only while requests are in flight.
      if (waiting.size === 0 && !closing) worker.unref();
      if ('error' in reply) entry?.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
      else entry?.resolve(reply.result);
    });
    const fail = (error: Error): void => {
      if (current === running) current = undefined;
      for (const entry of waiting.values()) entry.reject(error);
      waiting.clear();
    };
    worker.on('error', (error) => fail(new Error(`the SQLite journal's worker failed: ${messageOf(error)}`, { cause: error })));
    worker.on('exit', () => fail(new Error(closing ? 'the SQLite journal is closed' : "the SQLite journal's worker exited")));
    return running;
  };

  const call = <T>(method: StoreMethod, ...args: unknown[]): Promise<T> => {
    if (closing && method !== 'close') return Promise.reject(new Error('the SQLite journal is closed'));
    current ??= start();
    const { worker, waiting } = current;
    const id = (next += 1);
    worker.ref();
    return new Promise<T>((resolve, reject) => {
      waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ id, method, args } satisfies Request);
    });
  };

  return {
    kind: 'sqlite',
    settings,
    leaseMs,
    retainDays,
    append: (records, completed) => call('append', records, completed),
    claim: (events, limit) => call('claim', events, limit),
    renew: (ids) => call('renew', ids),
    complete: (ids) => call('complete', ids),
    retry: (id, error, delayMs) => call('retry', id, error, delayMs),
    bury: (id, error) => call('bury', id, error),
    counts: () => call('counts'),
    list: (state, limit) => call('list', state, limit),
    replay: (id) => call('replay', id),
    replayDead: () => call('replayDead'),
    notificationsAfter: (afterId, limit) => call('notificationsAfter', afterId, limit),
    prune: (days) => call('prune', days),
    close: async () => {
      const running = current;
      if (closing || running === undefined) {
        closing = true;
        return;
      }
      closing = true;
      // Held until the worker is gone: awaiting an unreferenced worker's exit would let Node exit first.
      const exited = new Promise((resolve) => running.worker.once('exit', resolve));
      await call('close').catch(() => {});
      await exited;
    },
  };
}
