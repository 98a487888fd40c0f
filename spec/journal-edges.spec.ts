// Issue 18: the journal's promise at its edges — the operator's own tools, clock steps, outages, big
// backlogs. Each spec here failed on the main before it (lost or doubled deliveries, or a crash).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import request from 'supertest';
import { createUpgradeRouter, retryWindowMs, type DeviceDelivered, type Journal, type SwUpgradeResultNotify, type SwUpgradeStateChangeNotify, type UpgradeRouter } from 'huawei-iot-upgrade-router';
import { createUpgradeDashboard } from 'huawei-iot-upgrade-router';
import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import { CALLBACK_PATH, fresh, mountedApp } from './helpers';
import { runBin, tempFolder } from './support/journal';
import { CEILING_MS, tick, until } from './support/wait';
import { ReceiverProcess } from './support/receiver-process';

const result = (): SwUpgradeResultNotify => ({ ...fresh('success'), deviceId: randomUUID() });
const stateFixture = readFileSync(join(__dirname, 'fixtures', 'sw-upgrade-state-change-notify', 'downloading.json'), 'utf8');
const state = (): SwUpgradeStateChangeNotify => ({ ...(JSON.parse(stateFixture) as SwUpgradeStateChangeNotify), deviceId: randomUUID() });
const quiet = { error: () => {}, warn: () => {} };

describe('the journal at its edges', function () {
  let folder: ReturnType<typeof tempFolder>;
  let path: string;
  const routers: UpgradeRouter[] = [];
  const processes: ReceiverProcess[] = [];

  beforeEach(() => {
    folder = tempFolder('edges-');
    path = join(folder.dir, 'upgrades.db');
  });
  afterEach(async () => {
    for (const router of routers.splice(0)) await router.close(1000);
    for (const receiver of processes.splice(0)) await receiver.kill();
    folder.remove();
  });

  const mount = (options: Parameters<typeof mountedApp>[0] = {}, journal: Journal = sqliteJournal({ path })) => {
    const mounted = mountedApp({ journal, ...options });
    routers.push(mounted.upgrades);
    return mounted;
  };
  const post = (app: Parameters<typeof request>[0], body: unknown) => request(app).post(CALLBACK_PATH).send(body as object);
  const rows = (where = '1 = 1') => {
    const db = new Database(path, { readonly: true });
    try {
      return db.prepare(`SELECT id, state, attempts, device_id, event, raw FROM huawei_iot_upgrade_journal WHERE ${where} ORDER BY id`).all() as Array<{
        id: number;
        state: string;
        attempts: number;
        device_id: string | null;
        event: string | null;
        raw: Buffer | null;
      }>;
    } finally {
      db.close();
    }
  };
  const lines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((line) => line !== '') : []);
  const startReceiver = async (env: Record<string, string>): Promise<ReceiverProcess> => {
    const receiver = await ReceiverProcess.start(env);
    processes.push(receiver);
    return receiver;
  };

  describe('one receiver per SQLite file; the journal command never takes a delivery over', () => {
    it('refuses a second receiver on the same file, in this process and in another', async () => {
      const first = sqliteJournal({ path });
      try {
        assert.throws(() => sqliteJournal({ path }), /is in use by another receiver .* one receiver per file/);
        const out = join(folder.dir, 'out.txt');
        await assert.rejects(ReceiverProcess.start({ JOURNAL: `sqlite:${path}`, OUT_FILE: out }), /ended before it listened/);
      } finally {
        await first.close();
      }
      // Released at close, and by the operating system when a holder dies.
      await sqliteJournal({ path }).close();
      const out = join(folder.dir, 'out.txt');
      const holder = await startReceiver({ JOURNAL: `sqlite:${path}`, OUT_FILE: out });
      assert.throws(() => sqliteJournal({ path }), /in use by another receiver/);
      await holder.kill();
      await sqliteJournal({ path }).close();
    });

    it('`journal stats` run again and again beside a receiver whose deliveries are in progress: each push delivered once, as attempt 1', async () => {
      const out = join(folder.dir, 'out.txt');
      const starts = join(folder.dir, 'starts.txt');
      const receiver = await startReceiver({ JOURNAL: `sqlite:${path}`, OUT_FILE: out, START_FILE: starts, HOLD: '1' });
      const pushes = Array.from({ length: 3 }, result);
      for (const push of pushes) assert.equal(await receiver.post(push), 200);
      await until(() => lines(starts).length === 3, 'the three deliveries to start');
      // Every run of the command falls while the three deliveries are held in their listeners.
      for (let run = 0; run < 8; run += 1) {
        const stats = await runBin(['journal', '--db', path, 'stats']);
        assert.equal(stats.code, 0, stats.stderr);
      }
      receiver.release();
      await until(() => rows("state = 'done'").length === 3, 'the three entries to be marked done');
      assert.deepEqual(lines(starts).sort(), pushes.map((push) => `${push.deviceId} 1`).sort(), 'a delivery was started twice');
      assert.deepEqual(lines(out).sort(), pushes.map((push) => push.deviceId).sort());
    });

    it('the journal command probing again and again never refuses a receiver that starts meanwhile', async () => {
      await sqliteJournal({ path }).close();
      let probing = true;
      let probes = 0;
      const probers = Array.from({ length: 2 }, async () => {
        while (probing) {
          const stats = await runBin(['journal', '--db', path, 'stats']);
          assert.equal(stats.code, 0, stats.stderr);
          probes += 1;
        }
      });
      try {
        // Receivers open and close the journal while the probes run: each start overlaps some probe.
        let starts = 0;
        await until(async () => {
          await sqliteJournal({ path }).close();
          starts += 1;
          return probes >= 20 && starts >= 20;
        }, () => `20 probes and 20 starts (${probes} probes, ${starts} starts)`);
      } finally {
        probing = false;
        await Promise.all(probers);
      }
    });

    it('a SQLite file killed with deliveries in progress is taken over at once by the next receiver', async () => {
      const out = join(folder.dir, 'out.txt');
      // A lease ten times the wait's ceiling: a delivery that waited for it to run out never comes in time.
      const lease = { LEASE_MS: String(10 * CEILING_MS) };
      const doomed = await startReceiver({ JOURNAL: `sqlite:${path}`, OUT_FILE: out, HOLD: '1', ...lease });
      const push = result();
      assert.equal(await doomed.post(push), 200);
      await doomed.kill();
      await startReceiver({ JOURNAL: `sqlite:${path}`, OUT_FILE: out, ...lease });
      await until(() => lines(out).includes(push.deviceId), 'the delivery after the restart, before the lease ran out');
    });
  });

  describe('replay of an entry being delivered', () => {
    it('is refused while it runs, and once it has failed continues the attempt count', async () => {
      const { app, upgrades } = mount({ delivery: { backoffMs: 60_000 } });
      let release: (() => void) | undefined;
      const attempts: number[] = [];
      upgrades.on('upgradeResult', async (_notification, context) => {
        attempts.push(context.attempt ?? 0);
        if (attempts.length === 1) {
          await new Promise<void>((resolve) => (release = resolve));
          throw new Error('the first attempt fails');
        }
      });
      upgrades.on('error', () => {});
      await post(app, result()).expect(200);
      await until(() => release !== undefined, 'the first delivery to start');
      const [entry] = rows();
      const refused = await runBin(['journal', '--db', path, 'replay', String(entry?.id)]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /it is being delivered now/);
      const pending = await runBin(['journal', '--db', path, 'pending']);
      assert.match(pending.stdout, /\tdelivering$/m);
      release?.();
      await until(() => rows()[0]?.attempts === 1 && rows()[0]?.state === 'pending', 'the failure to be recorded');
      let replayed = { code: -1, stderr: '' };
      await until(async () => (replayed = await runBin(['journal', '--db', path, 'replay', String(entry?.id)])).code === 0, () => `the replay to be taken: ${replayed.stderr}`);
      await until(() => rows()[0]?.state === 'done', 'the replay to be delivered');
      assert.deepEqual(attempts, [1, 2]);
    });
  });

  describe('a stepped wall clock (a receiver process with its clock shifted)', () => {
    const receiverWithClock = async (env: Record<string, string>) => {
      const clock = join(folder.dir, 'clock-offset');
      writeFileSync(clock, '0');
      const out = join(folder.dir, 'out.txt');
      const starts = join(folder.dir, 'starts.txt');
      const receiver = await startReceiver({
        JOURNAL: `sqlite:${path}`,
        OUT_FILE: out,
        START_FILE: starts,
        CLOCK_FILE: clock,
        NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --require ${join(__dirname, 'support', 'clock-shift.cjs')}`,
        ...env,
      });
      return { receiver, step: (ms: number) => writeFileSync(clock, String(ms)), out, starts };
    };

    it('a 90 s step forward does not start a second delivery of a slow listener', async () => {
      const { receiver, step, out, starts } = await receiverWithClock({ DELAY_MS: '2500', LEASE_MS: '60000' });
      const push = result();
      assert.equal(await receiver.post(push), 200);
      await until(() => lines(starts).length === 1, 'the delivery to start');
      step(90_000);
      await until(() => lines(out).length === 1, 'the delivery to end');
      // Once the entry is marked done nothing can start it again: whatever second start the step
      // caused is in the file by then.
      await until(() => rows("state = 'done'").length === 1, 'the entry to be marked done');
      assert.deepEqual(lines(starts), [`${push.deviceId} 1`]);
    });

    it('a step of an hour back does not hold a 50 ms retry for an hour', async () => {
      const { receiver, step, out, starts } = await receiverWithClock({ FAIL_FIRST: '1' });
      const push = result();
      step(0);
      assert.equal(await receiver.post(push), 200);
      await until(() => lines(starts).length === 1, 'the first attempt');
      step(-3_600_000);
      await until(() => lines(out).includes(push.deviceId), 'the retry');
      assert.deepEqual(lines(starts), [`${push.deviceId} 1`, `${push.deviceId} 2`]);
    });
  });

  describe('observers are not listeners; what nobody hears is said', () => {
    it('with the dashboard attached, a type nobody listens to stays pending, warns once and is counted', async () => {
      const warnings: string[] = [];
      const { app, upgrades } = mount({ logger: { error: () => {}, warn: (message: string) => void warnings.push(message) } });
      const dashboard = createUpgradeDashboard({ router: upgrades });
      try {
        const delivered: string[] = [];
        upgrades.on('upgradeResult', (notification) => void delivered.push(notification.deviceId));
        const states = [state(), state()];
        for (const push of states) await post(app, push).expect(200);
        const done = result();
        await post(app, done).expect(200);
        await until(() => delivered.includes(done.deviceId), 'the result');
        await until(() => upgrades.stats().unheard.upgradeState === 2 && warnings.some((warning) => /'upgradeState' was journaled with no listener/.test(warning)), 'the unheard states to be counted and warned about');
        assert.deepEqual(rows("event = 'upgradeState'").map((row) => row.state), ['pending', 'pending']);
        assert.equal(upgrades.stats().unheard.upgradeState, 2);
        assert.equal(warnings.filter((warning) => /'upgradeState' was journaled with no listener/.test(warning)).length, 1);
        assert.match(warnings.join('\n'), /journal discard upgradeState/);
        assert.equal(dashboard.tasks().reduce((devices, task) => devices + task.devices, 0), 3, 'the dashboard still sees every push');
        await until(() => (upgrades.stats().journal?.pendingByEvent['upgradeState'] ?? 0) === 2, 'the pending figure by event');
        const discarded = await runBin(['journal', '--db', path, 'discard', 'upgradeState']);
        assert.equal(discarded.stdout.trim(), "discarded 2 pending 'upgradeState' entries");
        assert.deepEqual(rows("event = 'upgradeState'").map((row) => row.state), ['discarded', 'discarded']);
      } finally {
        dashboard.close();
      }
    });

    it('a once() listener takes one entry; the other, delivered in the same turn, waits for the next listener', async () => {
      const { upgrades } = mount();
      const first: string[] = [];
      upgrades.once('upgradeResult', (notification) => void first.push(notification.deviceId));
      const pushes = [result(), result()];
      await Promise.all(pushes.map((push) => Promise.resolve(upgrades.receive(push))));
      await until(() => first.length === 1, 'the once listener');
      await until(() => rows("state = 'done'").length === 1, 'the heard entry to be marked done');
      assert.equal(rows("state = 'done'").length, 1);
      assert.equal(rows("state = 'pending'").length, 1, 'the second entry was marked done though nobody heard it');
      const later: string[] = [];
      upgrades.on('upgradeResult', (notification) => void later.push(notification.deviceId));
      await until(() => later.length === 1, 'the waiting entry to reach the new listener');
      assert.deepEqual([...first, ...later].sort(), pushes.map((push) => push.deviceId).sort());
    });
  });

  describe('delivery.timeoutMs', () => {
    it('a listener that never settles fails its attempt after timeoutMs and frees its slot', async () => {
      const { upgrades } = mount({ delivery: { timeoutMs: 1000, concurrency: 1, backoffMs: 100, attempts: 2 } });
      const calls: string[] = [];
      const errors: string[] = [];
      upgrades.on('error', (error) => void errors.push(error.message));
      upgrades.on('upgradeResult', (notification) => {
        calls.push(notification.deviceId);
        return new Promise(() => {});
      });
      const dead: string[] = [];
      upgrades.on('deadLetter', (notification) => void dead.push((notification as DeviceDelivered).deviceId));
      const [stuck, next] = [result(), result()];
      await upgrades.receive(stuck);
      await upgrades.receive(next);
      await until(() => calls.includes(next.deviceId), 'the next entry to get the freed slot');
      assert.match(errors.join('\n'), /did not settle within delivery\.timeoutMs \(1000 ms\)/);
      assert.ok((upgrades.stats().journal?.timedOut ?? 0) >= 1);
      await until(() => dead.includes(stuck.deviceId), 'the stuck entry to end dead after its attempts');
    });
  });

  describe('the journal duplicate window is dedupe.ttl', () => {
    it('a re-send within the ttl is a duplicate; the same state reported after it is a new report', async () => {
      // A window long enough that the re-send falls within it on a busy machine too (a 1 s window
      // was missed under load: the two requests were answered more than a second apart).
      const ttl = 5000;
      const { app, upgrades } = mount({ dedupe: { ttl } });
      const seen: string[] = [];
      upgrades.on('upgradeResult', (notification) => void seen.push(notification.deviceId));
      let duplicates = 0;
      upgrades.on('duplicate', () => void (duplicates += 1));
      const push = result();
      const first = Date.now();
      await post(app, push).expect(200);
      await post(app, push).expect(200);
      await until(() => seen.length === 1 && duplicates === 1, () => `one delivery and one duplicate (the re-send came ${Date.now() - first} ms after the first, the window is ${ttl} ms)`);
      // eslint-disable-next-line no-restricted-syntax -- the duplicate window (dedupe.ttl) is time itself
      await tick(ttl + 100 - (Date.now() - first));
      await post(app, push).expect(200);
      await until(() => seen.length === 2, 'the repeat after the window to be delivered');
      assert.equal(rows().length, 2);
    });
  });

  describe('retries sized for a maintenance window; dead letters revived', () => {
    it('the default retry window is over an hour', () => {
      // 1 s doubling to 5 min over 21 attempts: 511 s, then 11 waits of 5 min (the README's 63.5 minutes).
      assert.equal(retryWindowMs(), 3_811_000);
      assert.equal(retryWindowMs({ attempts: 8, maxBackoffMs: undefined }), 127_000, 'the old default: about two minutes');
    });

    it('delivery.reviveDead: dead entries of an event are delivered again once one of its deliveries succeeds', async () => {
      const { upgrades } = mount({ delivery: { attempts: 2, backoffMs: 50, reviveDead: true } });
      let down = true;
      const delivered: string[] = [];
      upgrades.on('upgradeResult', (notification) => {
        if (down) throw new Error('the database is down');
        delivered.push(notification.deviceId);
      });
      upgrades.on('error', () => {});
      const dead: string[] = [];
      upgrades.on('deadLetter', (notification) => void dead.push((notification as DeviceDelivered).deviceId));
      const early = [result(), result()];
      for (const push of early) await upgrades.receive(push);
      await until(() => dead.length === 2, 'both to be dead');
      await until(() => upgrades.stats().journal?.dead === 2, 'the dead figure');
      down = false;
      const late = result();
      await upgrades.receive(late);
      await until(() => early.every((push) => delivered.includes(push.deviceId)), 'the dead entries to be revived');
      assert.equal(rows("state = 'dead'").length, 0);
    });
  });

  describe('pruning in batches', () => {
    it('deletes at most a batch per statement, and the router prunes everything old over several', async () => {
      await sqliteJournal({ path }).close();
      const db = new Database(path);
      const old = Date.now() - 40 * 86_400_000;
      const insert = db.prepare(`INSERT INTO huawei_iot_upgrade_journal (state, event, body, received_at, updated_at) VALUES ('done', 'upgradeResult', '{}', ?, ?)`);
      db.transaction(() => {
        for (let i = 0; i < 3500; i += 1) insert.run(old, old);
      })();
      db.close();
      const journal = sqliteJournal({ path });
      assert.equal(await journal.prune(30, 1000), 1000);
      mount({}, journal);
      await until(() => rows().length === 0, 'every old row to be pruned');
    });
  });

  describe('the journal command', () => {
    it('show, replay of an invalid push (on the operator word), replay --again, stats --task, escaped device text', async () => {
      const { app, upgrades } = mount({ allow: { token: 'right' } });
      const delivered: Array<{ deviceId: string; attempt: number | undefined }> = [];
      upgrades.on('upgradeResult', (notification, context) => void delivered.push({ deviceId: notification.deviceId, attempt: context.attempt }));
      upgrades.on('invalid', () => {});
      // A push refused by a wrong token during the campaign, with a terminal escape in its text.
      const refused = { ...result(), resultDesc: 'ok\u001b[2J\u001b[Hpwned' };
      await request(app).post(`${CALLBACK_PATH}?token=wrong`).send(refused).expect(200);
      const [entry] = rows("state = 'invalid'");
      assert.ok(entry !== undefined);
      const shown = await runBin(['journal', '--db', path, 'show', String(entry.id)]);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, /^state\tinvalid$/m);
      assert.match(shown.stdout, /^reason\tforbidden$/m);
      assert.match(shown.stdout, /^bytes received\t\d+$/m);
      assert.ok(!shown.stdout.includes('\u001b'), 'an escape sequence reached the terminal');
      assert.match(shown.stdout, /ok\\u001b\[2J/);
      const invalid = await runBin(['journal', '--db', path, 'invalid']);
      assert.ok(!invalid.stdout.includes('\u001b'));

      const replayed = await runBin(['journal', '--db', path, 'replay', String(entry.id)]);
      assert.equal(replayed.code, 0, replayed.stderr);
      assert.match(replayed.stdout, /a valid swUpgradeResultNotify now/);
      await until(() => delivered.some((d) => d.deviceId === refused.deviceId), 'the replayed push to be delivered');
      await until(() => rows(`id = ${entry.id}`)[0]?.state === 'done', 'it to be done');

      const again = await runBin(['journal', '--db', path, 'replay', String(entry.id), '--again']);
      assert.equal(again.code, 0, again.stderr);
      await until(() => delivered.filter((d) => d.deviceId === refused.deviceId).length === 2, 'the replay --again');
      assert.equal(delivered.at(-1)?.attempt, 2);

      // The same push refused again: replaying it finds the first one journaled.
      await request(app).post(`${CALLBACK_PATH}?token=wrong`).send(refused).expect(200);
      const [second] = rows("state = 'invalid'");
      const duplicate = await runBin(['journal', '--db', path, 'replay', String(second?.id)]);
      assert.match(duplicate.stderr, new RegExp(`the same push as entry ${entry.id}, journaled already`));

      const task = await runBin(['journal', '--db', path, 'stats', '--task', refused.operationId]);
      assert.match(task.stdout, /^done\t1$/m);
      const none = await runBin(['journal', '--db', path, 'stats', '--task', 'no-such-task']);
      assert.match(none.stdout, /^done\t0$/m);
    });

    it('an invalid entry that still fails its checks is not replayed, and says why; --db of a missing file is an error', async () => {
      const { app, upgrades } = mount();
      upgrades.on('invalid', () => {});
      const cases: Array<[string, RegExp]> = [
        ['{"notifyType":"swUpgradeResultNotify","deviceId":"x"}', /it still fails its schema/],
        ['{bad', /it is not JSON/],
        ['[1,2]', /it is JSON but not an object/],
        ['{"notifyType":"deviceDataChanged"}', /notifyType "deviceDataChanged" is not an upgrade push/],
      ];
      for (const [body] of cases) await post(app, body).set('Content-Type', 'application/json').expect(200);
      const entries = rows("state = 'invalid'");
      assert.equal(entries.length, cases.length);
      for (const [index, [, why]] of cases.entries()) {
        const replayed = await runBin(['journal', '--db', path, 'replay', String(entries[index]?.id)]);
        assert.equal(replayed.code, 1);
        assert.match(replayed.stderr, why);
      }
      const unknown = await runBin(['journal', '--db', path, 'show', '999']);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /no entry "999"/);
      const wrongEvent = await runBin(['journal', '--db', path, 'discard', 'upgradeResults']);
      assert.equal(wrongEvent.code, 2);
      const missing = await runBin(['journal', '--db', join(folder.dir, 'typo.db'), 'stats']);
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /no journal at .*typo\.db/);
      assert.ok(!existsSync(join(folder.dir, 'typo.db')), 'the command created the file');
      assert.deepEqual(readdirSync(folder.dir).filter((name) => name.startsWith('typo')), [], 'the command left a file behind');
    });

    it('`| head -1` ends the command quietly, and sqliteJournal creates a missing folder', async () => {
      const nested = join(folder.dir, 'a', 'b', 'upgrades.db');
      await sqliteJournal({ path: nested }).close();
      // More dead lines than a pipe holds (64 KiB): the writes after head has gone fail with EPIPE.
      const db = new Database(nested);
      const insert = db.prepare(
        `INSERT INTO huawei_iot_upgrade_journal (state, event, notify_type, device_id, body, received_at, attempts, last_error, updated_at) VALUES ('dead', 'upgradeResult', 'swUpgradeResultNotify', ?, '{}', ?, 21, 'the database is down', ?)`,
      );
      db.transaction(() => {
        for (let i = 0; i < 3000; i += 1) insert.run(randomUUID(), Date.now(), Date.now());
      })();
      db.close();
      const { spawnSync } = await import('node:child_process');
      const cli = join(__dirname, '..', 'dist', 'cli', 'index.js');
      for (let run = 0; run < 5; run += 1) {
        const piped = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${cli}" journal --db "${nested}" dead --limit 3000 | head -1`], { encoding: 'utf8' });
        assert.equal(piped.status, 0, piped.stderr);
        assert.equal(piped.stderr, '');
        assert.equal(piped.stdout.trim().split('\n').length, 1);
      }
    });
  });

  describe('settings that break the guarantees; too_large bytes', () => {
    it('refuses a lease typed in seconds, a limit typed in kB, an in-memory SQLite file and misspelt options', async () => {
      assert.throws(() => sqliteJournal({ path, leaseMs: 30 }), /leaseMs must be at least 2000 ms, got 30: .* did you mean 30000/);
      assert.throws(() => createUpgradeRouter({ limit: 64 }), /limit must be at least 1024 bytes .* did you mean '64kb'/);
      assert.throws(() => sqliteJournal({ path: ':memory:' }), /in-memory database, which a crash loses/);
      assert.throws(() => sqliteJournal({ path, leaseMs: -1 }), /leaseMs must be a positive whole number/);
      assert.throws(() => sqliteJournal({ path, spill: '' }), /spill must be a non-empty string/);
      const { redisDedupeStore } = await import('huawei-iot-upgrade-router/redis');
      assert.throws(() => redisDedupeStore({ urll: 'redis://x' } as never), /unknown option urll: did you mean url\?/);
      const { registerMetrics } = await import('huawei-iot-upgrade-router/prometheus');
      const { Registry } = await import('prom-client');
      assert.throws(() => registerMetrics(createUpgradeRouter({ logger: quiet }), { prefx: 'a_', registry: new Registry() } as never), /unknown option prefx: did you mean prefix\?/);
      assert.throws(() => createUpgradeRouter({ journal: {} as Journal, delivery: { timeoutMs: 5 } }), /journal must be/);
    });

    it('a too_large push read to the limit keeps those bytes in the journal', async () => {
      const { app, upgrades } = mount({ limit: 2048 });
      upgrades.on('invalid', () => {});
      const body = JSON.stringify({ ...result(), padding: 'y'.repeat(5000) });
      // Chunked (no Content-Length): the router reads up to the limit.
      const server = app.listen(0);
      try {
        const { port } = server.address() as { port: number };
        const status = await new Promise<number | undefined>((resolve, reject) => {
          const req = httpRequest({ port, method: 'POST', path: CALLBACK_PATH, headers: { 'Content-Type': 'application/json' } }, (res) => {
            res.resume();
            resolve(res.statusCode);
          });
          req.on('error', reject);
          for (let i = 0; i < body.length; i += 1000) req.write(body.slice(i, i + 1000));
          req.end();
        });
        assert.equal(status, 200);
      } finally {
        server.close();
      }
      await until(() => rows("state = 'invalid'").length === 1, 'the invalid entry');
      const [entry] = rows("state = 'invalid'");
      assert.ok(entry !== undefined && entry.raw !== null, 'no bytes kept');
      assert.equal(entry.raw.length, 2048);
      assert.equal(entry.raw.toString('utf8'), body.slice(0, 2048));
    });
  });

  describe('quiet logs; grouping proven without a race', () => {
    it('a listener failing on every attempt is logged once, not once per attempt', async () => {
      const logged: string[] = [];
      const { upgrades } = mount({ logger: { error: (message: string) => void logged.push(message), warn: () => {} }, delivery: { attempts: 30, backoffMs: 10, maxBackoffMs: 20 } });
      upgrades.on('upgradeResult', () => {
        throw new Error('ECONNREFUSED 127.0.0.1:5432');
      });
      await upgrades.receive(result());
      await until(() => upgrades.stats().listenerErrors >= 10, 'ten failed attempts');
      assert.equal(logged.filter((line) => /ECONNREFUSED|no error listener/.test(line)).length, 1, logged.join('\n'));
    });

    it('pushes that arrive while a commit is held all go into the next one', async () => {
      const real = sqliteJournal({ path });
      let hold: (() => void) | undefined;
      let calls = 0;
      const held: Journal = {
        ...real,
        append: async (records, completed, window) => {
          calls += 1;
          if (calls === 1) await new Promise<void>((resolve) => (hold = resolve));
          return real.append(records, completed, window);
        },
      };
      const { upgrades } = mount({}, held);
      upgrades.on('upgradeResult', () => {});
      const first = upgrades.receive(result());
      await until(() => hold !== undefined, 'the first commit to start');
      const rest = Array.from({ length: 59 }, () => upgrades.receive(result()));
      hold?.();
      await Promise.all([first, ...rest]);
      const { commits, committed } = upgrades.stats().journal ?? { commits: 0, committed: 0 };
      assert.deepEqual([commits, committed], [2, 60]);
    });
  });
});
