// The Postgres journal's schema as numbered migrations (pg-boss's model): a version row in a table of
// its own, every migration after it applied in one transaction under an advisory lock at start, and
// a database newer than this package refused. A migration is never edited once released: a change is
// a new one at the end.
import type { PoolClient } from 'pg';
import { codedError } from '../core/errors';
import { TABLE } from './rows';
import { POSTGRES_ROLLOUT_TABLES } from './postgres-rollouts';

export const VERSION_TABLE = `${TABLE}_version`;

export interface Migration {
  version: number;
  /** What it changes, for the log and the docs. */
  description: string;
  sql: string;
}

// Indexes cost every push a write: done entries (the bulk) are in none but the key's. Pending ones are
// found through _due, dead and invalid ones through _kept; pruning done ones scans, once an hour.
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'the journal table, its index of pending entries and its index of dead and invalid ones',
    sql: `
CREATE TABLE IF NOT EXISTS ${TABLE} (
  id BIGSERIAL PRIMARY KEY,
  state TEXT NOT NULL,
  dedupe_key TEXT UNIQUE,
  event TEXT,
  notify_type TEXT,
  device_id TEXT,
  body TEXT,
  raw BYTEA,
  reason TEXT,
  message TEXT,
  ip TEXT,
  received_at TIMESTAMPTZ NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  lease_until TIMESTAMPTZ,
  lease_owner TEXT,
  last_error TEXT,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ${TABLE}_due ON ${TABLE} (next_at) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS ${TABLE}_kept ON ${TABLE} (state) WHERE state IN ('dead', 'invalid');`,
  },
  {
    version: 2,
    // Attempts counted before the last replay: a replay continues the count and gets a fresh budget.
    description: 'replay_base: the attempts made before the last replay',
    sql: `ALTER TABLE ${TABLE} ADD COLUMN IF NOT EXISTS replay_base INTEGER NOT NULL DEFAULT 0;`,
  },
  {
    version: 3,
    description: "rollouts: their settings, their step logs and the operators' requests",
    sql: POSTGRES_ROLLOUT_TABLES,
  },
];

/** The schema this package works with. */
export const SCHEMA_VERSION = MIGRATIONS.reduce((latest, migration) => Math.max(latest, migration.version), 0);

// The version a database is at. Journals made before the schema had a version are read from their
// columns: the table alone is version 1, with replay_base version 2.
async function versionOf(client: PoolClient): Promise<{ version: number; recorded: boolean }> {
  const [found] = (
    await client.query<{ versioned: boolean; journal: boolean; replay_base: boolean }>(
      `SELECT to_regclass($1) IS NOT NULL AS versioned, to_regclass($2) IS NOT NULL AS journal,
              EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $2 AND column_name = 'replay_base') AS replay_base`,
      [VERSION_TABLE, TABLE],
    )
  ).rows;
  // A version row without its table (dropped by hand) starts over.
  if (found?.journal !== true) return { version: 0, recorded: false };
  if (found.versioned) {
    const [row] = (await client.query<{ version: number }>(`SELECT version FROM ${VERSION_TABLE}`)).rows;
    if (row !== undefined) return { version: row.version, recorded: true };
  }
  return { version: found.replay_base ? 2 : 1, recorded: false };
}

/**
 * Brings the database to SCHEMA_VERSION inside the caller's transaction, under a lock that makes
 * instances starting together take turns. Nothing is run on a database that is up to date: DDL takes
 * table locks, which another instance's concurrent index build waits on (a deadlock).
 */
export async function migrate(client: PoolClient): Promise<{ from: number; to: number }> {
  await client.query(`SELECT pg_advisory_xact_lock(hashtext('${TABLE}'))`);
  const { version: from, recorded } = await versionOf(client);
  if (from > SCHEMA_VERSION) {
    throw codedError(
      'ERR_JOURNAL_SCHEMA_NEWER',
      `the Postgres journal's schema is at version ${from}, newer than this package knows (${SCHEMA_VERSION}): a newer release migrated it. ` +
        `Run that release (or a later one) against this database; this one will not write to it.`,
    );
  }
  if (from === SCHEMA_VERSION && recorded) return { from, to: from };
  for (const migration of MIGRATIONS) if (migration.version > from) await client.query(migration.sql);
  await client.query(`CREATE TABLE IF NOT EXISTS ${VERSION_TABLE} (one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one), version INTEGER NOT NULL, migrated_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
  await client.query(`INSERT INTO ${VERSION_TABLE} (version) VALUES ($1) ON CONFLICT (one) DO UPDATE SET version = EXCLUDED.version, migrated_at = now()`, [SCHEMA_VERSION]);
  return { from, to: SCHEMA_VERSION };
}
