// The SQLite journal's statements, run synchronously on one connection. sqliteJournal() runs them in
// a worker thread (sqlite-worker.ts), so that a commit's fsync never blocks the event loop that answers
// the platform; sqliteJournal() also opens the file once on the calling thread, to fail fast.
//
// One receiver owns a file (sqlite-lock.ts): its leases are in-process marks, not clock times, and
// retries are timed on this thread's monotonic clock, so that a step of the wall clock neither starts
// a second delivery nor holds a retry back. Times that outlive the process
// (received_at, updated_at) stay on the wall clock.
import Database from 'better-sqlite3';
import type { Appended, ClaimedEntry, EntryState, FinalResult, JournalCounts, JournalEntry, JournaledNotification, JournalRecord, ReplayOutcome, RevivedNotification } from './journal';
import { FINAL_CONDITION, TABLE, entryOf, keyOrder, type EntryRow } from './rows';
import { checkSqliteVersion, migrateSqlite } from './sqlite-schema';
import { rolloutStatements } from './sqlite-rollouts';
import { codedError } from '../core/errors';

interface SqliteRow extends Omit<EntryRow, 'received_at'> {
  received_at: number;
  raw?: Uint8Array | null;
  lease_until?: number;
}

const SYNCHRONOUS = ['OFF', 'NORMAL', 'FULL', 'EXTRA'] as const;

export interface SqliteSettings {
  journalMode: string;
  synchronous: (typeof SYNCHRONOUS)[number];
}

export interface StoreOptions {
  path: string;
  durability: 'full' | 'normal';
  /**
   * 'owner': the receiver, which holds the file's lock (creates the table, takes over what a dead
   * owner left). 'operator': the `journal` command, which reads, and writes only single entries.
   */
  role: 'owner' | 'operator';
  /** 'operator' only: whether a receiver holds the file now (its marks of deliveries in progress are live). */
  ownerRunning?: boolean;
  /** 'owner': a mark older than this on an entry the owner is not delivering was lost (a failed commit of its end). */
  leaseMs?: number;
}

// The monotonic clock of this thread, in ms: performance.now() does not follow steps of the wall clock.
const monotonic = (): number => performance.timeOrigin + performance.now();

const ENTRY_COLUMNS = 'id, state, event, notify_type, device_id, body, ip, received_at, attempts, replay_base, reason, message, last_error, lease_until, next_at';

// Every transaction that reads and then writes takes the write lock first (BEGIN IMMEDIATE): a
// deferred one whose snapshot another connection (the owner, or the `journal` command) wrote past
// fails at once with "database is locked", without waiting out busy_timeout.
const immediate =
  (db: Database.Database) =>
  <A extends unknown[], R>(work: (...args: A) => R): ((...args: A) => R) => {
    const run = db.transaction(work);
    return (...args: A) => run.immediate(...args);
  };

/** Opens the file and prepares every statement; the methods are synchronous. */
export function openStore({ path, durability, role, ownerRunning = false, leaseMs = 60_000 }: StoreOptions) {
  const operator = role === 'operator';
  const db = new Database(path, operator ? { fileMustExist: true } : {});
  // The `journal` command waits for the receiver's commits, never the other way round for long.
  db.pragma('busy_timeout = 5000');
  if (!operator) {
    db.pragma('journal_mode = WAL');
    // Set explicitly: better-sqlite3's build lowers WAL databases to NORMAL, which a power cut can undo.
    db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
    // Checkpoints copy the WAL into the database and fsync it: fewer, larger ones cost less per push.
    db.pragma('wal_autocheckpoint = 10000');
    try {
      migrateSqlite(db, path);
    } catch (error) {
      db.close();
      throw error;
    }
  } else if (db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(TABLE) === undefined) {
    db.close();
    throw codedError('ERR_JOURNAL_MISSING', `${path} holds no journal (no ${TABLE} table)`);
  } else {
    try {
      checkSqliteVersion(db, path);
    } catch (error) {
      db.close();
      throw error;
    }
  }
  const settings: SqliteSettings = {
    journalMode: String(db.pragma('journal_mode', { simple: true })),
    synchronous: SYNCHRONOUS[Number(db.pragma('synchronous', { simple: true }))] ?? 'OFF',
  };
  if (operator) return { settings, ...operatorStatements(db, ownerRunning), close: (): void => void db.close() };

  const insertNotification = db.prepare(
    `INSERT INTO ${TABLE} (state, dedupe_key, event, notify_type, device_id, body, ip, received_at, attempts, lease_until, updated_at)
     VALUES ('pending', @key, @event, @notifyType, @deviceId, @body, @ip, @receivedAt, @attempts, @leaseUntil, @now)
     ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
  );
  const findKey = db.prepare<[string], { id: number; received_at: number }>(`SELECT id, received_at FROM ${TABLE} WHERE dedupe_key = ?`);
  const forgetKey = db.prepare<[number]>(`UPDATE ${TABLE} SET dedupe_key = NULL WHERE id = ?`);
  const insertInvalid = db.prepare(
    `INSERT INTO ${TABLE} (state, reason, message, notify_type, device_id, body, raw, ip, received_at, updated_at)
     VALUES ('invalid', @reason, @message, @notifyType, @deviceId, @body, @raw, @ip, @receivedAt, @now) RETURNING id`,
  );
  // lease_until is a mark (this owner's monotonic time of the claim): an entry marked is being
  // delivered. What this owner delivers or is finishing is excluded by id, so a mark that is older
  // than a lease on any other entry was lost (the commit of its end failed): it is taken again.
  const claimDue = db.prepare<[{ at: number; stale: number; now: number; events: string; exclude: string; limit: number }], SqliteRow>(
    `UPDATE ${TABLE} SET attempts = attempts + 1, lease_until = @at, updated_at = @now
     WHERE id IN (SELECT id FROM ${TABLE} WHERE state = 'pending' AND event IN (SELECT value FROM json_each(@events))
                  AND next_at <= @at AND (lease_until = 0 OR lease_until < @stale) AND id NOT IN (SELECT value FROM json_each(@exclude))
                  ORDER BY next_at, id LIMIT @limit)
     RETURNING *`,
  );
  const markDone = db.prepare<[number, number]>(`UPDATE ${TABLE} SET state = 'done', lease_until = 0, updated_at = ? WHERE id = ? AND state = 'pending'`);
  // Taking the file over: the previous owner is gone, so its marks are stale, and its retry times were
  // on its own monotonic clock: what waited is due now.
  const takeOver = db.prepare(`UPDATE ${TABLE} SET lease_until = 0, next_at = 0 WHERE state = 'pending' AND (lease_until <> 0 OR next_at <> 0)`);
  const markRetry = db.prepare<[string, number, number, number]>(
    `UPDATE ${TABLE} SET last_error = ?, next_at = ?, lease_until = 0, updated_at = ? WHERE id = ? AND state = 'pending'`,
  );
  const markDead = db.prepare<[string, number, number]>(`UPDATE ${TABLE} SET state = 'dead', last_error = ?, lease_until = 0, updated_at = ? WHERE id = ? AND state = 'pending'`);
  const reviveEvent = db.prepare<[number, string]>(
    `UPDATE ${TABLE} SET state = 'pending', replay_base = attempts, next_at = 0, lease_until = 0, updated_at = ? WHERE state = 'dead' AND event = ?`,
  );
  const pruneSome = db.prepare<[number, number]>(
    `DELETE FROM ${TABLE} WHERE id IN (SELECT id FROM ${TABLE} WHERE state IN ('done', 'invalid', 'discarded') AND updated_at < ? LIMIT ?)`,
  );
  const reading = operatorStatements(db, true);

  const transaction = immediate(db);
  const appendAll = transaction((records: readonly JournalRecord[], completed: readonly string[], dedupeWindowMs: number): Appended[] => {
    const now = Date.now();
    for (const id of completed) markDone.run(now, Number(id));
    const answers: Appended[] = new Array<Appended>(records.length);
    // In key order, as Postgres needs it: the same order everywhere keeps the stores alike.
    for (const index of keyOrder(records)) {
      const record = records[index] as JournalRecord;
      const receivedAt = record.receivedAt.getTime();
      if (record.kind === 'invalid') {
        // A Buffer crosses to the worker as a plain Uint8Array, which better-sqlite3 does not bind.
        const raw = record.raw === null ? null : Buffer.from(record.raw.buffer, record.raw.byteOffset, record.raw.byteLength);
        const row = insertInvalid.get({ ...record, raw, receivedAt, now }) as { id: number };
        answers[index] = { id: String(row.id), duplicate: false };
        continue;
      }
      const values = {
        key: record.key,
        event: record.event,
        notifyType: record.notifyType,
        deviceId: record.deviceId,
        body: record.body,
        ip: record.ip,
        receivedAt,
        attempts: record.leased ? 1 : 0,
        leaseUntil: record.leased ? monotonic() : 0,
        now,
      };
      let inserted = insertNotification.get(values) as { id: number } | undefined;
      if (inserted === undefined) {
        const existing = findKey.get(record.key as string) as { id: number; received_at: number };
        // Duplicates are what the platform re-sends within its window: the same state reported again
        // later is a new report.
        if (receivedAt - existing.received_at < dedupeWindowMs) {
          answers[index] = { id: String(existing.id), duplicate: true };
          continue;
        }
        forgetKey.run(existing.id);
        inserted = insertNotification.get(values) as { id: number };
      }
      answers[index] = { id: String(inserted.id), duplicate: false };
    }
    return answers;
  });
  const claimAll = transaction((events: readonly string[], limit: number, exclude: readonly string[]): SqliteRow[] =>
    claimDue.all({ at: monotonic(), stale: monotonic() - leaseMs, now: Date.now(), events: JSON.stringify(events), exclude: JSON.stringify(exclude.map(Number)), limit }),
  );
  const completeAll = transaction((ids: readonly string[]) => {
    const now = Date.now();
    for (const id of ids) markDone.run(now, Number(id));
  });

  return {
    settings,
    /** Runs `work` in one transaction: the worker commits every request that arrived together at once. */
    inTransaction: <T>(work: () => T): T => transaction(work)(),
    /** The previous owner of the file is gone (this one holds its lock): its deliveries are due again. */
    takeOver: (): void => void takeOver.run(),
    append: (records: readonly JournalRecord[], completed: readonly string[], dedupeWindowMs: number): Appended[] => appendAll(records, completed, dedupeWindowMs),
    claim: (events: readonly string[], limit: number, exclude: readonly string[]): ClaimedEntry[] =>
      claimAll(events, limit, exclude).map((row) => ({
        id: String(row.id),
        event: row.event as string,
        body: row.body as string,
        ip: row.ip,
        receivedAt: new Date(row.received_at),
        attempt: row.attempts,
        budgetAttempt: row.attempts - Number(row.replay_base),
      })),
    // One owner per file: its marks last until the delivery ends, nothing to renew.
    renew: (): void => {},
    complete: (ids: readonly string[]): void => completeAll(ids),
    retry: (id: string, error: string, delayMs: number): void => void markRetry.run(error, monotonic() + delayMs, Date.now(), Number(id)),
    bury: (id: string, error: string): void => void markDead.run(error, Date.now(), Number(id)),
    reviveDead: (event: string): number => reviveEvent.run(Date.now(), event).changes,
    prune: (days: number, limit: number): number => pruneSome.run(Date.now() - days * 86_400_000, limit).changes,
    ...reading,
    close: (): void => void db.close(),
  };
}

/** What the `journal` command and the owner share: reads, and changes to single entries. */
function operatorStatements(db: Database.Database, ownerRunning: boolean) {
  const transaction = immediate(db);
  const countPending = db.prepare<[], { n: number; retrying: number | null; oldest: number | null }>(
    `SELECT count(*) AS n, sum(attempts > 0 AND lease_until = 0) AS retrying, min(received_at) AS oldest FROM ${TABLE} WHERE state = 'pending'`,
  );
  const countKept = db.prepare<[], { state: 'dead' | 'invalid'; n: number }>(`SELECT state, count(*) AS n FROM ${TABLE} WHERE state IN ('dead', 'invalid') GROUP BY state`);
  const countByEvent = db.prepare<[], { event: string; n: number }>(`SELECT event, count(*) AS n FROM ${TABLE} WHERE state = 'pending' GROUP BY event`);
  const countTask = db.prepare<[string], { state: EntryState; n: number }>(
    `SELECT state, count(*) AS n FROM ${TABLE} WHERE json_valid(body) AND json_extract(body, '$.operationId') = ? GROUP BY state`,
  );
  const finalsOf = db.prepare<[string], { subOperationId: string; deviceId: string | null; event: string }>(
    `SELECT json_extract(body, '$.subOperationId') AS subOperationId, device_id AS deviceId, event FROM ${TABLE}
     WHERE ${FINAL_CONDITION} AND json_extract(body, '$.operationId') = ?`,
  );
  const tasksAfter = db.prepare<[number], { operationId: string }>(
    `SELECT DISTINCT json_extract(body, '$.operationId') AS operationId FROM ${TABLE} WHERE event IS NOT NULL AND state <> 'invalid' AND received_at >= ? AND json_valid(body)`,
  );
  const listState = db.prepare<[string, number], SqliteRow>(`SELECT ${ENTRY_COLUMNS} FROM ${TABLE} WHERE state = ? ORDER BY id LIMIT ?`);
  const getOne = db.prepare<[number], SqliteRow>(`SELECT ${ENTRY_COLUMNS}, raw FROM ${TABLE} WHERE id = ?`);
  const replayOne = db.prepare<[number, number]>(
    `UPDATE ${TABLE} SET state = 'pending', replay_base = attempts, next_at = 0, lease_until = 0, last_error = NULL, updated_at = ? WHERE id = ?`,
  );
  const replayAll = db.prepare<[number]>(
    `UPDATE ${TABLE} SET state = 'pending', replay_base = attempts, next_at = 0, lease_until = 0, updated_at = ? WHERE state = 'dead'`,
  );
  const reviveInvalid = db.prepare(
    `UPDATE ${TABLE} SET state = 'pending', dedupe_key = @key, event = @event, notify_type = @notifyType, device_id = @deviceId, body = @body,
            attempts = 0, replay_base = 0, next_at = 0, lease_until = 0, updated_at = @now WHERE id = @id AND state = 'invalid'`,
  );
  const keyHolder = db.prepare<[string], { id: number }>(`SELECT id FROM ${TABLE} WHERE dedupe_key = ?`);
  const discardEvent = db.prepare<[number, string]>(`UPDATE ${TABLE} SET state = 'discarded', lease_until = 0, updated_at = ? WHERE state = 'pending' AND lease_until = 0 AND event = ?`);
  const readAfter = db.prepare<[number, number], { id: number; body: string; received_at: number }>(
    `SELECT id, body, received_at FROM ${TABLE} WHERE id > ? AND state NOT IN ('invalid') AND body IS NOT NULL AND event IS NOT NULL ORDER BY id LIMIT ?`,
  );
  const readIn = db.prepare<[string], { id: number; body: string; received_at: number }>(
    `SELECT id, body, received_at FROM ${TABLE} WHERE id IN (SELECT value FROM json_each(?)) AND state NOT IN ('invalid') AND body IS NOT NULL AND event IS NOT NULL ORDER BY id`,
  );
  const entry = (row: SqliteRow): JournalEntry => {
    const result = entryOf({ ...row, received_at: new Date(row.received_at) });
    // A mark is live only while a receiver holds the file: one left by a killed owner is stale.
    result.delivering = row.state === 'pending' && Number(row.lease_until) !== 0 && ownerRunning;
    if (row.raw !== undefined) result.raw = row.raw === null ? null : Buffer.from(row.raw);
    return result;
  };
  const replay = transaction((id: string, again: boolean): ReplayOutcome => {
    const row = /^\d+$/.test(id) ? getOne.get(Number(id)) : undefined;
    if (row === undefined) return 'missing';
    const current = entry(row);
    if (current.delivering) return 'delivering';
    const allowed: readonly string[] = again ? ['dead', 'pending', 'done', 'discarded'] : ['dead', 'pending'];
    if (!allowed.includes(row.state)) return row.state === 'invalid' ? 'invalid' : 'not-replayable';
    replayOne.run(Date.now(), Number(id));
    return 'replayed';
  });
  const revive = transaction((id: string, notification: RevivedNotification): ReplayOutcome | { duplicateOf: string } => {
    if (notification.key !== null) {
      const holder = keyHolder.get(notification.key);
      if (holder !== undefined) return { duplicateOf: String(holder.id) };
    }
    return reviveInvalid.run({ ...notification, id: Number(id), now: Date.now() }).changes > 0 ? 'replayed' : 'missing';
  });

  return {
    ...rolloutStatements(db),
    counts: (): JournalCounts => {
      const pending = countPending.get() as { n: number; retrying: number | null; oldest: number | null };
      const counts: JournalCounts = {
        pending: pending.n,
        retrying: pending.retrying ?? 0,
        dead: 0,
        invalid: 0,
        oldestPendingSeconds: pending.oldest === null ? 0 : Math.max(0, (Date.now() - pending.oldest) / 1000),
        pendingByEvent: {},
      };
      for (const { state, n } of countKept.all()) counts[state] = n;
      for (const { event, n } of countByEvent.all()) counts.pendingByEvent[event] = n;
      return counts;
    },
    taskCounts: (operationId: string): Partial<Record<EntryState, number>> => Object.fromEntries(countTask.all(operationId).map(({ state, n }) => [state, n])),
    list: (state: string, limit: number): JournalEntry[] => listState.all(state, limit).map(entry),
    finalResults: (operationId: string): FinalResult[] => finalsOf.all(operationId),
    tasksSince: (since: Date): string[] => tasksAfter.all(since.getTime()).flatMap((row) => (typeof row.operationId === 'string' ? [row.operationId] : [])),
    get: (id: string): JournalEntry | undefined => {
      const row = /^\d+$/.test(id) ? getOne.get(Number(id)) : undefined;
      return row === undefined ? undefined : entry(row);
    },
    replay: (id: string, again: boolean): ReplayOutcome => replay(id, again),
    replayDead: (): number => replayAll.run(Date.now()).changes,
    reviveInvalid: (id: string, notification: RevivedNotification) => revive(id, notification),
    discard: (event: string): number => discardEvent.run(Date.now(), event).changes,
    notificationsAfter: (afterId: string, limit: number): JournaledNotification[] =>
      readAfter.all(Number(afterId), limit).map((row) => ({ id: String(row.id), body: row.body, receivedAt: new Date(row.received_at) })),
    notificationsIn: (ids: readonly string[]): JournaledNotification[] =>
      readIn.all(JSON.stringify(ids.map(Number))).map((row) => ({ id: String(row.id), body: row.body, receivedAt: new Date(row.received_at) })),
  };
}

export type Store = ReturnType<typeof openStore>;
export type OwnerStore = Extract<Store, { append: unknown }>;
export type StoreMethod = Exclude<keyof OwnerStore, 'settings' | 'inTransaction'>;
