import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import type { UpgradeRouter } from 'huawei-iot-upgrade-router';
import { fresh, mountedApp } from './helpers';
import { runBin, tempFolder } from './support/journal';
import { until } from './support/wait';

const TABLE = 'huawei_iot_upgrade_journal';

// A journal file as the releases before numbered migrations left it: no user_version, no
// replay_base column (it was added to older files when opened), and an entry in every state.
function unversionedFile(path: string): void {
  const db = new Database(path);
  db.exec(`
    CREATE TABLE ${TABLE} (
      id INTEGER PRIMARY KEY AUTOINCREMENT, state TEXT NOT NULL, dedupe_key TEXT UNIQUE, event TEXT, notify_type TEXT, device_id TEXT,
      body TEXT, raw BLOB, reason TEXT, message TEXT, ip TEXT, received_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
      next_at INTEGER NOT NULL DEFAULT 0, lease_until INTEGER NOT NULL DEFAULT 0, last_error TEXT, updated_at INTEGER NOT NULL);
    CREATE INDEX ${TABLE}_due ON ${TABLE} (next_at) WHERE state = 'pending';
    CREATE INDEX ${TABLE}_kept ON ${TABLE} (state) WHERE state IN ('dead', 'invalid');`);
  const insert = db.prepare(
    `INSERT INTO ${TABLE} (state, dedupe_key, event, notify_type, device_id, body, received_at, attempts, last_error, reason, message, raw, updated_at)
     VALUES (@state, @key, @event, 'swUpgradeResultNotify', @device, @body, @at, @attempts, @error, @reason, @message, @raw, @at)`,
  );
  const at = Date.now() - 3_600_000;
  const entry = (state: string, device: string, attempts = 0, error: string | null = null) => ({
    state,
    key: `k-${device}`,
    event: 'upgradeResult',
    device,
    body: JSON.stringify({ ...fresh('success'), deviceId: device }),
    at,
    attempts,
    error,
    reason: null,
    message: null,
    raw: null,
  });
  for (const row of [entry('pending', 'dev-new'), entry('pending', 'dev-retrying', 2, 'the downstream API is down'), entry('done', 'dev-done', 1), entry('dead', 'dev-dead', 21, 'the downstream API is down'), entry('discarded', 'dev-discarded')]) insert.run(row);
  insert.run({ ...entry('invalid', 'x'), key: null, event: null, device: null, body: null, reason: 'malformed', message: 'body is not JSON', raw: Buffer.from('{not json') });
  db.close();
}

describe('the SQLite journal migrates its file by numbered versions', function () {
  let folder: ReturnType<typeof tempFolder>;
  const routers: UpgradeRouter[] = [];
  before(() => {
    folder = tempFolder('sqlite-migrations-');
  });
  after(() => folder.remove());
  afterEach(async () => {
    for (const router of routers.splice(0)) await router.close(1000);
  });

  const read = <R>(path: string, sql: string): R[] => {
    const db = new Database(path, { readonly: true });
    try {
      return db.prepare(sql).all() as R[];
    } finally {
      db.close();
    }
  };
  const states = (path: string): Record<string, number> =>
    Object.fromEntries(read<{ state: string; n: number }>(path, `SELECT state, count(*) AS n FROM ${TABLE} GROUP BY state ORDER BY state`).map(({ state, n }) => [state, n]));

  it('upgrades a file made before versions, with an entry in every state, and loses none', async () => {
    const path = join(folder.dir, 'old.db');
    unversionedFile(path);
    const { upgrades } = mountedApp({ journal: sqliteJournal({ path }) });
    routers.push(upgrades);
    const delivered: string[] = [];
    upgrades.on('upgradeResult', (notification, context) => {
      delivered.push(`${notification.deviceId}:${context.attempt}`);
    });
    await until(() => states(path)['pending'] === undefined, () => `every pending entry to be delivered: ${JSON.stringify(states(path))}`);
    assert.deepEqual(delivered.sort(), ['dev-new:1', 'dev-retrying:3']);
    assert.deepEqual(states(path), { dead: 1, discarded: 1, done: 3, invalid: 1 });
    assert.deepEqual(read(path, 'PRAGMA user_version'), [{ user_version: 4 }]);
    assert.equal(read<{ name: string }>(path, `PRAGMA table_info(${TABLE})`).filter((column) => column.name === 'replay_base').length, 1);
    for (const index of ['results', 'iotda_results']) assert.equal(read<{ name: string }>(path, `SELECT name FROM sqlite_master WHERE name = '${TABLE}_${index}'`).length, 1, index);
    const dead = await runBin(['journal', '--db', path, 'dead']);
    assert.match(dead.stdout, /\tswUpgradeResultNotify\tdev-dead\t21 attempts\tthe downstream API is down$/m);
  });

  it('refuses a file a newer release migrated: ERR_JOURNAL_SCHEMA_NEWER at start, the journal command exits 3', async () => {
    const path = join(folder.dir, 'newer.db');
    await sqliteJournal({ path }).close();
    const db = new Database(path);
    db.pragma('user_version = 99');
    db.close();
    assert.throws(
      () => sqliteJournal({ path }),
      (error: unknown) => (error as { code?: unknown }).code === 'ERR_JOURNAL_SCHEMA_NEWER' && /schema version 99, newer than this package knows \(4\)/.test((error as Error).message),
    );
    const cli = await runBin(['journal', '--db', path, 'stats']);
    assert.equal(cli.code, 3, cli.stderr);
    assert.match(cli.stderr, /newer than this package knows/);
    assert.deepEqual(read(path, 'PRAGMA user_version'), [{ user_version: 99 }]);
  });
});
