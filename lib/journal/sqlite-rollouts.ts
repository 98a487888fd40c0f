// The SQLite journal's rollout statements: rollouts, their step logs and the operators' requests.
import type Database from 'better-sqlite3';
import type { FinalResultBody, RolloutRecord, RolloutRequest, RolloutRow, RolloutStep } from './journal';
import { FINAL_CONDITION, IOTDA_RESULT_CONDITION, TABLE } from './rows';
import { ROLLOUTS, ROLLOUT_REQUESTS, ROLLOUT_STEPS } from './rollout-tables';

interface RowOf {
  id: string;
  spec: string;
  created_at: number;
  last_kind: string | null;
  last_request: number | null;
}

const LIST = `SELECT r.id, r.spec, r.created_at,
  (SELECT kind FROM ${ROLLOUT_STEPS} s WHERE s.rollout_id = r.id ORDER BY seq DESC LIMIT 1) AS last_kind,
  (SELECT max(id) FROM ${ROLLOUT_REQUESTS} q WHERE q.rollout_id = r.id) AS last_request
  FROM ${ROLLOUTS} r`;

const rowOf = (row: RowOf): RolloutRow => ({ id: row.id, spec: row.spec, createdAt: new Date(row.created_at), lastKind: row.last_kind, lastRequest: row.last_request ?? 0 });

function prepare(db: Database.Database) {
  const insert = db.prepare<[string, string, number]>(`INSERT INTO ${ROLLOUTS} (id, spec, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING`);
  const insertStep = db.prepare<[string, number, number, string, string]>(`INSERT INTO ${ROLLOUT_STEPS} (rollout_id, seq, at, kind, data) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`);
  const one = db.prepare<[string], RowOf>(`${LIST} WHERE r.id = ?`);
  const all = db.prepare<[], RowOf>(`${LIST} ORDER BY r.created_at, r.id`);
  const steps = db.prepare<[string], { seq: number; at: number; kind: string; data: string }>(`SELECT seq, at, kind, data FROM ${ROLLOUT_STEPS} WHERE rollout_id = ? ORDER BY seq`);
  const requests = db.prepare<[string], { id: number; action: string; data: string; at: number }>(`SELECT id, action, data, at FROM ${ROLLOUT_REQUESTS} WHERE rollout_id = ? ORDER BY id`);
  const request = db.prepare<[string, string, string, number]>(`INSERT INTO ${ROLLOUT_REQUESTS} (rollout_id, action, data, at) VALUES (?, ?, ?, ?)`);
  const finals = db.prepare<[string], FinalResultBody>(
    `SELECT json_extract(body, '$.subOperationId') AS subOperationId, device_id AS deviceId, event, body FROM ${TABLE}
     WHERE ${FINAL_CONDITION} AND json_extract(body, '$.operationId') = ?`,
  );
  // Apart, not OR'ed into the statement above: each uses its own index.
  const iotdaFinals = db.prepare<[string], FinalResultBody>(`SELECT NULL AS subOperationId, device_id AS deviceId, event, body FROM ${TABLE} WHERE ${IOTDA_RESULT_CONDITION} AND json_extract(body, '$.taskId') = ? ORDER BY id`);
  const append = db.transaction((id: string, seq: number, added: ReadonlyArray<{ kind: string; data: string }>, at: number): boolean => {
    for (const [index, step] of added.entries()) {
      if (insertStep.run(id, seq + index, at, step.kind, step.data).changes === 0) {
        // Rolled back whole: a stale driver writes nothing.
        throw Object.assign(new Error('step taken'), { stepTaken: true });
      }
    }
    return true;
  });
  return { insert, one, all, steps, requests, request, finals, iotdaFinals, append };
}

/**
 * Prepared at first use: an operator's `journal` command may open a file an older receiver has not
 * migrated yet, and must still read its entries.
 */
export function rolloutStatements(db: Database.Database) {
  let prepared: ReturnType<typeof prepare> | undefined;
  const use = (): ReturnType<typeof prepare> => (prepared ??= prepare(db));
  return {
    createRollout: (id: string, spec: string, at: Date): boolean => use().insert.run(id, spec, at.getTime()).changes === 1,
    appendRolloutSteps: (id: string, seq: number, added: ReadonlyArray<{ kind: string; data: string }>, at: Date): boolean => {
      try {
        return use().append.immediate(id, seq, added, at.getTime());
      } catch (error) {
        if ((error as { stepTaken?: boolean }).stepTaken === true) return false;
        throw error;
      }
    },
    readRollout: (id: string): RolloutRecord | undefined => {
      const { one, steps, requests } = use();
      const row = one.get(id);
      if (row === undefined) return undefined;
      return {
        ...rowOf(row),
        steps: steps.all(id).map((step): RolloutStep => ({ ...step, at: new Date(step.at) })),
        requests: requests.all(id).map((entry): RolloutRequest => ({ ...entry, at: new Date(entry.at) })),
      };
    },
    listRollouts: (): RolloutRow[] => use().all.all().map(rowOf),
    requestRollout: (id: string, action: string, data: string, at: Date): number | undefined =>
      use().one.get(id) === undefined ? undefined : Number(use().request.run(id, action, data, at.getTime()).lastInsertRowid),
    finalResultBodies: (taskId: string): FinalResultBody[] => [...use().finals.all(taskId), ...use().iotdaFinals.all(taskId)],
  };
}

export const SQLITE_ROLLOUT_TABLES = `
CREATE TABLE IF NOT EXISTS ${ROLLOUTS} (id TEXT PRIMARY KEY, spec TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ${ROLLOUT_STEPS} (
  rollout_id TEXT NOT NULL REFERENCES ${ROLLOUTS} (id),
  seq INTEGER NOT NULL,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (rollout_id, seq)
);
CREATE TABLE IF NOT EXISTS ${ROLLOUT_REQUESTS} (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  rollout_id TEXT NOT NULL REFERENCES ${ROLLOUTS} (id),
  action TEXT NOT NULL,
  data TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ${ROLLOUT_REQUESTS}_of ON ${ROLLOUT_REQUESTS} (rollout_id, id);`;
