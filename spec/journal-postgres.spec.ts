import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { createUpgradeDashboard, type SwUpgradeResultNotify, type UpgradeRouter } from 'huawei-iot-upgrade-router';
import { postgresJournal } from 'huawei-iot-upgrade-router/postgres';
import { createPlatformClient } from 'huawei-iot-upgrade-router/platform';
import { startPlatformEmulator } from 'huawei-iot-upgrade-router/emulator';
import { createReconciler, type Reconciler } from 'huawei-iot-upgrade-router/reconcile';
import { CALLBACK_PATH, fresh, mountedApp } from './helpers';
import { runBin, tempFolder } from './support/journal';
import { tick, until } from './support/wait';
import { PostgresServer } from './support/postgres-server';
import { ReceiverProcess } from './support/receiver-process';

const push = (): SwUpgradeResultNotify => ({ ...fresh('success'), deviceId: randomUUID() });

describe('the Postgres journal, shared by several instances', function () {
  this.timeout(60_000);
  let folder: ReturnType<typeof tempFolder>;
  let postgres: PostgresServer;
  let out: string;
  const routers: UpgradeRouter[] = [];
  const processes: ReceiverProcess[] = [];

  before(async function () {
    this.timeout(60_000);
    folder = tempFolder('postgres-');
    postgres = await PostgresServer.start(folder.dir);
  });
  after(async () => {
    await postgres.stop();
    folder.remove();
  });
  beforeEach(async () => {
    out = join(folder.dir, `results-${randomUUID()}.txt`);
    await postgres.query('DROP TABLE IF EXISTS huawei_iot_upgrade_journal');
  });
  afterEach(async () => {
    for (const router of routers.splice(0)) await router.close(1000);
    for (const receiver of processes.splice(0)) await receiver.kill();
  });

  const state = async (deviceId: string): Promise<string | undefined> =>
    (await postgres.query<{ state: string }>('SELECT state FROM huawei_iot_upgrade_journal WHERE device_id = $1', [deviceId]))[0]?.state;
  const written = (): string[] => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter((line) => line !== '') : []);
  const startReceiver = async (env: Record<string, string> = {}): Promise<ReceiverProcess> => {
    const receiver = await ReceiverProcess.start({ JOURNAL: `postgres:${postgres.url}`, OUT_FILE: out, ...env });
    processes.push(receiver);
    return receiver;
  };
  const mount = (options: Parameters<typeof mountedApp>[0] = {}) => {
    const mounted = mountedApp({ journal: postgresJournal({ connectionString: postgres.url, spill: join(folder.dir, 'spill') }), ...options });
    routers.push(mounted.upgrades);
    return mounted;
  };

  it('commits before the 200, retries, buries, and the bin lists and replays what is dead', async () => {
    const { app, upgrades } = mount({ delivery: { backoffMs: 20, attempts: 2 } });
    let broken = true;
    const seen: Array<{ id: string | undefined; attempt: number | undefined }> = [];
    upgrades.on('upgradeResult', (_notification, context) => {
      seen.push({ id: context.id, attempt: context.attempt });
      if (broken) throw new Error('the downstream API is down');
    });
    upgrades.on('error', () => {});
    const notification = push();
    await request(app).post(CALLBACK_PATH).send(notification).expect(200);
    assert.ok((await state(notification.deviceId)) !== undefined, 'committed before the answer');
    await until(async () => (await state(notification.deviceId)) === 'dead', 'the entry to be dead');
    assert.deepEqual(
      seen.map((delivery) => delivery.attempt),
      [1, 2],
    );
    const dead = await runBin(['journal', '--postgres', postgres.url, 'dead']);
    assert.match(dead.stdout, new RegExp(`^${seen[0]?.id}\\tswUpgradeResultNotify\\t${notification.deviceId}\\t2 attempts\\tthe downstream API is down$`, 'm'));
    broken = false;
    const replayed = await runBin(['journal', 'replay', String(seen[0]?.id)], { DATABASE_URL: postgres.url });
    assert.equal(replayed.code, 0, replayed.stderr);
    await until(async () => (await state(notification.deviceId)) === 'done', 'the replayed entry to be done');
    await request(app).post(CALLBACK_PATH).send(notification).expect(200);
    assert.equal(upgrades.stats().events.duplicate, 1);
  });

  it('journals invalid pushes and, with dedupe: false, repeats as new; the bin reports stats, invalid, replay --dead', async () => {
    const { app, upgrades } = mount({ dedupe: false, delivery: { attempts: 1 } });
    let broken = true;
    const seen: string[] = [];
    upgrades.on('upgradeResult', (_notification, context) => {
      seen.push(String(context.id));
      if (broken) throw new Error('down');
    });
    upgrades.on('error', () => {});
    const notification = push();
    // Together, so that one group holds notifications and invalid pushes.
    await Promise.all([
      request(app).post(CALLBACK_PATH).send(notification).expect(200),
      request(app).post(CALLBACK_PATH).send(notification).expect(200),
      request(app).post(CALLBACK_PATH).set('Content-Type', 'application/json').send('{"notifyType":').expect(200),
      request(app).post(CALLBACK_PATH).send({ notifyType: 'swUpgradeResultNotify', deviceId: 'x' }).expect(200),
    ]);
    await until(async () => (await postgres.query(`SELECT id FROM huawei_iot_upgrade_journal WHERE state = 'dead'`)).length === 2, 'both copies to be dead');
    assert.equal(new Set(seen).size, 2, 'dedupe: false: two entries');
    const invalid = await runBin(['journal', '--postgres', postgres.url, 'invalid']);
    assert.deepEqual(
      invalid.stdout
        .trim()
        .split('\n')
        .map((line) => line.split('\t')[3])
        .sort(),
      ['malformed', 'schema'],
    );
    const stats = await runBin(['journal', '--postgres', postgres.url, 'stats']);
    assert.match(stats.stdout, /^dead\t2$/m);
    assert.match(stats.stdout, /^invalid\t2$/m);
    assert.equal((await runBin(['journal', '--postgres', postgres.url, 'replay', 'not-an-id'])).code, 1);
    broken = false;
    assert.equal((await runBin(['journal', '--postgres', postgres.url, 'replay', '--dead'])).stdout.trim(), 'replayed 2 dead entries');
    await until(async () => (await postgres.query(`SELECT id FROM huawei_iot_upgrade_journal WHERE state = 'done'`)).length === 2, 'both to be delivered');
    assert.deepEqual((await runBin(['journal', '--postgres', postgres.url, '--db', 'x.db', 'stats'])).stderr.trim(), 'huawei-iot-upgrade-router: give --db or --postgres, not both (see --help)');
  });

  /** Entries not yet done (waiting, being delivered or waiting for a retry) in the shared table. */
  const openEntries = async (): Promise<number> =>
    Number((await postgres.query<{ open: string }>(`SELECT count(*) AS open FROM huawei_iot_upgrade_journal WHERE state = 'pending'`))[0]?.open);

  it('an instance killed with deliveries pending: another delivers them once the lease has run out, not before', async () => {
    const lease = 2000;
    const survivor = await startReceiver({ LEASE_MS: String(lease), DELAY_MS: '0' });
    const doomed = await startReceiver({ LEASE_MS: String(lease), DELAY_MS: '10000' });
    const pushes = Array.from({ length: 20 }, push);
    for (const notification of pushes) assert.equal(await doomed.post(notification), 200);
    await doomed.kill();
    const killedAt = Date.now();
    // eslint-disable-next-line no-restricted-syntax -- the lease is time itself: nothing may be taken over before half of it has passed
    await tick(lease / 2);
    assert.deepEqual(written(), [], 'taken over before the lease ran out');
    await until(() => pushes.every((notification) => written().includes(notification.deviceId)), 'the survivor to deliver them');
    const tookOver = Date.now() - killedAt;
    // Leases are renewed every third of a lease: the last renewal came up to a third before the kill.
    assert.ok(tookOver >= lease - lease / 3 - 100, `delivered ${tookOver} ms after the kill, before the lease renewed last ran out`);
    assert.equal(written().length, 20);
    assert.equal(survivor.child.exitCode, null);
  });

  it('a slow listener keeps its lease (renewed), so no other instance delivers its entry twice', async () => {
    const lease = 2000;
    const slow = await startReceiver({ LEASE_MS: String(lease), DELAY_MS: String(lease * 2) });
    await startReceiver({ LEASE_MS: String(lease), DELAY_MS: '0' });
    const pushes = Array.from({ length: 5 }, push);
    for (const notification of pushes) assert.equal(await slow.post(notification), 200);
    await until(() => written().length === 5, 'the slow deliveries');
    // Once every entry is done nothing can start it again: a second delivery is in the file by then.
    await until(async () => (await openEntries()) === 0, 'every entry to be marked done');
    assert.deepEqual([...written()].sort(), pushes.map((notification) => notification.deviceId).sort());
  });

  it('the same push raced to two instances is delivered once (and committing overlapping keys does not deadlock)', async () => {
    const a = await startReceiver();
    const b = await startReceiver();
    const pushes = Array.from({ length: 40 }, push);
    // Each push to both at once, all pushes together: groups with overlapping keys commit concurrently.
    const statuses = await Promise.all(pushes.flatMap((notification) => [a.post(notification), b.post(notification)]));
    assert.ok(statuses.every((status) => status === 200));
    await until(() => written().length >= 40, 'the deliveries');
    await until(async () => (await openEntries()) === 0, 'every entry to be marked done');
    assert.equal(written().length, 40);
    assert.equal(new Set(written()).size, 40);
  });

  it('Postgres stopped mid-run: pushes are answered 200, kept in the spill, and delivered from the journal once it is back', async () => {
    const { app, upgrades } = mount();
    const delivered: string[] = [];
    const errors: string[] = [];
    upgrades.on('upgradeResult', (notification) => void delivered.push(notification.deviceId));
    upgrades.on('error', (error) => void errors.push(error.message));
    const before = push();
    await request(app).post(CALLBACK_PATH).send(before).expect(200);
    await postgres.stop();
    const whileDown = Array.from({ length: 3 }, push);
    try {
      for (const notification of whileDown) await request(app).post(CALLBACK_PATH).send(notification).expect(200);
      assert.match(errors.join('\n'), /the postgres journal could not commit 1 pushes: kept in .*spill/);
      // eslint-disable-next-line no-restricted-syntax -- a negative check: the wait bounds how long a second outcome is looked for; it cannot fail a correct router
      await tick(300);
      // Not delivered from memory: a listener that failed now, or a crash, would lose them.
      assert.ok(whileDown.every((notification) => !delivered.includes(notification.deviceId)), 'delivered from memory');
      assert.equal(upgrades.stats().journal?.spilled, 3);
    } finally {
      await postgres.restart();
    }
    await until(async () => (await Promise.all(whileDown.map((n) => state(n.deviceId)))).every((s) => s === 'done'), 'the spilled pushes to be moved and delivered');
    assert.equal(delivered.filter((id) => whileDown.some((n) => n.deviceId === id)).length, 3);
    assert.equal(upgrades.stats().journal?.moved, 3);
    const after = push();
    await request(app).post(CALLBACK_PATH).send(after).expect(200);
    await until(async () => (await state(after.deviceId)) === 'done', 'the push after the restart to be journaled and done');
  });

  it('kill -9 during an outage loses nothing: the spill survives and the next start moves and delivers it', async function () {
    this.timeout(60_000);
    const spill = join(folder.dir, `spill-${randomUUID()}`);
    // The listener takes 3 s, so the kill falls before any delivery from memory could have finished.
    const run = async (withSpill: boolean): Promise<{ answered: string[]; delivered: string[]; restarted: ReceiverProcess }> => {
      await postgres.query('DROP TABLE IF EXISTS huawei_iot_upgrade_journal');
      out = join(folder.dir, `results-${randomUUID()}.txt`);
      const env = { DELAY_MS: '3000', SPILL: withSpill ? spill : '' };
      const first = await startReceiver(env);
      assert.equal(await first.post(push()), 200, 'the table exists before the outage');
      await postgres.stop();
      const answered: string[] = [];
      try {
        for (let i = 0; i < 30; i += 1) {
          const notification = push();
          if ((await first.post(notification)) === 200) answered.push(notification.deviceId);
        }
        await first.kill();
      } finally {
        await postgres.restart();
      }
      const restarted = await startReceiver({ ...env, DELAY_MS: '0' });
      // The restarted receiver is up and delivering: a push of its own comes through. (The spilled run
      // then waits for every answered push below; the control has nothing it could still deliver.)
      const marker = push();
      assert.equal(await restarted.post(marker), 200);
      await until(() => written().includes(marker.deviceId), 'a push to the restarted receiver to be delivered');
      return { answered, delivered: written(), restarted };
    };
    const control = await run(false);
    assert.equal(control.answered.length, 30);
    assert.ok(control.answered.every((id) => !control.delivered.includes(id)), 'the control (no spill) should lose what it delivered from memory');
    // The control's receiver shares the table: left running, it claimed some of the next run's entries
    // and wrote them to the control's results file (the test timed out waiting for them).
    await control.restarted.kill();
    const spilled = await run(true);
    assert.equal(spilled.answered.length, 30);
    await until(() => spilled.answered.every((id) => written().includes(id)), 'every push answered during the outage to be delivered after the restart');
    assert.deepEqual(readdirSync(spill), [], 'the spill is emptied once moved');
  });

  it('replay of an entry another instance is delivering is refused; the count goes on after it', async () => {
    const starts = join(folder.dir, `starts-${randomUUID()}.txt`);
    // Its listener holds the delivery until released: the refusal below cannot race its end.
    const slow = await startReceiver({ HOLD: '1', START_FILE: starts });
    const notification = push();
    assert.equal(await slow.post(notification), 200);
    await until(() => existsSync(starts), 'the delivery to start');
    const [{ id }] = (await postgres.query<{ id: string }>('SELECT id FROM huawei_iot_upgrade_journal WHERE device_id = $1', [notification.deviceId])) as [{ id: string }];
    const refused = await runBin(['journal', '--postgres', postgres.url, 'replay', id]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /it is being delivered now/);
    slow.release();
    await until(async () => (await state(notification.deviceId)) === 'done', 'the delivery to end');
    const again = await runBin(['journal', '--postgres', postgres.url, 'replay', id, '--again']);
    assert.equal(again.code, 0, again.stderr);
    await until(() => readFileSync(starts, 'utf8').trim().split('\n').length === 2, 'the replay');
    assert.deepEqual(readFileSync(starts, 'utf8').trim().split('\n'), [`${notification.deviceId} 1`, `${notification.deviceId} 2`]);
  });

  it('the dashboard follows an entry committed far behind the last one it read', async () => {
    const { upgrades } = mount();
    const journal = postgresJournal({ connectionString: postgres.url, spill: false });
    const { createUpgradeDashboard } = await import('huawei-iot-upgrade-router');
    const dashboard = createUpgradeDashboard({ router: upgrades, journal });
    try {
      await upgrades.receive(push());
      await until(() => dashboard.tasks().length > 0, 'the first push on the dashboard');
      // Another instance's transaction took ids 2..2001 and commits after the ones above it are read.
      await postgres.query(`SELECT setval('huawei_iot_upgrade_journal_id_seq', 3000)`);
      await upgrades.receive(push());
      await until(() => dashboard.tasks().reduce((n, task) => n + task.devices, 0) === 2, 'the second push');
      const late = push();
      await postgres.query(
        `INSERT INTO huawei_iot_upgrade_journal (id, state, dedupe_key, event, notify_type, device_id, body, received_at) VALUES (2, 'done', 'late', 'upgradeResult', 'swUpgradeResultNotify', $1, $2, now())`,
        [late.deviceId, JSON.stringify(late)],
      );
      await until(() => dashboard.tasks().reduce((n, task) => n + task.devices, 0) === 3, 'the late commit on the dashboard');
    } finally {
      dashboard.close();
      await journal.close();
    }
  });

  it('prunes in batches of 1 000: never one statement over every old row', async () => {
    const journal = postgresJournal({ connectionString: postgres.url, spill: false });
    try {
      await journal.counts();
      await postgres.query(
        `INSERT INTO huawei_iot_upgrade_journal (state, event, body, received_at, updated_at) SELECT 'done', 'upgradeResult', '{}', now() - interval '40 days', now() - interval '40 days' FROM generate_series(1, 2500)`,
      );
      assert.equal(await journal.prune(30, 1000), 1000);
      assert.equal(await journal.prune(30, 1000), 1000);
      assert.equal(await journal.prune(30, 1000), 500);
    } finally {
      await journal.close();
    }
  });

  it('the journal command on Postgres: show, pending, stats --task, replay of an invalid push, discard', async () => {
    const { app, upgrades } = mount({ allow: { token: 'right' } });
    upgrades.on('invalid', () => {});
    const refused = push();
    await request(app).post(`${CALLBACK_PATH}?token=wrong`).send(refused).expect(200);
    const [{ id }] = (await postgres.query<{ id: string }>(`SELECT id FROM huawei_iot_upgrade_journal WHERE state = 'invalid'`)) as [{ id: string }];
    const shown = await runBin(['journal', '--postgres', postgres.url, 'show', id]);
    assert.match(shown.stdout, /^reason\tforbidden$/m);
    assert.match(shown.stdout, /^bytes received\t\d+$/m);
    const replayed = await runBin(['journal', '--postgres', postgres.url, 'replay', id]);
    assert.equal(replayed.code, 0, replayed.stderr);
    // Nobody listens yet: it waits, and the command lists it.
    const pending = await runBin(['journal', '--postgres', postgres.url, 'pending']);
    assert.match(pending.stdout, new RegExp(`^${id}\tupgradeResult\t${refused.deviceId}\t0 attempts\twaiting$`, 'm'));
    const task = await runBin(['journal', '--postgres', postgres.url, 'stats', '--task', refused.operationId]);
    assert.match(task.stdout, /^pending\t1$/m);
    const stats = await runBin(['journal', '--postgres', postgres.url, 'stats']);
    assert.match(stats.stdout, /^pending upgradeResult\t1$/m);
    const discarded = await runBin(['journal', '--postgres', postgres.url, 'discard', 'upgradeResult']);
    assert.equal(discarded.stdout.trim(), "discarded 1 pending 'upgradeResult' entries");
    const again = await runBin(['journal', '--postgres', postgres.url, 'replay', id]);
    assert.match(again.stderr, /add --again/);
    // The same push refused twice and replayed twice: the second is the first one's duplicate.
    await request(app).post(`${CALLBACK_PATH}?token=wrong`).send(refused).expect(200);
    const [second] = (await postgres.query<{ id: string }>(`SELECT id FROM huawei_iot_upgrade_journal WHERE state = 'invalid'`)) as [{ id: string }];
    const duplicate = await runBin(['journal', '--postgres', postgres.url, 'replay', second.id]);
    assert.match(duplicate.stderr, new RegExp(`the same push as entry ${id}`));
  });

  it('keeps the duplicate window to dedupe.ttl, and answers the operator calls for entries that are not there', async () => {
    const { app, upgrades } = mount({ dedupe: { ttl: 800 } });
    const seen: string[] = [];
    let duplicates = 0;
    upgrades.on('upgradeResult', (notification) => void seen.push(notification.deviceId));
    upgrades.on('duplicate', () => void (duplicates += 1));
    upgrades.on('invalid', () => {});
    const notification = push();
    // Sent together: received within the window however long a loaded machine takes to commit the first.
    await Promise.all([request(app).post(CALLBACK_PATH).send(notification).expect(200), request(app).post(CALLBACK_PATH).send(notification).expect(200)]);
    await until(() => seen.length === 1 && duplicates === 1, () => `one delivered, one duplicate (${seen.length} delivered, ${duplicates} duplicates)`);
    // eslint-disable-next-line no-restricted-syntax -- the duplicate window (dedupe.ttl) is time itself
    await tick(900);
    // With an invalid push in the same group: the group commits in one transaction.
    await Promise.all([request(app).post(CALLBACK_PATH).send(notification).expect(200), request(app).post(CALLBACK_PATH).send('{bad').set('Content-Type', 'application/json').expect(200)]);
    await until(() => seen.length === 2, () => `the repeat after the window, delivered as new (${seen.length} delivered, ${duplicates} duplicates)`);
    assert.equal(duplicates, 1);
    const entries = await postgres.query<{ id: string; dedupe_key: string | null }>('SELECT id, dedupe_key FROM huawei_iot_upgrade_journal WHERE device_id = $1 ORDER BY id', [notification.deviceId]);
    assert.equal(entries.length, 2);
    assert.equal(entries[0]?.dedupe_key, null, 'the old entry gave its key up');
    const journal = postgresJournal({ connectionString: postgres.url, spill: false });
    try {
      assert.equal(await journal.get('x'), undefined);
      assert.equal(await journal.get('999999'), undefined);
      assert.equal(await journal.replay('999999'), 'missing');
      assert.equal(await journal.replay('x'), 'missing');
      const [invalid] = await journal.list('invalid', 1);
      assert.equal(await journal.replay(invalid?.id ?? ''), 'invalid');
      assert.equal(await journal.reviveInvalid('999999', { key: null, event: 'upgradeResult', notifyType: 'swUpgradeResultNotify', deviceId: 'd', body: '{}' }), 'missing');
      assert.equal(await journal.reviveDead('upgradeResult'), 0);
    } finally {
      await journal.close();
    }
  });
  it('reconciliation: one instance calls the platform, pass after pass; a lock whose connection ends is dropped at once and taken over', async () => {
    const emulator = await startPlatformEmulator({ speed: 50, devices: { durationMs: 10_000, failureRatio: 0.2 } });
    const clients = [0, 1].map(() => createPlatformClient({ url: emulator.url, appId: emulator.appId, secret: emulator.secret }));
    const errors: Error[] = [];
    const mounted = clients.map(() => mount());
    const reconcilers = clients.map((client, i) => {
      const { upgrades } = mounted[i] as ReturnType<typeof mount>;
      upgrades.on('error', (error) => void errors.push(error));
      return createReconciler({ router: upgrades, client, now: () => emulator.now(), schedule: false });
    });
    const [first, second] = reconcilers as [Reconciler, Reconciler];
    const lockHolders = async (): Promise<number[]> =>
      (
        await postgres.query<{ pid: number }>(
          `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid::bigint = (hashtext('huawei_iot_upgrade_journal:reconcile')::bigint & 4294967295)`,
        )
      ).map((row) => row.pid);
    try {
      emulator.addDeviceGroup('g', Array.from({ length: 30 }, (_, i) => `meter-${i}`));
      const { operationId } = await clients[0]?.createSoftwareUpgradeTask({ fileId: emulator.packages.software.fileId, targets: { deviceGroups: ['g'], deviceType: 'WaterMeter', model: 'NBIoTDevice', manufacturerName: 'Huawei' } }) ?? { operationId: '' };
      // Pass after pass, the first instance keeps the lock: the second never calls the platform.
      for (let pass = 0; pass < 3; pass += 1) {
        assert.ok((await first.reconcileAll()) !== undefined, `pass ${pass} of the first instance ran`);
        assert.equal(await second.reconcileAll(), undefined, `pass ${pass} of the second instance was skipped`);
      }
      // (In one process the two clients share a session anyway; across processes each would log in.)
      assert.equal(second.stats().calls, 0, 'the second instance never called the platform');
      // Nor does its dashboard: the devices waiting on the platform are the first instance's to read.
      const secondApp = mounted[1]?.app;
      assert.ok(secondApp !== undefined);
      const dashboard = createUpgradeDashboard({ router: mounted[1]?.upgrades as UpgradeRouter });
      secondApp.use('/upgrades', dashboard);
      try {
        await assert.rejects(dashboard.neverPushed(operationId), { code: 'ERR_RECONCILE_LOCK_HELD' });
        const answered = await request(secondApp).get(`/upgrades/api/tasks/${operationId}/not-reported`).expect(503);
        assert.match((answered.body as { error: string }).error, /another instance holds the reconciliation lock/);
        assert.equal(second.stats().calls, 0);
      } finally {
        dashboard.close();
      }
      assert.equal((await lockHolders()).length, 1);

      // The lock's connection ends while a pass waits on a slow platform: the pass stops calling at once.
      first.track(operationId);
      emulator.inject({ kind: 'slow', delayMs: 1500, path: `/iodm/northbound/v1.5.0/operations/${operationId}` });
      const cut = first.reconcileAll();
      await until(() => first.stats().progress?.operationId === operationId, 'the first pass to reach the task');
      await postgres.query('SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = $1 AND granted', ['advisory']);
      await cut;
      await until(
        () => errors.some((error) => /the reconciliation lock was lost/.test(error.message)),
        () => `the lost lock to be reported: ${JSON.stringify({ errors: errors.map((error) => error.message), stats: first.stats() })}`,
      );
      const callsAfterLoss = first.stats().calls;
      // The second instance takes the lock over; the first is now the one skipped.
      second.track(operationId);
      assert.ok((await second.reconcileAll()) !== undefined, 'the second instance took over');
      assert.equal(await first.reconcileAll(), undefined);
      assert.equal(first.stats().calls, callsAfterLoss, 'no platform call without the lock');
    } finally {
      for (const reconciler of reconcilers) await reconciler.close();
      for (const client of clients) await client.close();
      await emulator.close();
    }
  });

  it('reconciliation: one instance at a time (an advisory lock), each device filled in once across instances', async () => {
    const emulator = await startPlatformEmulator({ speed: 50, devices: { durationMs: 10_000, failureRatio: 0.2 } });
    const client = createPlatformClient({ url: emulator.url, appId: emulator.appId, secret: emulator.secret });
    try {
      emulator.addDeviceGroup('g', Array.from({ length: 150 }, (_, i) => `meter-${i}`));
      const { operationId } = await client.createSoftwareUpgradeTask({ fileId: emulator.packages.software.fileId, targets: { deviceGroups: ['g'], deviceType: 'WaterMeter', model: 'NBIoTDevice', manufacturerName: 'Huawei' } });
      for (let minute = 0; minute < 14; minute += 1) emulator.advance(60_000);
      await emulator.settled();
      const heard = new Map<string, number>();
      const instances = [mount(), mount()].map(({ upgrades }) => {
        upgrades.on('reconciledResult', (result) => void heard.set(result.subOperationId, (heard.get(result.subOperationId) ?? 0) + 1));
        return createReconciler({ router: upgrades, client, now: () => emulator.now(), schedule: false, tasks: [operationId] });
      });
      const [first, second] = instances as [Reconciler, Reconciler];
      // The first pass holds the lock while the platform answers slowly; the second finds it held.
      emulator.inject({ kind: 'slow', delayMs: 800, path: `/iodm/northbound/v1.5.0/operations/${operationId}` });
      const firstPass = first.reconcileAll();
      await until(async () => (await postgres.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid::bigint = (hashtext('huawei_iot_upgrade_journal:reconcile')::bigint & 4294967295)`)).length === 1, 'the first pass to hold the reconciliation lock');
      assert.equal(await second.reconcileAll(), undefined);
      assert.equal(second.stats().skipped, 1);
      await assert.rejects(second.reconcile(operationId), /another instance holds the reconciliation lock/);
      const [report] = (await firstPass) ?? [];
      assert.equal(report?.filledNow, 150);
      // The first keeps the lock between passes (one northbound session), until its reconciler closes.
      assert.equal(await second.reconcileAll(), undefined);
      await first.close();
      // Then the second takes over and finds every result in the shared journal: nothing twice.
      const [again] = (await second.reconcileAll()) ?? [];
      assert.equal(again?.filledNow, 0);
      assert.equal(again.filledIn, 150);
      await until(() => heard.size === 150, 'every filled-in result delivered');
      await until(async () => (await openEntries()) === 0, 'every entry to be marked done');
      assert.ok([...heard.values()].every((count) => count === 1));
      // The index is built in the background, CONCURRENTLY; one left invalid (a build cut off) is built again.
      const valid = async (): Promise<boolean | undefined> =>
        (await postgres.query<{ valid: boolean }>(`SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'huawei_iot_upgrade_journal_results'`))[0]?.valid;
      await until(async () => (await valid()) === true, 'the results index');
      await postgres.query(`UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'huawei_iot_upgrade_journal_results'::regclass`);
      const another = postgresJournal({ connectionString: postgres.url, spill: false });
      await another.counts();
      await until(async () => (await valid()) === true, 'the invalid index built again');
      await another.close();
      for (const instance of instances) await instance.close();
    } finally {
      await client.close();
      await emulator.close();
    }
  });
});
