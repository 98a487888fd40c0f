// The spill, in one process: a journal whose commits fail, the pushes answered
// meanwhile kept in the spill folder and moved into the journal once it commits again; a file left
// by a process that is gone (killed mid-line) moved at start.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import request from 'supertest';
import type { Journal, SwUpgradeResultNotify, UpgradeRouter } from 'huawei-iot-upgrade-router';
import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import { CALLBACK_PATH, fresh, mountedApp } from './helpers';
import { tempFolder } from './support/journal';
import { tick, until } from './support/wait';

const push = (): SwUpgradeResultNotify => ({ ...fresh('success'), deviceId: randomUUID() });

describe('the spill: pushes answered while the journal fails are kept, then moved into it', function () {
  let folder: ReturnType<typeof tempFolder>;
  const routers: UpgradeRouter[] = [];
  const cleanups: Array<() => void> = [];
  beforeEach(() => {
    folder = tempFolder('spill-');
  });
  afterEach(async () => {
    for (const router of routers.splice(0)) await router.close(1000);
    for (const cleanup of cleanups.splice(0)) cleanup();
    folder.remove();
  });

  it('keeps them through an outage, moves a dead process file at start, and delivers each once the journal commits', async () => {
    const spill = join(folder.dir, 'spill');
    mkdirSync(spill);
    // A process that is gone left two records and a line cut short by its kill (never answered 200).
    const left = [push(), push()];
    const line = (notification: SwUpgradeResultNotify) =>
      JSON.stringify({
        kind: 'notification',
        key: randomUUID(),
        event: 'upgradeResult',
        notifyType: notification.notifyType,
        deviceId: notification.deviceId,
        body: JSON.stringify(notification),
        ip: null,
        receivedAt: new Date().toISOString(),
        leased: true,
      });
    writeFileSync(join(spill, '99999999-0badc0de-1.spill'), `${left.map(line).join('\n')}\n{"kind":"notifica`);
    // Not ours to take: a file of another name, and the file of a writer that is alive: it answers on
    // its lock (a Unix socket named after its token), whatever its pid.
    writeFileSync(join(spill, 'notes.txt'), 'kept');
    writeFileSync(join(spill, '1-a11ce000-1.spill'), `${line(push())}\n`);
    const liveWriter = createServer((socket) => socket.destroy()).listen(join(spill, 'a11ce000.lock'));
    await once(liveWriter, 'listening');
    cleanups.push(() => void liveWriter.close());
    const real = sqliteJournal({ path: join(folder.dir, 'upgrades.db') });
    let down = true;
    const failing: Journal = {
      ...real,
      spill,
      append: (records, completed, window) => (down ? Promise.reject(new Error('the database is down')) : real.append(records, completed, window)),
    };
    const { app, upgrades } = mountedApp({ journal: failing });
    routers.push(upgrades);
    const delivered: string[] = [];
    const errors: string[] = [];
    upgrades.on('upgradeResult', (notification) => void delivered.push(notification.deviceId));
    upgrades.on('error', (error) => void errors.push(error.message));
    upgrades.on('invalid', () => {});
    const during = [push(), push(), push()];
    for (const notification of during) await request(app).post(CALLBACK_PATH).send(notification).expect(200);
    // An invalid push is kept too.
    await request(app).post(CALLBACK_PATH).send('{bad').set('Content-Type', 'application/json').expect(200);
    // eslint-disable-next-line no-restricted-syntax -- a negative check: the wait bounds how long a second outcome is looked for; it cannot fail a correct router
    await tick(1500);
    assert.equal(delivered.length, 0, 'delivered from memory, or moved while the journal was down');
    assert.equal(upgrades.stats().journal?.spilled, 4);
    assert.match(errors.join('\n'), /could not commit 1 pushes: kept in .*spill/);
    down = false;
    const all = [...left, ...during];
    await until(() => all.every((notification) => delivered.includes(notification.deviceId)), 'every kept push to be delivered');
    assert.equal(delivered.length, 5);
    assert.equal(upgrades.stats().journal?.moved, 6);
    await until(() => readdirSync(spill).filter((name) => !name.endsWith('.lock')).sort().join() === '1-a11ce000-1.spill,notes.txt', 'the spill folder to be emptied of what was ours to move');
    assert.equal((await real.list('invalid', 10)).length, 1);
  });

  it('without a spill (spill: false) a failed commit still answers 200 and delivers from memory, once', async () => {
    const real = sqliteJournal({ path: join(folder.dir, 'upgrades.db'), spill: false });
    const failing: Journal = { ...real, append: () => Promise.reject(new Error('the database is down')) };
    const { app, upgrades } = mountedApp({ journal: failing });
    routers.push(upgrades);
    const delivered: string[] = [];
    upgrades.on('upgradeResult', (notification) => void delivered.push(notification.deviceId));
    upgrades.on('error', () => {});
    const notification = push();
    await request(app).post(CALLBACK_PATH).send(notification).expect(200);
    await until(() => delivered.includes(notification.deviceId), 'the delivery from memory');
    assert.equal(upgrades.stats().journal?.spilled, 0);
  });

  it('the receiver journal offers the operator reads too', async () => {
    const journal = sqliteJournal({ path: join(folder.dir, 'upgrades.db') });
    const { app, upgrades } = mountedApp({ journal });
    routers.push(upgrades);
    const notification = push();
    await request(app).post(CALLBACK_PATH).send(notification).expect(200);
    await until(async () => (await journal.counts()).pending === 1, 'the pending entry');
    const [entry] = await journal.list('pending', 10);
    assert.ok(entry !== undefined);
    assert.equal(entry.deviceId, notification.deviceId);
    assert.equal((await journal.get(entry.id))?.event, 'upgradeResult');
    assert.equal(await journal.get('nope'), undefined);
    assert.deepEqual(await journal.taskCounts(notification.operationId), { pending: 1 });
    assert.equal((await journal.notificationsIn([entry.id])).length, 1);
    assert.equal(await journal.replay('nope'), 'missing');
    assert.equal(await journal.discard('upgradeResult'), 1);
    assert.equal(await journal.reviveDead('upgradeResult'), 0);
    assert.equal(await journal.replayDead(), 0);
  });

  it('a delivery whose end could not be committed is delivered again once its lease has run out, not before', async () => {
    const real = sqliteJournal({ path: join(folder.dir, 'upgrades.db'), leaseMs: 2000 });
    let failures = 1;
    const flaky: Journal = {
      ...real,
      complete: (ids) => (failures-- > 0 ? Promise.reject(new Error('disk I/O error')) : real.complete(ids)),
    };
    const { upgrades } = mountedApp({ journal: flaky });
    routers.push(upgrades);
    const attempts: Array<number | undefined> = [];
    upgrades.on('upgradeResult', (_notification, context) => void attempts.push(context.attempt));
    upgrades.on('error', () => {});
    await upgrades.receive(push());
    await until(() => attempts.length === 1, 'the first delivery');
    // eslint-disable-next-line no-restricted-syntax -- the lease is time itself: no second delivery before it has run out
    await tick(1000);
    assert.equal(attempts.length, 1, 'delivered again before the lease ran out');
    await until(() => attempts.length === 2, 'the delivery again after the lease');
    assert.deepEqual(attempts, [1, 2]);
    await until(async () => (await real.counts()).pending === 0, 'the entry to be done');
  });
});
