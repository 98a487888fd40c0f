// The shared journal: one Postgres table used by every instance behind a load balancer. pg is an
// optional peer dependency, loaded only by this subpath. Deliveries are claimed with
// SELECT ... FOR UPDATE SKIP LOCKED under a lease (the pattern of pg-boss and graphile-worker): an
// instance that dies leaves leases that run out, and another instance takes those entries then.
import { createHash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Pool, type PoolClient, type QueryConfig } from 'pg';
import { checkOptions, checks, type OptionTable } from '../core/option-checks';
import { DEFAULT_LEASE_MS, DEFAULT_RETAIN_DAYS, type Appended, type ClaimedEntry, type EntryState, type FinalResult, type InvalidRecord, type Journal, type JournalCounts, type JournalEntry, type JournalRecord, type NotificationRecord, type ReplayOutcome } from './journal';
import { FINAL_CONDITION, TABLE, entryOf, keyOrder, leaseCheck, positiveWhole, type EntryRow } from './rows';
import { Leadership } from './leadership';
import { migrate } from './postgres-schema';
import { codedError } from '../core/errors';

export interface PostgresJournalOptions {
  /** postgres://user:password@host:port/database; default: pg's environment variables (PGHOST, ...). */
  connectionString?: string;
  /** A pg Pool of your own (then `connectionString` does not apply, and close() leaves the pool open). */
  pool?: Pool;
  /** How long a delivery claimed by an instance may run before another instance takes it; renewed while it runs. Default 60 000 ms. */
  leaseMs?: number;
  /** Days that done and invalid entries are kept. Default 30. */
  retainDays?: number;
  /**
   * Where this instance keeps the pushes it answered while Postgres could not commit them (down, or
   * slower than 5 s), moved into the journal once it can: a folder on the instance's own disk, kept
   * across restarts. Default: `huawei-iot-upgrade-router.spill` in the working directory; false: none.
   */
  spill?: string | false;
}

const optionTable: OptionTable = {
  connectionString: { check: checks.nonEmptyString, example: 'postgresJournal({ connectionString: process.env.DATABASE_URL })' },
  pool: { check: checks.withMethod('connect'), example: 'postgresJournal({ pool: new Pool({ ... }) })' },
  leaseMs: { check: leaseCheck, example: 'postgresJournal({ connectionString, leaseMs: 60_000 }) (milliseconds)' },
  spill: { check: (value) => (value === false ? undefined : checks.nonEmptyString(value)), example: "postgresJournal({ connectionString, spill: '/var/lib/receiver/spill' }) or spill: false" },
  retainDays: { check: positiveWhole, example: 'postgresJournal({ connectionString, retainDays: 30 })' },
};

// A database that does not answer must not hold the platform's 200 past its 15 s: connecting and
// each statement give up after this, and the router falls back (README, "When the journal fails").
const TIMEOUT_MS = 5000;

// The reconciler's question, "which devices of this task have a final result": one index entry per
// device and task (state pushes are not in it). Built CONCURRENTLY, outside the schema's transaction:
// on a journal of millions of rows a plain build would hold every instance's commits (and outlast
// the 5 s statement limit). Meanwhile the reconciler works without it, more slowly.
const RESULTS_INDEX = `${TABLE}_results`;
const RESULTS_INDEX_SQL = `CREATE INDEX CONCURRENTLY IF NOT EXISTS ${RESULTS_INDEX} ON ${TABLE} ((body::jsonb ->> 'operationId')) WHERE ${FINAL_CONDITION}`;
const INDEX_TIMEOUT_MS = 60 * 60_000;
// pg reads a query's own query_timeout before the pool's 5 s (lib/client.js); @types/pg leaves it out.
const long = (text: string): QueryConfig => ({ text, query_timeout: INDEX_TIMEOUT_MS }) as QueryConfig;

const ENTRY_COLUMNS = 'id, state, event, notify_type, device_id, body, ip, received_at, attempts, replay_base, reason, message, last_error, lease_until';

interface PgEntryRow extends EntryRow {
  lease_until: Date | null;
  raw?: Buffer | null;
}

function pgEntry(row: PgEntryRow): JournalEntry {
  const entry = entryOf(row);
  entry.delivering = row.state === 'pending' && row.lease_until !== null && row.lease_until.getTime() > Date.now();
  if (row.raw !== undefined) entry.raw = row.raw;
  return entry;
}

const LEASE = `now() + $1::int * interval '1 millisecond'`;

/** A durable journal in Postgres, shared by every instance that points at the same database. */
export function postgresJournal(options: PostgresJournalOptions = {}): Journal {
  checkOptions(options, optionTable);
  const { leaseMs = DEFAULT_LEASE_MS, retainDays = DEFAULT_RETAIN_DAYS } = options;
  const ownPool = options.pool === undefined;
  const pool =
    options.pool ??
    new Pool({ connectionString: options.connectionString, connectionTimeoutMillis: TIMEOUT_MS, query_timeout: TIMEOUT_MS, max: 10 });
  // An idle client whose server went away emits 'error' on the pool, which would crash the host
  // with no listener. The next query fails too, and the router reports that one.
  if (ownPool) pool.on('error', () => {});
  const owner = randomUUID();

  // Migrated once, under a lock: two instances starting together must not race on CREATE TABLE.
  let ready: Promise<void> | undefined;
  let indexing: Promise<void> | undefined;
  const leadership = new Leadership(pool, `hashtext('${TABLE}:reconcile')`);
  const prepared = (): Promise<void> => {
    ready ??= transaction(async (client) => {
      await migrate(client);
    }).then(
      () => {
        // In the background; a failure leaves the reconciler without the index (it works, more slowly).
        indexing ??= indexResults().catch(() => {});
      },
      (error: unknown) => {
        ready = undefined;
        throw error;
      },
    );
    return ready;
  };

  // One instance builds it (a session lock); an earlier build cut off left an invalid index, which
  // IF NOT EXISTS would keep for ever: it is dropped first.
  async function indexResults(): Promise<void> {
    await held(async (client) => {
      await client.query(long(`SELECT pg_advisory_lock(hashtext('${RESULTS_INDEX}'))`));
      try {
        const [found] = (await client.query<{ valid: boolean }>(`SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1`, [RESULTS_INDEX])).rows;
        if (found?.valid === true) return;
        if (found !== undefined) await client.query(long(`DROP INDEX CONCURRENTLY IF EXISTS ${RESULTS_INDEX}`));
        await client.query(long(RESULTS_INDEX_SQL));
      } finally {
        await client.query(`SELECT pg_advisory_unlock(hashtext('${RESULTS_INDEX}'))`).catch(() => {});
      }
    });
  }

  // A connection kept for a while (a session lock): if the server goes away meanwhile, the client
  // emits 'error', which with no listener would crash the host; the work's next query fails instead.
  // A client that failed is destroyed, not returned to the pool.
  async function held<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    let broken: Error | undefined;
    const onError = (error: Error): void => {
      broken = error;
    };
    client.on('error', onError);
    try {
      return await work(client);
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  async function transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  async function query<R extends object>(text: string, values: unknown[] = []): Promise<R[]> {
    await prepared();
    return (await pool.query<R>(text, values)).rows;
  }

  type Run = <R extends object>(text: string, values: unknown[]) => Promise<R[]>;
  const poolRun: Run = async <R extends object>(text: string, values: unknown[]) => (await pool.query<R>(text, values)).rows;
  const clientRun =
    (client: PoolClient): Run =>
    async <R extends object>(text: string, values: unknown[]) =>
      (await client.query<R>(text, values)).rows;

  // One statement: the deliveries done are marked, the new keys inserted (in key order), and the ids of
  // keys already there read, all in one round trip. A key another instance commits meanwhile is not
  // in this statement's snapshot: it is read by a second one.
  async function appendNotifications(
    run: Run,
    records: ReadonlyArray<{ index: number; record: NotificationRecord }>,
    completed: readonly string[],
    answers: Appended[],
    dedupeWindowMs: number,
  ): Promise<void> {
    // One row per key: a re-send inside the same group is a duplicate of the first.
    const first = new Map<string, { index: number; record: NotificationRecord }>();
    for (const item of records) if (!first.has(item.record.key as string)) first.set(item.record.key as string, item);
    const rows = [...first.values()];
    const column = <T>(read: (record: NotificationRecord) => T): T[] => rows.map(({ record }) => read(record));
    const found = await run<{ id: string; dedupe_key: string; fresh: boolean; received_at: Date }>(
      `WITH done AS (UPDATE ${TABLE} SET state = 'done', lease_until = NULL, updated_at = now() WHERE id = ANY($11::bigint[]) AND state = 'pending'),
       inserted AS (
         INSERT INTO ${TABLE} (state, dedupe_key, event, notify_type, device_id, body, ip, received_at, attempts, lease_until, lease_owner)
         SELECT 'pending', key, event, notify_type, device_id, body, ip, received_at,
                CASE WHEN leased THEN 1 ELSE 0 END, CASE WHEN leased THEN ${LEASE} END, CASE WHEN leased THEN $2 END
         FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[], $10::bool[])
              AS t(key, event, notify_type, device_id, body, ip, received_at, leased)
         ORDER BY key
         ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, dedupe_key, received_at)
       SELECT id, dedupe_key, true AS fresh, received_at FROM inserted
       UNION ALL SELECT id, dedupe_key, false, received_at FROM ${TABLE} WHERE dedupe_key = ANY($3::text[])`,
      [
        leaseMs,
        owner,
        column((r) => r.key),
        column((r) => r.event),
        column((r) => r.notifyType),
        column((r) => r.deviceId),
        column((r) => r.body),
        column((r) => r.ip),
        column((r) => r.receivedAt),
        column((r) => r.leased),
        completed,
      ],
    );
    const ids = new Map(found.map((row) => [row.dedupe_key, row]));
    const fresh = new Set(found.filter((row) => row.fresh).map((row) => row.dedupe_key));
    const missing = rows.map(({ record }) => record.key as string).filter((key) => !ids.has(key));
    if (missing.length > 0) {
      for (const row of await run<{ id: string; dedupe_key: string; received_at: Date }>(`SELECT id, dedupe_key, received_at FROM ${TABLE} WHERE dedupe_key = ANY($1::text[])`, [missing])) {
        ids.set(row.dedupe_key, { ...row, fresh: false });
      }
    }
    // A key held by an entry received longer ago than the platform's re-send window is a new report:
    // the old entry gives the key up, and the record is inserted again.
    const expired = rows.filter(({ record }) => {
      const holder = ids.get(record.key as string);
      return holder !== undefined && !fresh.has(record.key as string) && record.receivedAt.getTime() - holder.received_at.getTime() >= dedupeWindowMs;
    });
    if (expired.length > 0) {
      const again = records.filter(({ record }) => expired.some((item) => item.record.key === record.key));
      const holders = expired.map(({ record }) => (ids.get(record.key as string) as { id: string }).id);
      // Rare (a genuine repeat), so a transaction of its own; an instance racing on the same key waits
      // on the holder's row lock, then finds the key taken by this insert: a duplicate, as it should.
      await transaction(async (client) => {
        await client.query(`UPDATE ${TABLE} SET dedupe_key = NULL WHERE id = ANY($1::bigint[])`, [holders]);
        await appendNotifications(clientRun(client), again, [], answers, dedupeWindowMs);
      });
    }
    for (const { index, record } of records) {
      const key = record.key as string;
      // Answered by the second insert, above.
      if (expired.some((item) => item.record.key === key)) continue;
      const id = ids.get(key)?.id;
      if (id === undefined) throw codedError('ERR_JOURNAL_INCONSISTENT', `journal: no entry for a duplicate key after the insert (${key})`);
      answers[index] = { id, duplicate: !(fresh.has(key) && first.get(key)?.index === index) };
    }
  }

  async function appendOne(client: PoolClient, record: NotificationRecord | InvalidRecord): Promise<Appended> {
    const { rows } =
      record.kind === 'invalid'
        ? await client.query<{ id: string }>(
            `INSERT INTO ${TABLE} (state, reason, message, notify_type, device_id, body, raw, ip, received_at) VALUES ('invalid', $1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
            [record.reason, record.message, record.notifyType, record.deviceId, record.body, record.raw, record.ip, record.receivedAt],
          )
        : await client.query<{ id: string }>(
            `INSERT INTO ${TABLE} (state, event, notify_type, device_id, body, ip, received_at, attempts, lease_until, lease_owner)
             VALUES ('pending', $3, $4, $5, $6, $7, $8, $9, CASE WHEN $10::bool THEN ${LEASE} END, CASE WHEN $10::bool THEN $2 END) RETURNING id`,
            [leaseMs, owner, record.event, record.notifyType, record.deviceId, record.body, record.ip, record.receivedAt, record.leased ? 1 : 0, record.leased],
          );
    return { id: (rows[0] as { id: string }).id, duplicate: false };
  }

  return {
    kind: 'postgres',
    leaseMs,
    retainDays,
    spill: options.spill ?? join(process.cwd(), 'huawei-iot-upgrade-router.spill', databaseDigest(pool)),
    async append(records: readonly JournalRecord[], completed: readonly string[], dedupeWindowMs: number): Promise<Appended[]> {
      await prepared();
      const answers: Appended[] = new Array<Appended>(records.length);
      const keyed: Array<{ index: number; record: NotificationRecord }> = [];
      const others: number[] = [];
      for (const index of keyOrder(records)) {
        const record = records[index] as JournalRecord;
        if (record.kind === 'notification' && record.key !== null) keyed.push({ index, record });
        else others.push(index);
      }
      // The usual group, only new notifications: one statement is one transaction, and one round trip.
      if (others.length === 0) {
        await appendNotifications(poolRun, keyed, completed, answers, dedupeWindowMs);
        return answers;
      }
      return transaction(async (client) => {
        for (const index of others) answers[index] = await appendOne(client, records[index] as JournalRecord);
        await appendNotifications(clientRun(client), keyed, completed, answers, dedupeWindowMs);
        return answers;
      });
    },
    async claim(events, limit, exclude): Promise<ClaimedEntry[]> {
      // `exclude`: a lease that ran out while this instance still delivers the entry (its renewal
      // failed) must not make this instance start it a second time.
      const rows = await query<{ id: string; event: string; body: string; ip: string | null; received_at: Date; attempts: number; replay_base: number }>(
        `UPDATE ${TABLE} SET attempts = attempts + 1, lease_until = ${LEASE}, lease_owner = $2, updated_at = now()
         WHERE id IN (SELECT id FROM ${TABLE} WHERE state = 'pending' AND event = ANY($3::text[]) AND next_at <= now()
                      AND (lease_until IS NULL OR lease_until < now()) AND NOT (id = ANY($5::bigint[]))
                      ORDER BY next_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
         RETURNING id, event, body, ip, received_at, attempts, replay_base`,
        [leaseMs, owner, events, limit, exclude],
      );
      return rows.map((row) => ({
        id: row.id,
        event: row.event,
        body: row.body,
        ip: row.ip,
        receivedAt: row.received_at,
        attempt: row.attempts,
        budgetAttempt: row.attempts - row.replay_base,
      }));
    },
    async renew(ids) {
      if (ids.length > 0) await query(`UPDATE ${TABLE} SET lease_until = ${LEASE} WHERE id = ANY($3::bigint[]) AND lease_owner = $2 AND state = 'pending'`, [leaseMs, owner, ids]);
    },
    async complete(ids) {
      await query(`UPDATE ${TABLE} SET state = 'done', lease_until = NULL, updated_at = now() WHERE id = ANY($1::bigint[]) AND state = 'pending'`, [ids]);
    },
    async retry(id, error, delayMs) {
      await query(
        `UPDATE ${TABLE} SET last_error = $2, next_at = now() + $3::int * interval '1 millisecond', lease_until = NULL, updated_at = now() WHERE id = $1 AND state = 'pending'`,
        [id, error, delayMs],
      );
    },
    async bury(id, error) {
      await query(`UPDATE ${TABLE} SET state = 'dead', last_error = $2, lease_until = NULL, updated_at = now() WHERE id = $1 AND state = 'pending'`, [id, error]);
    },
    async reviveDead(event) {
      const rows = await query(
        `UPDATE ${TABLE} SET state = 'pending', replay_base = attempts, next_at = now(), lease_until = NULL, updated_at = now() WHERE state = 'dead' AND event = $1 RETURNING id`,
        [event],
      );
      return rows.length;
    },
    async counts(): Promise<JournalCounts> {
      // An aggregate without GROUP BY always gives one row.
      const [pending] = (await query<{ n: number; retrying: number; oldest: number | null }>(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE attempts > 0 AND (lease_until IS NULL OR lease_until < now()))::int AS retrying,
                extract(epoch FROM now() - min(received_at))::float8 AS oldest
         FROM ${TABLE} WHERE state = 'pending'`,
      )) as [{ n: number; retrying: number; oldest: number | null }];
      const kept = await query<{ state: 'dead' | 'invalid'; n: number }>(`SELECT state, count(*)::int AS n FROM ${TABLE} WHERE state IN ('dead', 'invalid') GROUP BY state`);
      const byEvent = await query<{ event: string; n: number }>(`SELECT event, count(*)::int AS n FROM ${TABLE} WHERE state = 'pending' GROUP BY event`);
      const counts: JournalCounts = {
        pending: pending.n,
        retrying: pending.retrying,
        dead: 0,
        invalid: 0,
        oldestPendingSeconds: Math.max(0, pending.oldest ?? 0),
        pendingByEvent: Object.fromEntries(byEvent.map(({ event, n }) => [event, n])),
      };
      for (const { state, n } of kept) counts[state] = n;
      return counts;
    },
    async taskCounts(operationId) {
      const rows = await query<{ state: EntryState; n: number }>(
        `SELECT state, count(*)::int AS n FROM ${TABLE} WHERE body IS NOT NULL AND body LIKE '{%' AND (body::jsonb ->> 'operationId') = $1 GROUP BY state`,
        [operationId],
      );
      return Object.fromEntries(rows.map(({ state, n }) => [state, n]));
    },
    async finalResults(operationId): Promise<FinalResult[]> {
      return query<FinalResult>(
        `SELECT body::jsonb ->> 'subOperationId' AS "subOperationId", device_id AS "deviceId", event FROM ${TABLE}
         WHERE ${FINAL_CONDITION} AND (body::jsonb ->> 'operationId') = $1`,
        [operationId],
      );
    },
    async tasksSince(since) {
      const rows = await query<{ operationId: string | null }>(
        `SELECT DISTINCT body::jsonb ->> 'operationId' AS "operationId" FROM ${TABLE}
         WHERE event IS NOT NULL AND state <> 'invalid' AND received_at >= $1 AND body LIKE '{%'`,
        [since],
      );
      return rows.flatMap((row) => (row.operationId === null ? [] : [row.operationId]));
    },
    // A session-level advisory lock on one connection held for the work: released by the server if
    // this process dies (its connection closes), so a killed instance never blocks the others.
    async exclusive(work) {
      await prepared();
      const held = await leadership.take();
      if (held === undefined) return { ran: false as const };
      return { ran: true as const, value: await work(held) };
    },
    relinquish: () => leadership.release(),
    async list(state, limit) {
      return (await query<PgEntryRow>(`SELECT ${ENTRY_COLUMNS} FROM ${TABLE} WHERE state = $1 ORDER BY id LIMIT $2`, [state, limit])).map(pgEntry);
    },
    async get(id) {
      if (!/^\d+$/.test(id)) return undefined;
      const [row] = await query<PgEntryRow>(`SELECT ${ENTRY_COLUMNS}, raw FROM ${TABLE} WHERE id = $1`, [id]);
      return row === undefined ? undefined : pgEntry(row);
    },
    async replay(id, again = false): Promise<ReplayOutcome> {
      if (!/^\d+$/.test(id)) return 'missing';
      // The table is made ready before the transaction, not inside it on a second pooled client.
      await prepared();
      return transaction(async (client) => {
        const { rows } = await client.query<PgEntryRow>(`SELECT ${ENTRY_COLUMNS} FROM ${TABLE} WHERE id = $1 FOR UPDATE`, [id]);
        const row = rows[0];
        if (row === undefined) return 'missing';
        if (pgEntry(row).delivering) return 'delivering';
        const allowed: readonly string[] = again ? ['dead', 'pending', 'done', 'discarded'] : ['dead', 'pending'];
        if (!allowed.includes(row.state)) return row.state === 'invalid' ? 'invalid' : 'not-replayable';
        await client.query(
          `UPDATE ${TABLE} SET state = 'pending', replay_base = attempts, next_at = now(), lease_until = NULL, last_error = NULL, updated_at = now() WHERE id = $1`,
          [id],
        );
        return 'replayed';
      });
    },
    async replayDead() {
      const rows = await query(
        `UPDATE ${TABLE} SET state = 'pending', replay_base = attempts, next_at = now(), lease_until = NULL, updated_at = now() WHERE state = 'dead' RETURNING id`,
      );
      return rows.length;
    },
    async reviveInvalid(id, notification) {
      await prepared();
      return transaction(async (client) => {
        if (notification.key !== null) {
          const { rows } = await client.query<{ id: string }>(`SELECT id FROM ${TABLE} WHERE dedupe_key = $1`, [notification.key]);
          if (rows[0] !== undefined) return { duplicateOf: rows[0].id };
        }
        const { rowCount } = await client.query(
          `UPDATE ${TABLE} SET state = 'pending', dedupe_key = $2, event = $3, notify_type = $4, device_id = $5, body = $6,
                  attempts = 0, replay_base = 0, next_at = now(), lease_until = NULL, updated_at = now() WHERE id = $1 AND state = 'invalid'`,
          [id, notification.key, notification.event, notification.notifyType, notification.deviceId, notification.body],
        );
        return (rowCount ?? 0) > 0 ? ('replayed' as const) : ('missing' as const);
      });
    },
    async discard(event) {
      const rows = await query(
        `UPDATE ${TABLE} SET state = 'discarded', updated_at = now() WHERE state = 'pending' AND event = $1 AND (lease_until IS NULL OR lease_until < now()) RETURNING id`,
        [event],
      );
      return rows.length;
    },
    async notificationsAfter(afterId, limit) {
      const rows = await query<{ id: string; body: string; received_at: Date }>(
        `SELECT id, body, received_at FROM ${TABLE} WHERE id > $1 AND state <> 'invalid' AND event IS NOT NULL ORDER BY id LIMIT $2`,
        [afterId, limit],
      );
      return rows.map((row) => ({ id: row.id, body: row.body, receivedAt: row.received_at }));
    },
    async notificationsIn(ids) {
      const rows = await query<{ id: string; body: string; received_at: Date }>(
        `SELECT id, body, received_at FROM ${TABLE} WHERE id = ANY($1::bigint[]) AND state <> 'invalid' AND event IS NOT NULL ORDER BY id`,
        [ids],
      );
      return rows.map((row) => ({ id: row.id, body: row.body, receivedAt: row.received_at }));
    },
    async prune(days, limit) {
      // A batch at a time: one statement over millions of rows held commits up for
      // seconds, or hit the statement timeout, rolled back, and the table never shrank.
      const rows = await query(
        `DELETE FROM ${TABLE} WHERE id IN (SELECT id FROM ${TABLE} WHERE state IN ('done', 'invalid', 'discarded') AND updated_at < now() - $1::int * interval '1 day'
                                           ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING id`,
        [days, limit],
      );
      return rows.length;
    },
    async close() {
      await leadership.release();
      if (ownPool) await pool.end();
    },
  };
}

/**
 * The database a pool points at (user, host, port, database; not the password), as 12 hex digits:
 * the default spill folder is one per database, so that pushes spilled for one database are never
 * moved into another's journal, while a restarted instance finds what its previous life kept.
 */
function databaseDigest(pool: Pool): string {
  const { user, host, port, database, connectionString } = pool.options;
  const env = process.env;
  let where = `${user ?? env['PGUSER'] ?? ''}@${host ?? env['PGHOST'] ?? ''}:${port ?? env['PGPORT'] ?? ''}/${database ?? env['PGDATABASE'] ?? ''}`;
  if (connectionString !== undefined) {
    try {
      const url = new URL(connectionString);
      where = `${decodeURIComponent(url.username)}@${url.hostname}:${url.port}${url.pathname}`;
    } catch {
      where = connectionString;
    }
  }
  return createHash('sha256').update(where).digest('hex').slice(0, 12);
}
