// The journal's smaller promises, each through the public API: what the command prints for every
// kind of entry, and the errors a journal that cannot be opened or is closed gives.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SwUpgradeResultNotify, UpgradeRouter } from 'huawei-iot-upgrade-router';
import { inspectSqliteJournal, sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import request from 'supertest';
import express from './express';
import { mountedApp } from './helpers';
import { runBin, tempFolder } from './support/journal';
import { until } from './support/wait';
import { fresh } from './helpers';

const push = (): SwUpgradeResultNotify => ({ ...fresh('success'), deviceId: randomUUID() });

describe('the journal: what the command prints, and how it fails', function () {
  let folder: ReturnType<typeof tempFolder>;
  let path: string;
  const routers: UpgradeRouter[] = [];
  beforeEach(() => {
    folder = tempFolder('odds-');
    path = join(folder.dir, 'upgrades.db');
  });
  afterEach(async () => {
    for (const router of routers.splice(0)) await router.close(1000);
    folder.remove();
  });

  it('show and pending for an entry waiting for a retry and one being delivered; replay says which attempt comes next', async () => {
    const { upgrades } = mountedApp({ journal: sqliteJournal({ path }), delivery: { attempts: 2, backoffMs: 60_000 } });
    routers.push(upgrades);
    let hold: (() => void) | undefined;
    upgrades.on('upgradeResult', async (notification) => {
      if (notification.resultDesc === 'hold') await new Promise<void>((resolve) => (hold = resolve));
      throw new Error('the database is down\n(second line)');
    });
    upgrades.on('error', () => {});
    upgrades.on('deadLetter', () => {});
    await upgrades.receive(push());
    await until(async () => (await runBin(['journal', '--db', path, 'pending'])).stdout.includes('waiting (the database is down\\n(second line))'), 'a waiting retry');
    const shown = await runBin(['journal', '--db', path, 'show', '1']);
    assert.match(shown.stdout, /^state\tpending$/m);
    assert.match(shown.stdout, /^event\tupgradeResult$/m);
    assert.match(shown.stdout, /^last error\tthe database is down\\n\(second line\)$/m);
    assert.doesNotMatch(shown.stdout, /^reason/m);

    await upgrades.receive({ ...push(), resultDesc: 'hold' });
    await until(() => hold !== undefined, 'the held delivery');
    const held = await runBin(['journal', '--db', path, 'show', '2']);
    assert.match(held.stdout, /^state\tpending \(being delivered now\)$/m);
    hold?.();
    // The held delivery fails in turn: its retry is recorded before the operator's commands below.
    await until(async () => (await runBin(['journal', '--db', path, 'show', '2'])).stdout.includes('last error\tthe database is down'), 'the held delivery to fail and wait for its retry');

    // A malformed push: no notifyType or deviceId to show, and raw bytes with control characters.
    const app = express();
    app.use('/cb', upgrades);
    upgrades.on('invalid', () => {});
    await request(app).post('/cb').set('Content-Type', 'application/json').send('{bad\n\t\r').expect(200);
    const malformed = await runBin(['journal', '--db', path, 'show', '3']);
    assert.match(malformed.stdout, /^notifyType\t-$/m);
    assert.match(malformed.stdout, /^deviceId\t-$/m);
    assert.match(malformed.stdout, /^as text\t\{bad\\n\\t\\r$/m);
    assert.equal(await inspectSqliteJournal({ path }).replay('3'), 'invalid');

    const replayed = await runBin(['journal', '--db', path, 'replay', '1']);
    assert.equal(replayed.stdout.trim(), 'replayed 1 (attempt 2 next)', `exit ${replayed.code}: ${replayed.stderr}`);
    const missing = await runBin(['journal', '--db', path, 'replay', '77']);
    assert.match(missing.stderr, /cannot replay "77": there is no entry/);
  });

  it('a path whose folder cannot be made, a file that is not a database, and a closed journal each say so', async () => {
    writeFileSync(join(folder.dir, 'a-file'), 'x');
    assert.throws(() => sqliteJournal({ path: join(folder.dir, 'a-file', 'sub', 'upgrades.db') }), /the SQLite journal's folder .*a-file\/sub cannot be created/);
    writeFileSync(path, 'not a database, but long enough to be read as one: '.repeat(100));
    assert.throws(() => sqliteJournal({ path }), /file is not a database/);
    // The lock was released with the failure: a good file opens now.
    const good = join(folder.dir, 'good.db');
    const journal = sqliteJournal({ path: good });
    await journal.close();
    await assert.rejects(journal.counts(), /the SQLite journal is closed/);
    await journal.close();
    const inspected = inspectSqliteJournal({ path: good });
    assert.equal(await inspected.reviveInvalid('1', { key: 'k', event: 'upgradeResult', notifyType: 'swUpgradeResultNotify', deviceId: 'd', body: '{}' }), 'missing');
    await inspected.close();
    await assert.rejects(inspected.counts(), /not open|closed/i);
  });
});
