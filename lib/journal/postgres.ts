// The shared journal: one Postgres table used by every instance behind a load balancer. pg is an
// optional peer dependency, loaded only by this subpath. Deliveries are claimed with
// SELECT ... FOR UPDATE SKIP LOCKED under a lease (the pattern of pg-boss and graphile-worker): an
// instance that dies leaves leases that run out, and another instance takes those entries then.
import { createHash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Pool, type PoolClient, type QueryConfig, type QueryResultRow } from 'pg';
import { checkOptions, checks, type OptionTable } from '../core/option-checks';
import { DEFAULT_LEASE_MS, DEFAULT_RETAIN_DAYS, plainJournal, type Appended, type ClaimedEntry, type EntryState, type FinalResult, type FinalResultBody, type Journal, type JournalCounts, type JournalEntry, type JournalRecord, type NotificationRecord, type ReplayOutcome, type RevivedNotification, type RolloutRecord, type RolloutRequest, type RolloutRow, type RolloutStep } from './journal';
import { TABLE, entryOf, keyOrder, leaseCheck, positiveWhole, type EntryRow } from './rows';
import * as sql from './postgres-sql';
import * as rolloutSql from './postgres-rollouts';
import type { Statement } from './postgres-sql';
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

/** Runs a statement on the pool or on one client (inside a transaction). */
type Runner = Pick<Pool, 'query'> | PoolClient;

async function run<R extends QueryResultRow>(on: Runner, statement: Statement | QueryConfig | string): Promise<R[]> {
  return (await on.query<R>(statement)).rows;
}

type Keyed = { index: number; record: NotificationRecord };
type Holder = { id: string; dedupe_key: string; received_at: Date };

/** A durable journal in Postgres, shared by every instance that points at the same database. */
class PostgresJournal implements Journal {
  readonly kind = 'postgres';
  readonly leaseMs: number;
  readonly retainDays: number;
  readonly spill: string | false;
  readonly #pool: Pool;
  readonly #ownPool: boolean;
  readonly #owner = randomUUID();
  readonly #leadership: Leadership;
  // Migrated once, under a lock: two instances starting together must not race on CREATE TABLE.
  #ready: Promise<void> | undefined;

  constructor(options: PostgresJournalOptions) {
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.retainDays = options.retainDays ?? DEFAULT_RETAIN_DAYS;
    this.#ownPool = options.pool === undefined;
    this.#pool = options.pool ?? new Pool({ connectionString: options.connectionString, connectionTimeoutMillis: TIMEOUT_MS, query_timeout: TIMEOUT_MS, max: 10 });
    // An idle client whose server went away emits 'error' on the pool, which would crash the host
    // with no listener. The next query fails too, and the router reports that one.
    if (this.#ownPool) this.#pool.on('error', () => {});
    this.#leadership = new Leadership(this.#pool, `hashtext('${TABLE}:reconcile')`);
    this.spill = options.spill ?? join(process.cwd(), 'huawei-iot-upgrade-router.spill', databaseDigest(this.#pool));
  }

  #prepared(): Promise<void> {
    this.#ready ??= this.#transaction(async (client) => {
      await migrate(client);
    }).then(
      () => {
        // Once, in the background; a failure leaves the reconciler without the index (it works, more slowly).
        this.#indexResults().catch(() => {});
      },
      (error: unknown) => {
        this.#ready = undefined;
        throw error;
      },
    );
    return this.#ready;
  }

  // One instance builds it (a session lock); an earlier build cut off left an invalid index, which
  // IF NOT EXISTS would keep for ever: it is dropped first.
  async #indexResults(): Promise<void> {
    await this.#held(async (client) => {
      await client.query(sql.resultsIndex.lock());
      try {
        const [found] = await run<{ valid: boolean }>(client, sql.resultsIndex.validity());
        if (found?.valid === true) return;
        if (found !== undefined) await client.query(sql.resultsIndex.drop());
        await client.query(sql.resultsIndex.create());
      } finally {
        await client.query(sql.resultsIndex.unlock).catch(() => {});
      }
    });
  }

  // A connection kept for a while (a session lock): if the server goes away meanwhile, the client
  // emits 'error', which with no listener would crash the host; the work's next query fails instead.
  // A client that failed is destroyed, not returned to the pool.
  async #held<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
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

  async #transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
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

  async #query<R extends QueryResultRow>(statement: Statement): Promise<R[]> {
    await this.#prepared();
    return run<R>(this.#pool, statement);
  }

  async append(records: readonly JournalRecord[], completed: readonly string[], dedupeWindowMs: number): Promise<Appended[]> {
    await this.#prepared();
    const answers: Appended[] = new Array<Appended>(records.length);
    const keyed: Keyed[] = [];
    const others: number[] = [];
    for (const index of keyOrder(records)) {
      const record = records[index] as JournalRecord;
      if (record.kind === 'notification' && record.key !== null) keyed.push({ index, record });
      else others.push(index);
    }
    // The usual group, only new notifications: one statement is one transaction, and one round trip.
    if (others.length === 0) {
      await this.#appendKeyed(this.#pool, keyed, completed, answers, dedupeWindowMs);
      return answers;
    }
    return this.#transaction(async (client) => {
      for (const index of others) {
        const [row] = await run<{ id: string }>(client, sql.insertOne(this.leaseMs, this.#owner, records[index] as JournalRecord));
        answers[index] = { id: (row as { id: string }).id, duplicate: false };
      }
      await this.#appendKeyed(client, keyed, completed, answers, dedupeWindowMs);
      return answers;
    });
  }

  // A key another instance commits meanwhile is not in the first statement's snapshot: it is read
  // by a second one.
  async #appendKeyed(on: Runner, records: readonly Keyed[], completed: readonly string[], answers: Appended[], dedupeWindowMs: number): Promise<void> {
    // One row per key: a re-send inside the same group is a duplicate of the first.
    const first = new Map<string, Keyed>();
    for (const item of records) if (!first.has(item.record.key as string)) first.set(item.record.key as string, item);
    const rows = [...first.values()];
    const found = await run<Holder & { fresh: boolean }>(on, sql.appendKeyed(this.leaseMs, this.#owner, rows.map(({ record }) => record), completed));
    const ids = new Map(found.map((row) => [row.dedupe_key, row]));
    const fresh = new Set(found.filter((row) => row.fresh).map((row) => row.dedupe_key));
    const missing = rows.map(({ record }) => record.key as string).filter((key) => !ids.has(key));
    if (missing.length > 0) for (const row of await run<Holder>(on, sql.holdersOf(missing))) ids.set(row.dedupe_key, { ...row, fresh: false });
    // A key held by an entry received longer ago than the platform's re-send window is a new report:
    // the old entry gives the key up, and the record is inserted again.
    const expired = rows.filter(({ record }) => {
      const holder = ids.get(record.key as string);
      return holder !== undefined && !fresh.has(record.key as string) && record.receivedAt.getTime() - holder.received_at.getTime() >= dedupeWindowMs;
    });
    if (expired.length > 0) await this.#insertAgain(records, expired, ids, answers, dedupeWindowMs);
    for (const { index, record } of records) {
      const key = record.key as string;
      // Answered by the second insert.
      if (expired.some((item) => item.record.key === key)) continue;
      const id = ids.get(key)?.id;
      if (id === undefined) throw codedError('ERR_JOURNAL_INCONSISTENT', `journal: no entry for a duplicate key after the insert (${key})`);
      answers[index] = { id, duplicate: !(fresh.has(key) && first.get(key)?.index === index) };
    }
  }

  // Rare (a genuine repeat), so a transaction of its own; an instance racing on the same key waits
  // on the holder's row lock, then finds the key taken by this insert: a duplicate, as it should.
  async #insertAgain(records: readonly Keyed[], expired: readonly Keyed[], ids: ReadonlyMap<string, Holder>, answers: Appended[], dedupeWindowMs: number): Promise<void> {
    const again = records.filter(({ record }) => expired.some((item) => item.record.key === record.key));
    const holders = expired.map(({ record }) => (ids.get(record.key as string) as Holder).id);
    await this.#transaction(async (client) => {
      await client.query(sql.giveUpKeys(holders));
      await this.#appendKeyed(client, again, [], answers, dedupeWindowMs);
    });
  }

  async claim(events: readonly string[], limit: number, exclude: readonly string[]): Promise<ClaimedEntry[]> {
    const rows = await this.#query<{ id: string; event: string; body: string; ip: string | null; received_at: Date; attempts: number; replay_base: number }>(
      sql.claim(this.leaseMs, this.#owner, events, limit, exclude),
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
  }

  async renew(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.#query(sql.renew(this.leaseMs, this.#owner, ids));
  }

  async complete(ids: readonly string[]): Promise<void> {
    await this.#query(sql.complete(ids));
  }

  async retry(id: string, error: string, delayMs: number): Promise<void> {
    await this.#query(sql.retry(id, error, delayMs));
  }

  async bury(id: string, error: string): Promise<void> {
    await this.#query(sql.bury(id, error));
  }

  async reviveDead(event: string): Promise<number> {
    return (await this.#query(sql.reviveDead(event))).length;
  }

  async counts(): Promise<JournalCounts> {
    const [pending] = (await this.#query<{ n: number; retrying: number; oldest: number | null }>(sql.countPending())) as [{ n: number; retrying: number; oldest: number | null }];
    const kept = await this.#query<{ state: 'dead' | 'invalid'; n: number }>(sql.countKept());
    const byEvent = await this.#query<{ event: string; n: number }>(sql.countPendingByEvent());
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
  }

  async taskCounts(operationId: string): Promise<Partial<Record<EntryState, number>>> {
    const rows = await this.#query<{ state: EntryState; n: number }>(sql.taskCounts(operationId));
    return Object.fromEntries(rows.map(({ state, n }) => [state, n]));
  }

  finalResults(operationId: string): Promise<FinalResult[]> {
    return this.#query<FinalResult>(sql.finalResults(operationId));
  }

  async createRollout(id: string, spec: string, at: Date): Promise<boolean> {
    return (await this.#query(rolloutSql.createRollout(id, spec, at))).length === 1;
  }

  async appendRolloutSteps(id: string, seq: number, steps: ReadonlyArray<{ kind: string; data: string }>, at: Date): Promise<boolean> {
    try {
      await this.#query(rolloutSql.appendRolloutSteps(id, seq, steps, at));
      return true;
    } catch (error) {
      // A step number taken: another driver wrote it.
      if ((error as { code?: unknown }).code === '23505') return false;
      throw error;
    }
  }

  async readRollout(id: string): Promise<RolloutRecord | undefined> {
    const [row] = await this.#query<RolloutSqlRow>(rolloutSql.rollout(id));
    if (row === undefined) return undefined;
    const steps = await this.#query<RolloutStep>(rolloutSql.rolloutSteps(id));
    const requests = await this.#query<RolloutRequest>(rolloutSql.rolloutRequests(id));
    return { ...rolloutRowOf(row), steps, requests };
  }

  async listRollouts(): Promise<RolloutRow[]> {
    return (await this.#query<RolloutSqlRow>(rolloutSql.rollouts())).map(rolloutRowOf);
  }

  async requestRollout(id: string, action: string, data: string, at: Date): Promise<number | undefined> {
    const [row] = await this.#query<{ id: number }>(rolloutSql.requestRollout(id, action, data, at));
    return row?.id;
  }

  finalResultBodies(operationId: string): Promise<FinalResultBody[]> {
    return this.#query<FinalResultBody>(rolloutSql.finalResultBodies(operationId));
  }

  async tasksSince(since: Date): Promise<string[]> {
    const rows = await this.#query<{ operationId: string | null }>(sql.tasksSince(since));
    return rows.flatMap((row) => (row.operationId === null ? [] : [row.operationId]));
  }

  // A session-level advisory lock on one connection held for the work: released by the server if
  // this process dies (its connection closes), so a killed instance never blocks the others.
  async exclusive<T>(work: (signal: AbortSignal) => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
    await this.#prepared();
    const held = await this.#leadership.take();
    if (held === undefined) return { ran: false };
    return { ran: true, value: await work(held) };
  }

  relinquish(): Promise<void> {
    return this.#leadership.release();
  }

  async list(state: EntryState, limit: number): Promise<JournalEntry[]> {
    return (await this.#query<PgEntryRow>(sql.list(state, limit))).map(pgEntry);
  }

  async get(id: string): Promise<JournalEntry | undefined> {
    if (!/^\d+$/.test(id)) return undefined;
    const [row] = await this.#query<PgEntryRow>(sql.entry(id));
    return row === undefined ? undefined : pgEntry(row);
  }

  async replay(id: string, again = false): Promise<ReplayOutcome> {
    if (!/^\d+$/.test(id)) return 'missing';
    // The table is made ready before the transaction, not inside it on a second pooled client.
    await this.#prepared();
    return this.#transaction(async (client) => {
      const [row] = await run<PgEntryRow>(client, sql.lockEntry(id));
      if (row === undefined) return 'missing';
      if (pgEntry(row).delivering) return 'delivering';
      const allowed: readonly string[] = again ? ['dead', 'pending', 'done', 'discarded'] : ['dead', 'pending'];
      if (!allowed.includes(row.state)) return row.state === 'invalid' ? 'invalid' : 'not-replayable';
      await client.query(sql.replay(id));
      return 'replayed';
    });
  }

  async replayDead(): Promise<number> {
    return (await this.#query(sql.reviveDead())).length;
  }

  async reviveInvalid(id: string, notification: RevivedNotification): Promise<ReplayOutcome | { duplicateOf: string }> {
    await this.#prepared();
    return this.#transaction(async (client) => {
      if (notification.key !== null) {
        const [holder] = await run<{ id: string }>(client, sql.keyHolder(notification.key));
        if (holder !== undefined) return { duplicateOf: holder.id };
      }
      const { rowCount } = await client.query(sql.reviveInvalid(id, notification));
      return (rowCount ?? 0) > 0 ? 'replayed' : 'missing';
    });
  }

  async discard(event: string): Promise<number> {
    return (await this.#query(sql.discard(event))).length;
  }

  async notificationsAfter(afterId: string, limit: number): Promise<Array<{ id: string; body: string; receivedAt: Date }>> {
    const rows = await this.#query<{ id: string; body: string; received_at: Date }>(sql.notificationsAfter(afterId, limit));
    return rows.map((row) => ({ id: row.id, body: row.body, receivedAt: row.received_at }));
  }

  async notificationsIn(ids: readonly string[]): Promise<Array<{ id: string; body: string; receivedAt: Date }>> {
    const rows = await this.#query<{ id: string; body: string; received_at: Date }>(sql.notificationsIn(ids));
    return rows.map((row) => ({ id: row.id, body: row.body, receivedAt: row.received_at }));
  }

  async prune(days: number, limit: number): Promise<number> {
    return (await this.#query(sql.prune(days, limit))).length;
  }

  async close(): Promise<void> {
    await this.#leadership.release();
    if (this.#ownPool) await this.#pool.end();
  }
}

/** A durable journal in Postgres, shared by every instance that points at the same database. */
interface RolloutSqlRow {
  id: string;
  spec: string;
  created_at: Date;
  last_kind: string | null;
  last_request: number | null;
}

const rolloutRowOf = (row: RolloutSqlRow): RolloutRow => ({ id: row.id, spec: row.spec, createdAt: row.created_at, lastKind: row.last_kind, lastRequest: row.last_request ?? 0 });

export function postgresJournal(options: PostgresJournalOptions = {}): Journal {
  checkOptions(options, optionTable);
  return plainJournal(new PostgresJournal(options));
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
