// The embedded journal: one SQLite file, nothing to run. better-sqlite3 is an optional peer
// dependency, loaded only by this subpath. It is synchronous: each method runs its statements in one
// transaction and returns a settled promise, and the router groups pushes so that a commit (one
// fsync with durability 'full') serves every push that arrived in the same turn of the event loop.
import Database from 'better-sqlite3';
import { checkOptions, checks, type OptionTable } from '../option-checks';
import { DEFAULT_LEASE_MS, DEFAULT_RETAIN_DAYS, type Appended, type ClaimedEntry, type Journal, type JournalCounts, type JournalEntry, type JournalRecord } from './journal';
import { TABLE, entryOf, keyOrder, positiveWhole, requireOption, type EntryRow } from './rows';

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

const SCHEMA = `
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
CREATE INDEX IF NOT EXISTS ${TABLE}_state ON ${TABLE} (state, updated_at);
`;

interface SqliteRow extends Omit<EntryRow, 'received_at'> {
  received_at: number;
}

/** The SQLite journal: a Journal, with the settings SQLite reports for its connection. */
export interface SqliteJournal extends Journal {
  /** Read back from SQLite after they were set: what durability the commits really get. */
  readonly settings: { journalMode: string; synchronous: 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA' };
}

const SYNCHRONOUS = ['OFF', 'NORMAL', 'FULL', 'EXTRA'] as const;

/** An embedded durable journal in one SQLite file. One process per file: at open it takes over every lease. */
export function sqliteJournal(options: SqliteJournalOptions): SqliteJournal {
  checkOptions(options, optionTable);
  requireOption(options.path, 'path', "sqliteJournal({ path: './data/upgrades.db' })");
  const { path, durability = 'full', retainDays = DEFAULT_RETAIN_DAYS, leaseMs = DEFAULT_LEASE_MS } = options;
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // Set explicitly: better-sqlite3's build lowers WAL databases to NORMAL, which a power cut can undo.
  db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
  // The `journal` command may read while the receiver writes.
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  const settings = {
    journalMode: String(db.pragma('journal_mode', { simple: true })),
    synchronous: SYNCHRONOUS[Number(db.pragma('synchronous', { simple: true }))] ?? 'OFF',
  };
  // The process that held these leases is gone (one process per file): its deliveries are due again.
  db.prepare(`UPDATE ${TABLE} SET lease_until = 0 WHERE state = 'pending' AND lease_until > 0`).run();

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
  const markRetry = db.prepare<[string, number, number, number]>(
    `UPDATE ${TABLE} SET last_error = ?, next_at = ?, lease_until = 0, updated_at = ? WHERE id = ? AND state = 'pending'`,
  );
  const markDead = db.prepare<[string, number, number]>(`UPDATE ${TABLE} SET state = 'dead', last_error = ?, lease_until = 0, updated_at = ? WHERE id = ?`);
  const countStates = db.prepare<[], { state: string; n: number; retrying: number; oldest: number | null }>(
    `SELECT state, count(*) AS n, sum(attempts > 0 AND lease_until = 0) AS retrying, min(received_at) AS oldest FROM ${TABLE} WHERE state <> 'done' GROUP BY state`,
  );
  const listState = db.prepare<[string, number], SqliteRow>(`SELECT * FROM ${TABLE} WHERE state = ? ORDER BY id LIMIT ?`);
  const replayOne = db.prepare<[number, number]>(
    `UPDATE ${TABLE} SET state = 'pending', attempts = 0, next_at = 0, lease_until = 0, updated_at = ? WHERE id = ? AND state IN ('dead', 'pending')`,
  );
  const replayAll = db.prepare<[number]>(`UPDATE ${TABLE} SET state = 'pending', attempts = 0, next_at = 0, lease_until = 0, updated_at = ? WHERE state = 'dead'`);
  const pruneOld = db.prepare<[number]>(`DELETE FROM ${TABLE} WHERE state IN ('done', 'invalid') AND updated_at < ?`);

  const appendAll = db.transaction((records: readonly JournalRecord[]): Appended[] => {
    const now = Date.now();
    const answers: Appended[] = new Array<Appended>(records.length);
    // In key order, as Postgres needs it: the same order everywhere keeps the stores alike.
    for (const index of keyOrder(records)) {
      const record = records[index] as JournalRecord;
      const receivedAt = record.receivedAt.getTime();
      if (record.kind === 'invalid') {
        const row = insertInvalid.get({ ...record, receivedAt, now }) as { id: number };
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

  return {
    kind: 'sqlite',
    settings,
    leaseMs,
    retainDays,
    append: (records) => promised(() => appendAll(records)),
    claim: (events, limit) =>
      promised((): ClaimedEntry[] =>
        events.length === 0 || limit <= 0
          ? []
          : claimAll(events, limit).map((row) => ({
              id: String(row.id),
              event: row.event as string,
              body: row.body as string,
              ip: row.ip,
              receivedAt: new Date(row.received_at),
              attempt: row.attempts,
            })),
      ),
    renew: (ids) => promised(() => renewAll(ids)),
    complete: (id) => promised(() => void markDone.run(Date.now(), Number(id))),
    retry: (id, error, delayMs) => promised(() => void markRetry.run(error, Date.now() + delayMs, Date.now(), Number(id))),
    bury: (id, error) => promised(() => void markDead.run(error, Date.now(), Number(id))),
    counts: () =>
      promised(() => {
        const counts: JournalCounts = { pending: 0, retrying: 0, dead: 0, invalid: 0, oldestPendingSeconds: 0 };
        for (const { state, n, retrying, oldest } of countStates.all()) {
          if (state === 'pending') Object.assign(counts, { pending: n, retrying, oldestPendingSeconds: oldest === null ? 0 : Math.max(0, (Date.now() - oldest) / 1000) });
          else if (state === 'dead' || state === 'invalid') counts[state] = n;
        }
        return counts;
      }),
    list: (state, limit) => promised((): JournalEntry[] => listState.all(state, limit).map((row) => entryOf({ ...row, received_at: new Date(row.received_at) }))),
    replay: (id) => promised(() => /^\d+$/.test(id) && replayOne.run(Date.now(), Number(id)).changes > 0),
    replayDead: () => promised(() => replayAll.run(Date.now()).changes),
    prune: (days) => promised(() => pruneOld.run(Date.now() - days * 86_400_000).changes),
    close: () => promised(() => void db.close()),
  };
}

/** better-sqlite3 works synchronously: its answer, or what it threw, as a settled promise. */
function promised<T>(work: () => T): Promise<T> {
  return new Promise((resolve) => resolve(work()));
}
