// Every statement of the Postgres journal, as named builders of a text and its values (pg-boss's
// plans.ts is the model): the journal class (postgres.ts) only chooses which to run and when.
import type { QueryConfig } from 'pg';
import type { EntryState, InvalidRecord, NotificationRecord } from './journal';
import { FINAL_CONDITION, TABLE } from './rows';

export interface Statement {
  text: string;
  values: unknown[];
}

const LEASE = `now() + $1::int * interval '1 millisecond'`;

export const ENTRY_COLUMNS = 'id, state, event, notify_type, device_id, body, ip, received_at, attempts, replay_base, reason, message, last_error, lease_until';

// The reconciler's question, "which devices of this task have a final result": one index entry per
// device and task (state pushes are not in it). Built CONCURRENTLY, outside the schema's transaction:
// on a journal of millions of rows a plain build would hold every instance's commits (and outlast
// the 5 s statement limit). Meanwhile the reconciler works without it, more slowly.
export const RESULTS_INDEX = `${TABLE}_results`;
const INDEX_TIMEOUT_MS = 60 * 60_000;
// pg reads a query's own query_timeout before the pool's 5 s (lib/client.js); @types/pg leaves it out.
const long = (text: string): QueryConfig => ({ text, query_timeout: INDEX_TIMEOUT_MS }) as QueryConfig;

export const resultsIndex = {
  lock: (): QueryConfig => long(`SELECT pg_advisory_lock(hashtext('${RESULTS_INDEX}'))`),
  unlock: `SELECT pg_advisory_unlock(hashtext('${RESULTS_INDEX}'))`,
  validity: (): Statement => ({ text: `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1`, values: [RESULTS_INDEX] }),
  drop: (): QueryConfig => long(`DROP INDEX CONCURRENTLY IF EXISTS ${RESULTS_INDEX}`),
  create: (): QueryConfig => long(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${RESULTS_INDEX} ON ${TABLE} ((body::jsonb ->> 'operationId')) WHERE ${FINAL_CONDITION}`),
};

/**
 * One statement: the deliveries done are marked, the new keys inserted (in key order), and the ids of
 * keys already there read, all in one round trip.
 */
export function appendKeyed(leaseMs: number, owner: string, rows: readonly NotificationRecord[], completed: readonly string[]): Statement {
  const column = <T>(read: (record: NotificationRecord) => T): T[] => rows.map(read);
  return {
    text: `WITH done AS (UPDATE ${TABLE} SET state = 'done', lease_until = NULL, updated_at = now() WHERE id = ANY($11::bigint[]) AND state = 'pending'),
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
    values: [
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
  };
}

export const holdersOf = (keys: readonly string[]): Statement => ({ text: `SELECT id, dedupe_key, received_at FROM ${TABLE} WHERE dedupe_key = ANY($1::text[])`, values: [keys] });

export const giveUpKeys = (ids: readonly string[]): Statement => ({ text: `UPDATE ${TABLE} SET dedupe_key = NULL WHERE id = ANY($1::bigint[])`, values: [ids] });

export function insertOne(leaseMs: number, owner: string, record: NotificationRecord | InvalidRecord): Statement {
  if (record.kind === 'invalid') {
    return {
      text: `INSERT INTO ${TABLE} (state, reason, message, notify_type, device_id, body, raw, ip, received_at) VALUES ('invalid', $1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
      values: [record.reason, record.message, record.notifyType, record.deviceId, record.body, record.raw, record.ip, record.receivedAt],
    };
  }
  return {
    text: `INSERT INTO ${TABLE} (state, event, notify_type, device_id, body, ip, received_at, attempts, lease_until, lease_owner)
             VALUES ('pending', $3, $4, $5, $6, $7, $8, $9, CASE WHEN $10::bool THEN ${LEASE} END, CASE WHEN $10::bool THEN $2 END) RETURNING id`,
    values: [leaseMs, owner, record.event, record.notifyType, record.deviceId, record.body, record.ip, record.receivedAt, record.leased ? 1 : 0, record.leased],
  };
}

// `exclude`: a lease that ran out while this instance still delivers the entry (its renewal failed)
// must not make this instance start it a second time.
export const claim = (leaseMs: number, owner: string, events: readonly string[], limit: number, exclude: readonly string[]): Statement => ({
  text: `UPDATE ${TABLE} SET attempts = attempts + 1, lease_until = ${LEASE}, lease_owner = $2, updated_at = now()
         WHERE id IN (SELECT id FROM ${TABLE} WHERE state = 'pending' AND event = ANY($3::text[]) AND next_at <= now()
                      AND (lease_until IS NULL OR lease_until < now()) AND NOT (id = ANY($5::bigint[]))
                      ORDER BY next_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
         RETURNING id, event, body, ip, received_at, attempts, replay_base`,
  values: [leaseMs, owner, events, limit, exclude],
});

export const renew = (leaseMs: number, owner: string, ids: readonly string[]): Statement => ({
  text: `UPDATE ${TABLE} SET lease_until = ${LEASE} WHERE id = ANY($3::bigint[]) AND lease_owner = $2 AND state = 'pending'`,
  values: [leaseMs, owner, ids],
});

export const complete = (ids: readonly string[]): Statement => ({
  text: `UPDATE ${TABLE} SET state = 'done', lease_until = NULL, updated_at = now() WHERE id = ANY($1::bigint[]) AND state = 'pending'`,
  values: [ids],
});

export const retry = (id: string, error: string, delayMs: number): Statement => ({
  text: `UPDATE ${TABLE} SET last_error = $2, next_at = now() + $3::int * interval '1 millisecond', lease_until = NULL, updated_at = now() WHERE id = $1 AND state = 'pending'`,
  values: [id, error, delayMs],
});

export const bury = (id: string, error: string): Statement => ({
  text: `UPDATE ${TABLE} SET state = 'dead', last_error = $2, lease_until = NULL, updated_at = now() WHERE id = $1 AND state = 'pending'`,
  values: [id, error],
});

/** Dead entries made pending again with a fresh budget: all of them, or those of one event. */
export const reviveDead = (event?: string): Statement => ({
  text: `UPDATE ${TABLE} SET state = 'pending', replay_base = attempts, next_at = now(), lease_until = NULL, updated_at = now() WHERE state = 'dead'${event === undefined ? '' : ' AND event = $1'} RETURNING id`,
  values: event === undefined ? [] : [event],
});

// An aggregate without GROUP BY always gives one row.
export const countPending = (): Statement => ({
  text: `SELECT count(*)::int AS n, count(*) FILTER (WHERE attempts > 0 AND (lease_until IS NULL OR lease_until < now()))::int AS retrying,
                extract(epoch FROM now() - min(received_at))::float8 AS oldest
         FROM ${TABLE} WHERE state = 'pending'`,
  values: [],
});

export const countKept = (): Statement => ({ text: `SELECT state, count(*)::int AS n FROM ${TABLE} WHERE state IN ('dead', 'invalid') GROUP BY state`, values: [] });

export const countPendingByEvent = (): Statement => ({ text: `SELECT event, count(*)::int AS n FROM ${TABLE} WHERE state = 'pending' GROUP BY event`, values: [] });

export const taskCounts = (operationId: string): Statement => ({
  text: `SELECT state, count(*)::int AS n FROM ${TABLE} WHERE body IS NOT NULL AND body LIKE '{%' AND (body::jsonb ->> 'operationId') = $1 GROUP BY state`,
  values: [operationId],
});

export const finalResults = (operationId: string): Statement => ({
  text: `SELECT body::jsonb ->> 'subOperationId' AS "subOperationId", device_id AS "deviceId", event FROM ${TABLE}
         WHERE ${FINAL_CONDITION} AND (body::jsonb ->> 'operationId') = $1`,
  values: [operationId],
});

export const tasksSince = (since: Date): Statement => ({
  text: `SELECT DISTINCT body::jsonb ->> 'operationId' AS "operationId" FROM ${TABLE}
         WHERE event IS NOT NULL AND state <> 'invalid' AND received_at >= $1 AND body LIKE '{%'`,
  values: [since],
});

export const list = (state: EntryState, limit: number): Statement => ({ text: `SELECT ${ENTRY_COLUMNS} FROM ${TABLE} WHERE state = $1 ORDER BY id LIMIT $2`, values: [state, limit] });

export const entry = (id: string): Statement => ({ text: `SELECT ${ENTRY_COLUMNS}, raw FROM ${TABLE} WHERE id = $1`, values: [id] });

export const lockEntry = (id: string): Statement => ({ text: `SELECT ${ENTRY_COLUMNS} FROM ${TABLE} WHERE id = $1 FOR UPDATE`, values: [id] });

export const replay = (id: string): Statement => ({
  text: `UPDATE ${TABLE} SET state = 'pending', replay_base = attempts, next_at = now(), lease_until = NULL, last_error = NULL, updated_at = now() WHERE id = $1`,
  values: [id],
});

export const keyHolder = (key: string): Statement => ({ text: `SELECT id FROM ${TABLE} WHERE dedupe_key = $1`, values: [key] });

export const reviveInvalid = (id: string, notification: { key: string | null; event: string; notifyType: string; deviceId: string | null; body: string }): Statement => ({
  text: `UPDATE ${TABLE} SET state = 'pending', dedupe_key = $2, event = $3, notify_type = $4, device_id = $5, body = $6,
                  attempts = 0, replay_base = 0, next_at = now(), lease_until = NULL, updated_at = now() WHERE id = $1 AND state = 'invalid'`,
  values: [id, notification.key, notification.event, notification.notifyType, notification.deviceId, notification.body],
});

export const discard = (event: string): Statement => ({
  text: `UPDATE ${TABLE} SET state = 'discarded', updated_at = now() WHERE state = 'pending' AND event = $1 AND (lease_until IS NULL OR lease_until < now()) RETURNING id`,
  values: [event],
});

export const notificationsAfter = (afterId: string, limit: number): Statement => ({
  text: `SELECT id, body, received_at FROM ${TABLE} WHERE id > $1 AND state <> 'invalid' AND event IS NOT NULL ORDER BY id LIMIT $2`,
  values: [afterId, limit],
});

export const notificationsIn = (ids: readonly string[]): Statement => ({
  text: `SELECT id, body, received_at FROM ${TABLE} WHERE id = ANY($1::bigint[]) AND state <> 'invalid' AND event IS NOT NULL ORDER BY id`,
  values: [ids],
});

// A batch at a time: one statement over millions of rows held commits up for seconds, or hit the
// statement timeout, rolled back, and the table never shrank.
export const prune = (days: number, limit: number): Statement => ({
  text: `DELETE FROM ${TABLE} WHERE id IN (SELECT id FROM ${TABLE} WHERE state IN ('done', 'invalid', 'discarded') AND updated_at < now() - $1::int * interval '1 day'
                                           ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING id`,
  values: [days, limit],
});
