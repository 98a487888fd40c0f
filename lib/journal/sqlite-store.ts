// The SQLite journal's statements, run synchronously on one connection. sqliteJournal() runs them in
// a worker thread (sqlite-worker.ts), so that a commit's fsync never blocks the event loop that answers
// the platform; sqliteJournal() also opens the file once on the calling thread, to fail fast.
import Database from 'better-sqlite3';
import type { Appended, ClaimedEntry, JournalCounts, JournalEntry, JournaledNotification, JournalRecord } from './journal';
import { TABLE, entryOf, keyOrder, type EntryRow } from './rows';

const SCHEMA = `
-- Indexes cost every push a write: done entries (the bulk) are in none but the key's. Pending ones are
-- found through _due, dead and invalid ones through _kept; pruning done ones scans, once an hour.
CREATE TABLE IF NOT EXISTS ${TABLE} (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  state TEXT NOT NULL,
  dedupe_key TEXT UNIQUE,
  event TEXT,
  notify_type TEXT,
  device_id TEXT,
  body TEXT,
  raw BLOB,
  reason TEXT,
  message TEXT,
  ip TEXT,
  received_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER NOT NULL DEFAULT 0,
  lease_until INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ${TABLE}_due ON ${TABLE} (next_at) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS ${TABLE}_kept ON ${TABLE} (state) WHERE state IN ('dead', 'invalid');
`;

interface SqliteRow extends Omit<EntryRow, 'received_at'> {
  received_at: number;
}

const SYNCHRONOUS = ['OFF', 'NORMAL', 'FULL', 'EXTRA'] as const;

export interface SqliteSettings {
  journalMode: string;
  synchronous: (typeof SYNCHRONOUS)[number];
}

export interface StoreOptions {
  path: string;
  durability: 'full' | 'normal';
  leaseMs: number;
}

/** Opens the file, creates the table, and prepares every statement; the methods are synchronous. */
export function openStore({ path, durability, leaseMs }: StoreOptions) {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // Set explicitly: better-sqlite3's build lowers WAL databases to NORMAL, which a power cut can undo.
  db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
  // The `journal` command may read while the receiver writes.
  db.pragma('busy_timeout = 5000');
  // Checkpoints copy the WAL into the database and fsync it: fewer, larger ones cost less per push.
  db.pragma('wal_autocheckpoint = 10000');
  db.exec(SCHEMA);
  const settings: SqliteSettings = {
    journalMode: String(db.pragma('journal_mode', { simple: true })),
    synchronous: SYNCHRONOUS[Number(db.pragma('synchronous', { simple: true }))] ?? 'OFF',
  };

  const insertNotification = db.prepare(
    `INSERT INTO ${TABLE} (state, dedupe_key, event, notify_type, device_id, body, ip, received_at, attempts, lease_until, updated_at)
     VALUES ('pending', @key, @event, @notifyType, @deviceId, @body, @ip, @receivedAt, @attempts, @leaseUntil, @now)
     ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
  );
  const findKey = db.prepare<[string], { id: number }>(`SELECT id FROM ${TABLE} WHERE dedupe_key = ?`);
  const insertInvalid = db.prepare(
    `INSERT INTO ${TABLE} (state, reason, message, notify_type, device_id, body, raw, ip, received_at, updated_at)
     VALUES ('invalid', @reason, @message, @notifyType, @deviceId, @body, @raw, @ip, @receivedAt, @now) RETURNING id`,
  );
  const claimDue = db.prepare<[{ until: number; now: number; events: string; limit: number }], SqliteRow>(
    `UPDATE ${TABLE} SET attempts = attempts + 1, lease_until = @until, updated_at = @now
     WHERE id IN (SELECT id FROM ${TABLE} WHERE state = 'pending' AND event IN (SELECT value FROM json_each(@events))
                  AND next_at <= @now AND lease_until <= @now ORDER BY next_at, id LIMIT @limit)
     RETURNING *`,
  );
  const renewLease = db.prepare<[number, number]>(`UPDATE ${TABLE} SET lease_until = ? WHERE id = ? AND state = 'pending'`);
  const markDone = db.prepare<[number, number]>(`UPDATE ${TABLE} SET state = 'done', lease_until = 0, updated_at = ? WHERE id = ?`);
  const releaseAll = db.prepare(`UPDATE ${TABLE} SET lease_until = 0 WHERE state = 'pending' AND lease_until > 0`);
  const markRetry = db.prepare<[string, number, number, number]>(
    `UPDATE ${TABLE} SET last_error = ?, next_at = ?, lease_until = 0, updated_at = ? WHERE id = ? AND state = 'pending'`,
  );
  const markDead = db.prepare<[string, number, number]>(`UPDATE ${TABLE} SET state = 'dead', last_error = ?, lease_until = 0, updated_at = ? WHERE id = ?`);
  const countPending = db.prepare<[], { n: number; retrying: number | null; oldest: number | null }>(
    `SELECT count(*) AS n, sum(attempts > 0 AND lease_until = 0) AS retrying, min(received_at) AS oldest FROM ${TABLE} WHERE state = 'pending'`,
  );
  const countKept = db.prepare<[], { state: 'dead' | 'invalid'; n: number }>(`SELECT state, count(*) AS n FROM ${TABLE} WHERE state IN ('dead', 'invalid') GROUP BY state`);
  const listState = db.prepare<[string, number], SqliteRow>(`SELECT * FROM ${TABLE} WHERE state = ? ORDER BY id LIMIT ?`);
  const replayOne = db.prepare<[number, number]>(
    `UPDATE ${TABLE} SET state = 'pending', attempts = 0, next_at = 0, lease_until = 0, updated_at = ? WHERE id = ? AND state IN ('dead', 'pending')`,
  );
  const replayAll = db.prepare<[number]>(`UPDATE ${TABLE} SET state = 'pending', attempts = 0, next_at = 0, lease_until = 0, updated_at = ? WHERE state = 'dead'`);
  const readAfter = db.prepare<[number, number], { id: number; body: string; received_at: number }>(
    `SELECT id, body, received_at FROM ${TABLE} WHERE id > ? AND state <> 'invalid' ORDER BY id LIMIT ?`,
  );
  const pruneOld = db.prepare<[number]>(`DELETE FROM ${TABLE} WHERE state IN ('done', 'invalid') AND updated_at < ?`);

  const appendAll = db.transaction((records: readonly JournalRecord[], completed: readonly string[]): Appended[] => {
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
      const inserted = insertNotification.get({
        key: record.key,
        event: record.event,
        notifyType: record.notifyType,
        deviceId: record.deviceId,
        body: record.body,
        ip: record.ip,
        receivedAt,
        attempts: record.leased ? 1 : 0,
        leaseUntil: record.leased ? now + leaseMs : 0,
        now,
      }) as { id: number } | undefined;
      if (inserted !== undefined) answers[index] = { id: String(inserted.id), duplicate: false };
      else answers[index] = { id: String((findKey.get(record.key as string) as { id: number }).id), duplicate: true };
    }
    return answers;
  });
  const claimAll = db.transaction((events: readonly string[], limit: number): SqliteRow[] => {
    const now = Date.now();
    return claimDue.all({ until: now + leaseMs, now, events: JSON.stringify(events), limit });
  });
  const renewAll = db.transaction((ids: readonly string[]) => {
    const until = Date.now() + leaseMs;
    for (const id of ids) renewLease.run(until, Number(id));
  });
  const completeAll = db.transaction((ids: readonly string[]) => {
    const now = Date.now();
    for (const id of ids) markDone.run(now, Number(id));
  });

  return {
    settings,
    /** Runs `work` in one transaction: the worker commits every request that arrived together at once. */
    inTransaction: <T>(work: () => T): T => db.transaction(work)(),
    /** The process that held these leases is gone (one process per file): its deliveries are due again. */
    releaseLeases: (): void => void releaseAll.run(),
    append: (records: readonly JournalRecord[], completed: readonly string[]): Appended[] => appendAll(records, completed),
    claim: (events: readonly string[], limit: number): ClaimedEntry[] =>
      claimAll(events, limit).map((row) => ({
        id: String(row.id),
        event: row.event as string,
        body: row.body as string,
        ip: row.ip,
        receivedAt: new Date(row.received_at),
        attempt: row.attempts,
      })),
    renew: (ids: readonly string[]): void => renewAll(ids),
    complete: (ids: readonly string[]): void => completeAll(ids),
    retry: (id: string, error: string, delayMs: number): void => void markRetry.run(error, Date.now() + delayMs, Date.now(), Number(id)),
    bury: (id: string, error: string): void => void markDead.run(error, Date.now(), Number(id)),
    counts: (): JournalCounts => {
      const pending = countPending.get() as { n: number; retrying: number | null; oldest: number | null };
      const counts: JournalCounts = {
        pending: pending.n,
        retrying: pending.retrying ?? 0,
        dead: 0,
        invalid: 0,
        oldestPendingSeconds: pending.oldest === null ? 0 : Math.max(0, (Date.now() - pending.oldest) / 1000),
      };
      for (const { state, n } of countKept.all()) counts[state] = n;
      return counts;
    },
    list: (state: string, limit: number): JournalEntry[] => listState.all(state, limit).map((row) => entryOf({ ...row, received_at: new Date(row.received_at) })),
    replay: (id: string): boolean => /^\d+$/.test(id) && replayOne.run(Date.now(), Number(id)).changes > 0,
    replayDead: (): number => replayAll.run(Date.now()).changes,
    notificationsAfter: (afterId: string, limit: number): JournaledNotification[] =>
      readAfter.all(Number(afterId), limit).map((row) => ({ id: String(row.id), body: row.body, receivedAt: new Date(row.received_at) })),
    prune: (days: number): number => pruneOld.run(Date.now() - days * 86_400_000).changes,
    close: (): void => void db.close(),
  };
}

export type Store = ReturnType<typeof openStore>;
export type StoreMethod = Exclude<keyof Store, 'settings' | 'inTransaction'>;
