// The SQLite journal's schema as numbered migrations, its version in the file's `user_version`.
// Applied by the receiver that owns the file, in one transaction, when it opens it; a file a newer
// release migrated is refused. A migration is never edited once released: a change is a new one.
import type { Database } from 'better-sqlite3';
import { codedError } from '../core/errors';
import { FINAL_CONDITION, IOTDA_RESULT_CONDITION, TABLE } from './rows';
import { SQLITE_ROLLOUT_TABLES } from './sqlite-rollouts';

interface SqliteMigration {
  version: number;
  description: string;
  /** Idempotent: a file made before versions gets every migration, whatever it has already. */
  apply(db: Database): void;
}

const columnsOf = (db: Database): Set<string> => new Set((db.pragma(`table_info(${TABLE})`) as Array<{ name: string }>).map((column) => column.name));

export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 1,
    description: 'the journal table, its indexes of pending, of dead and invalid entries, and of final results by task',
    // Indexes cost every push a write: done entries (the bulk) are in none but the key's. Pending ones
    // are found through _due, dead and invalid ones through _kept; pruning done ones scans, in small
    // batches. _results answers the reconciler's "which devices of this task have a final result".
    apply: (db) =>
      db.exec(`
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
CREATE INDEX IF NOT EXISTS ${TABLE}_results ON ${TABLE} (json_extract(body, '$.operationId')) WHERE ${FINAL_CONDITION};`),
  },
  {
    version: 2,
    // Attempts counted before the last replay: a replay continues the count and gets a fresh budget.
    description: 'replay_base: the attempts made before the last replay',
    apply: (db) => {
      if (!columnsOf(db).has('replay_base')) db.exec(`ALTER TABLE ${TABLE} ADD COLUMN replay_base INTEGER NOT NULL DEFAULT 0`);
    },
  },
  {
    version: 3,
    description: 'rollouts: their settings, their step logs and the operators\' requests',
    apply: (db) => db.exec(SQLITE_ROLLOUT_TABLES),
  },
  {
    version: 4,
    description: "IoTDA devices' outcomes by task: what a rollout's gate reads on IoTDA",
    apply: (db) => db.exec(`CREATE INDEX IF NOT EXISTS ${TABLE}_iotda_results ON ${TABLE} (json_extract(body, '$.taskId')) WHERE ${IOTDA_RESULT_CONDITION}`),
  },
];

export const SQLITE_SCHEMA_VERSION = SQLITE_MIGRATIONS.reduce((latest, migration) => Math.max(latest, migration.version), 0);

/** The file's version; throws ERR_JOURNAL_SCHEMA_NEWER for a file a newer release migrated (the `journal` command checks it too). */
export function checkSqliteVersion(db: Database, path: string): number {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SQLITE_SCHEMA_VERSION) {
    throw codedError(
      'ERR_JOURNAL_SCHEMA_NEWER',
      `the SQLite journal ${path} is at schema version ${version}, newer than this package knows (${SQLITE_SCHEMA_VERSION}): a newer release migrated it. Run that release (or a later one) on it; this one will not write to it.`,
    );
  }
  return version;
}

/** Brings the file to SQLITE_SCHEMA_VERSION (the owner, at open). */
export function migrateSqlite(db: Database, path: string): void {
  db.transaction(() => {
    const from = checkSqliteVersion(db, path);
    if (from === SQLITE_SCHEMA_VERSION) return;
    for (const migration of SQLITE_MIGRATIONS) if (migration.version > from) migration.apply(db);
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
  }).immediate();
}
