// The embedded journal: one SQLite file, nothing to run. better-sqlite3 is an optional peer
// dependency, loaded only by this subpath. better-sqlite3 is synchronous, and a commit with
// durability 'full' waits for an fsync: run on the main thread, those waits stopped the event loop
// (0.35 x the router's throughput without a journal, measured). So the connection lives in a worker
// thread (sqlite-worker.ts), and the router groups pushes so that one commit serves every push that
// arrived while the previous one was being written.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { checkOptions, checks, type OptionTable } from '../core/option-checks';
import { DEFAULT_LEASE_MS, DEFAULT_RETAIN_DAYS, type Journal, type JournalAdmin } from './journal';
import { describeThrown } from '../core/thrown';
import { requireOption } from '../core/option-checks';
import { leaseCheck, positiveWhole } from './rows';
import { openStore, type OwnerStore, type SqliteSettings, type StoreMethod } from './sqlite-store';
import { lockJournal, receiverRunning } from './sqlite-lock';
import type { Reply, Request } from './sqlite-worker';
import { codedError } from '../core/errors';

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
  /**
   * One receiver owns a SQLite file (a lock says so): a delivery it runs is never taken over while it
   * runs, however long. After this long, an entry whose end could not be recorded (a failed commit) is
   * delivered again. At least 2 000 ms. Default 60 000 ms.
   */
  leaseMs?: number;
  /**
   * Where pushes are kept while the journal cannot commit them (a full disk, a database locked for
   * longer than 5 s), moved into the journal once it can: a folder. Default: `<path>.spill`; false: none.
   */
  spill?: string | false;
}

const optionTable: OptionTable = {
  path: {
    check: (value) =>
      checks.nonEmptyString(value) ??
      (value === ':memory:' || String(value).startsWith('file::memory:') ? 'is an in-memory database, which a crash loses: give a file' : undefined),
    example: "sqliteJournal({ path: './data/upgrades.db' })",
  },
  spill: { check: (value) => (value === false ? undefined : checks.nonEmptyString(value)), example: "sqliteJournal({ path, spill: './data/spill' }) or spill: false" },
  durability: { check: checks.oneOf('full', 'normal'), example: "sqliteJournal({ path, durability: 'full' })" },
  retainDays: { check: positiveWhole, example: 'sqliteJournal({ path, retainDays: 30 })' },
  leaseMs: { check: leaseCheck, example: 'sqliteJournal({ path, leaseMs: 60_000 }) (milliseconds)' },
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

/**
 * An embedded durable journal in one SQLite file, owned by one receiver: a second one on the same file
 * is refused. At open it takes over what a previous owner (killed, say) left being delivered.
 */
export function sqliteJournal(options: SqliteJournalOptions): SqliteJournal {
  checkOptions(options, optionTable);
  requireOption(options.path, 'path', "sqliteJournal({ path: './data/upgrades.db' })");
  const { path, durability = 'full', retainDays = DEFAULT_RETAIN_DAYS, leaseMs = DEFAULT_LEASE_MS } = options;
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (error) {
    throw codedError('ERR_JOURNAL_FOLDER', `the SQLite journal's folder ${dirname(path)} cannot be created: ${messageOf(error)}`, { cause: error });
  }
  const lock = lockJournal(path);
  let settings: SqliteSettings;
  try {
    // Opened once here, on the caller's thread: a file that cannot be opened fails now, not at the first push.
    const first = openStore({ path, durability, role: 'owner' }) as OwnerStore;
    settings = first.settings;
    first.takeOver();
    first.close();
  } catch (error) {
    lock.release();
    throw error;
  }

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
    const running: Running = { worker: new Worker(join(__dirname, 'sqlite-worker.js'), { workerData: { path, durability, role: 'owner', leaseMs } }), waiting: new Map() };
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
    worker.on('error', (error) => fail(codedError('ERR_JOURNAL_WORKER', `the SQLite journal's worker failed: ${messageOf(error)}`, { cause: error })));
    worker.on('exit', () => fail(closing ? codedError('ERR_JOURNAL_CLOSED', 'the SQLite journal is closed') : codedError('ERR_JOURNAL_WORKER', "the SQLite journal's worker exited")));
    return running;
  };

  const call = <T>(method: StoreMethod, ...args: unknown[]): Promise<T> => {
    if (closing && method !== 'close') return Promise.reject(codedError('ERR_JOURNAL_CLOSED', 'the SQLite journal is closed'));
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
    spill: options.spill ?? `${path}.spill`,
    append: (records, completed, dedupeWindowMs) => call('append', records, completed, dedupeWindowMs),
    claim: (events, limit, exclude) => call('claim', events, limit, exclude),
    renew: () => Promise.resolve(),
    complete: (ids) => call('complete', ids),
    retry: (id, error, delayMs) => call('retry', id, error, delayMs),
    bury: (id, error) => call('bury', id, error),
    reviveDead: (event) => call('reviveDead', event),
    counts: () => call('counts'),
    taskCounts: (operationId) => call('taskCounts', operationId),
    list: (state, limit) => call('list', state, limit),
    finalResults: (operationId) => call('finalResults', operationId),
    tasksSince: (since) => call('tasksSince', since),
    createRollout: (id, spec, at) => call('createRollout', id, spec, at),
    appendRolloutSteps: (id, seq, steps, at) => call('appendRolloutSteps', id, seq, steps, at),
    readRollout: (id) => call('readRollout', id),
    listRollouts: () => call('listRollouts'),
    requestRollout: (id, action, data, at) => call('requestRollout', id, action, data, at),
    finalResultBodies: (operationId) => call('finalResultBodies', operationId),
    // One receiver owns the file: nothing else can reconcile into it.
    exclusive: async (work) => ({ ran: true, value: await work(new AbortController().signal) }),
    get: (id) => call('get', id),
    replay: (id, again = false) => call('replay', id, again),
    replayDead: () => call('replayDead'),
    reviveInvalid: (id, notification) => call('reviveInvalid', id, notification),
    discard: (event) => call('discard', event),
    notificationsAfter: (afterId, limit) => call('notificationsAfter', afterId, limit),
    notificationsIn: (ids) => call('notificationsIn', ids),
    prune: (days, limit) => call('prune', days, limit),
    close: async () => {
      const running = current;
      if (closing) return;
      closing = true;
      if (running !== undefined) {
        // Held until the worker is gone: awaiting an unreferenced worker's exit would let Node exit first.
        const exited = new Promise((resolve) => running.worker.once('exit', resolve));
        await call('close').catch(() => {});
        await exited;
      }
      lock.release();
    },
  };
}

/**
 * A SQLite journal opened for an operator (the `journal` command, a health check) beside a running
 * receiver: it never creates the file, never takes over deliveries, and tells a live delivery from
 * one a killed receiver left.
 */
export function inspectSqliteJournal(options: { path: string }): JournalAdmin {
  checkOptions(options, { path: optionTable['path'] as OptionTable[string] });
  requireOption(options.path, 'path', "inspectSqliteJournal({ path: './data/upgrades.db' })");
  const { path } = options;
  const store = openStore({ path, durability: 'full', role: 'operator', ownerRunning: receiverRunning(path) });
  // The reads are synchronous; a throw becomes a rejection, as from the receiver's journal.
  const run = <T>(work: () => T): Promise<T> => {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  };
  return {
    kind: 'sqlite',
    counts: () => run(() => store.counts()),
    taskCounts: (operationId) => run(() => store.taskCounts(operationId)),
    list: (state, limit) => run(() => store.list(state, limit)),
    finalResults: (operationId) => run(() => store.finalResults(operationId)),
    tasksSince: (since) => run(() => store.tasksSince(since)),
    createRollout: (id, spec, at) => run(() => store.createRollout(id, spec, at)),
    appendRolloutSteps: (id, seq, steps, at) => run(() => store.appendRolloutSteps(id, seq, steps, at)),
    readRollout: (id) => run(() => store.readRollout(id)),
    listRollouts: () => run(() => store.listRollouts()),
    requestRollout: (id, action, data, at) => run(() => store.requestRollout(id, action, data, at)),
    finalResultBodies: (operationId) => run(() => store.finalResultBodies(operationId)),
    get: (id) => run(() => store.get(id)),
    replay: (id, again = false) => run(() => store.replay(id, again)),
    replayDead: () => run(() => store.replayDead()),
    reviveInvalid: (id, notification) => run(() => store.reviveInvalid(id, notification)),
    discard: (event) => run(() => store.discard(event)),
    notificationsAfter: (afterId, limit) => run(() => store.notificationsAfter(afterId, limit)),
    notificationsIn: (ids) => run(() => store.notificationsIn(ids)),
    close: () => run(() => store.close()),
  };
}
