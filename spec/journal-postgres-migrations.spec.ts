import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import type { UpgradeRouter } from 'huawei-iot-upgrade-router';
import { postgresJournal } from 'huawei-iot-upgrade-router/postgres';
import { CALLBACK_PATH, fresh, mountedApp } from './helpers';
import { runBin, tempFolder } from './support/journal';
import { until } from './support/wait';
import { PostgresServer } from './support/postgres-server';

const TABLE = 'huawei_iot_upgrade_journal';
const VERSIONS = `${TABLE}_version`;
const UNVERSIONED = readFileSync(join(__dirname, 'fixtures', 'journal', 'postgres-unversioned.sql'), 'utf8');

describe('the Postgres journal migrates its schema by numbered versions', function () {
  this.timeout(60_000);
  let folder: ReturnType<typeof tempFolder>;
  let postgres: PostgresServer;
  const routers: UpgradeRouter[] = [];

  before(async function () {
    folder = tempFolder('postgres-migrations-');
    postgres = await PostgresServer.start(folder.dir);
  });
  after(async () => {
    await postgres.stop();
    folder.remove();
  });
  beforeEach(() => postgres.query(`DROP TABLE IF EXISTS ${TABLE}, ${VERSIONS}`));
  afterEach(async () => {
    for (const router of routers.splice(0)) await router.close(1000);
  });

  const version = async (): Promise<number | undefined> => (await postgres.query<{ version: number }>(`SELECT version FROM ${VERSIONS}`))[0]?.version;
  const states = async (): Promise<Record<string, number>> =>
    Object.fromEntries((await postgres.query<{ state: string; n: number }>(`SELECT state, count(*)::int AS n FROM ${TABLE} GROUP BY state ORDER BY state`)).map(({ state, n }) => [state, n]));
  const mount = (options: Parameters<typeof mountedApp>[0] = {}): ReturnType<typeof mountedApp> => {
    const mounted = mountedApp({ journal: postgresJournal({ connectionString: postgres.url, spill: false }), ...options });
    routers.push(mounted.upgrades);
    return mounted;
  };

  it('upgrades a journal made before versions, with rows in every state, and loses none', async () => {
    await postgres.query(UNVERSIONED);
    assert.deepEqual(await states(), { dead: 1, discarded: 1, done: 2, invalid: 1, pending: 4 });
    const { upgrades } = mount();
    const delivered: Array<{ deviceId: string; attempt: number | undefined }> = [];
    upgrades.on('upgradeResult', (notification, context) => {
      delivered.push({ deviceId: notification.deviceId, attempt: context.attempt });
    });
    // Every pending entry is delivered: new, due for a retry, left by a dead instance, replayed.
    await until(async () => (await states())['pending'] === undefined, async () => `every pending entry to be delivered: ${JSON.stringify(await states())}`);
    assert.equal(await version(), 3);
    assert.deepEqual(await states(), { dead: 1, discarded: 1, done: 6, invalid: 1 });
    assert.deepEqual(
      delivered.map(({ deviceId, attempt }) => `${deviceId}:${attempt}`).sort(),
      ['dev-leased:2', 'dev-new:1', 'dev-replayed:5', 'dev-retrying:3'],
    );
    // The dead, the invalid bytes and the task's final results read as before.
    const dead = await runBin(['journal', '--postgres', postgres.url, 'dead']);
    assert.match(dead.stdout, /\tswUpgradeResultNotify\tdev-dead\t21 attempts\tthe downstream API is down$/m);
    const [{ id: invalid }] = (await postgres.query<{ id: string }>(`SELECT id FROM ${TABLE} WHERE state = 'invalid'`)) as [{ id: string }];
    const shown = await runBin(['journal', '--postgres', postgres.url, 'show', invalid]);
    assert.match(shown.stdout, /not json/);
    const stats = await runBin(['journal', '--postgres', postgres.url, 'stats', '--task', 'op-1']);
    assert.equal(stats.code, 0, stats.stderr);
    assert.deepEqual(stats.stdout.split('\n').filter((line) => /^(done|dead|discarded)\t/.test(line)), ['done\t6', 'dead\t1', 'discarded\t1']);
  });

  it('adds what a journal of the first version lacks (replay_base), then records its version', async () => {
    await postgres.query(UNVERSIONED);
    await postgres.query(`ALTER TABLE ${TABLE} DROP COLUMN replay_base`);
    const journal = postgresJournal({ connectionString: postgres.url, spill: false });
    try {
      assert.equal((await journal.counts()).pending, 4);
    } finally {
      await journal.close();
    }
    assert.equal(await version(), 3);
    const columns = await postgres.query<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_name = $1 AND column_name = 'replay_base'`, [TABLE]);
    assert.equal(columns.length, 1);
  });

  it('instances starting together on an empty database migrate it once', async () => {
    const journals = Array.from({ length: 4 }, () => postgresJournal({ connectionString: postgres.url, spill: false }));
    try {
      const counts = await Promise.all(journals.map((journal) => journal.counts()));
      assert.deepEqual(
        counts.map((count) => count.pending),
        [0, 0, 0, 0],
      );
    } finally {
      await Promise.all(journals.map((journal) => journal.close()));
    }
    assert.deepEqual(await postgres.query(`SELECT version FROM ${VERSIONS}`), [{ version: 3 }]);
  });

  it('refuses a database a newer release migrated: ERR_JOURNAL_SCHEMA_NEWER, and nothing written', async () => {
    const journal = postgresJournal({ connectionString: postgres.url, spill: false });
    await journal.counts();
    await journal.close();
    await postgres.query(`UPDATE ${VERSIONS} SET version = 99`);

    const { app, upgrades } = mount({ onJournalError: 'refuse' });
    const errors: Array<Error & { code?: unknown; cause?: unknown }> = [];
    upgrades.on('error', (error) => errors.push(error));
    await request(app).post(CALLBACK_PATH).send(fresh('success')).expect(503);
    // The push, and the journal's own reads (what is due, the counts): each reported, each for that reason.
    const push = errors.find((error) => /could not record a push \(answered 503/.test(error.message));
    assert.ok(push, errors.map((error) => error.message).join('\n'));
    assert.ok(errors.every((error) => error.code === 'ERR_JOURNAL_FAILED' && (error.cause as { code?: unknown } | undefined)?.code === 'ERR_JOURNAL_SCHEMA_NEWER'));
    assert.match(push.message, /version 99, newer than this package knows \(3\)/);
    assert.deepEqual(await states(), {});

    const cli = await runBin(['journal', '--postgres', postgres.url, 'stats']);
    assert.equal(cli.code, 3, cli.stderr);
    assert.match(cli.stderr, /newer than this package knows/);
  });
});
