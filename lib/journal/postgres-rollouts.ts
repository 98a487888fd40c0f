// The Postgres journal's rollout statements and tables (builders, as postgres-sql.ts): rollouts,
// their step logs, the operators' requests, and the final results a gate reads.
import { FINAL_CONDITION, IOTDA_RESULT_CONDITION, TABLE } from './rows';
import { ROLLOUTS, ROLLOUT_REQUESTS, ROLLOUT_STEPS } from './rollout-tables';
import type { Statement } from './postgres-sql';

export const POSTGRES_ROLLOUT_TABLES = `
CREATE TABLE IF NOT EXISTS ${ROLLOUTS} (id TEXT PRIMARY KEY, spec TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL);
CREATE TABLE IF NOT EXISTS ${ROLLOUT_STEPS} (
  rollout_id TEXT NOT NULL REFERENCES ${ROLLOUTS} (id),
  seq INTEGER NOT NULL,
  at TIMESTAMPTZ NOT NULL,
  kind TEXT NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (rollout_id, seq)
);
CREATE TABLE IF NOT EXISTS ${ROLLOUT_REQUESTS} (
  id BIGSERIAL PRIMARY KEY,
  rollout_id TEXT NOT NULL REFERENCES ${ROLLOUTS} (id),
  action TEXT NOT NULL,
  data TEXT NOT NULL,
  at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS ${ROLLOUT_REQUESTS}_of ON ${ROLLOUT_REQUESTS} (rollout_id, id);`;

const LIST = `SELECT r.id, r.spec, r.created_at,
  (SELECT kind FROM ${ROLLOUT_STEPS} s WHERE s.rollout_id = r.id ORDER BY seq DESC LIMIT 1) AS last_kind,
  (SELECT max(id)::int FROM ${ROLLOUT_REQUESTS} q WHERE q.rollout_id = r.id) AS last_request
  FROM ${ROLLOUTS} r`;

export const createRollout = (id: string, spec: string, at: Date): Statement => ({
  text: `INSERT INTO ${ROLLOUTS} (id, spec, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING RETURNING id`,
  values: [id, spec, at],
});

/** One statement: every step or none (a step number taken fails it whole, 23505). */
export const appendRolloutSteps = (id: string, seq: number, steps: ReadonlyArray<{ kind: string; data: string }>, at: Date): Statement => ({
  text: `INSERT INTO ${ROLLOUT_STEPS} (rollout_id, seq, at, kind, data)
         SELECT $1, $2::int + ordinality::int - 1, $3, kind, data FROM unnest($4::text[], $5::text[]) WITH ORDINALITY AS t(kind, data)`,
  values: [id, seq, at, steps.map((step) => step.kind), steps.map((step) => step.data)],
});

export const rollout = (id: string): Statement => ({ text: `${LIST} WHERE r.id = $1`, values: [id] });
export const rollouts = (): Statement => ({ text: `${LIST} ORDER BY r.created_at, r.id`, values: [] });
export const rolloutSteps = (id: string): Statement => ({ text: `SELECT seq, at, kind, data FROM ${ROLLOUT_STEPS} WHERE rollout_id = $1 ORDER BY seq`, values: [id] });
export const rolloutRequests = (id: string): Statement => ({ text: `SELECT id::int AS id, action, data, at FROM ${ROLLOUT_REQUESTS} WHERE rollout_id = $1 ORDER BY id`, values: [id] });

export const requestRollout = (id: string, action: string, data: string, at: Date): Statement => ({
  text: `INSERT INTO ${ROLLOUT_REQUESTS} (rollout_id, action, data, at) SELECT id, $2, $3, $4 FROM ${ROLLOUTS} WHERE id = $1 RETURNING id::int AS id`,
  values: [id, action, data, at],
});

export const finalResultBodies = (taskId: string): Statement => ({
  text: `SELECT body::jsonb ->> 'subOperationId' AS "subOperationId", device_id AS "deviceId", event, body FROM ${TABLE}
         WHERE (${FINAL_CONDITION} AND (body::jsonb ->> 'operationId') = $1) OR (${IOTDA_RESULT_CONDITION} AND (body::jsonb ->> 'taskId') = $1)
         ORDER BY id`,
  values: [taskId],
});
