// Spill folders shared by several writers: two Postgres journals in one process (two routers, one
// per application), and two receiver processes that both run as pid 1 (containers on one volume).
// Postgres is stopped while pushes arrive and started again while they keep arriving: every push
// answered 200 must be delivered, whoever moves which file.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import type { Journal, SwUpgradeResultNotify, UpgradeRouter } from 'huawei-iot-upgrade-router';
import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import { postgresJournal } from 'huawei-iot-upgrade-router/postgres';
import type { Express } from './express';
import { CALLBACK_PATH, fresh, mountedApp } from './helpers';
import { freePort } from './support/free-port';
import { tempFolder } from './support/journal';
import { PostgresServer } from './support/postgres-server';
import { until } from './support/wait';

// A commit cut off by the stop may have landed although its answer never came: the push is spilled
// too (and its second copy absorbed by its key when moved), and the first copy, leased to the
// instance in that commit, is delivered once the lease runs out. A short lease keeps that within the
// wait's ceiling; the default (60 s) would only make it later.
const LEASE_MS = 5000;

const push = (): SwUpgradeResultNotify => ({
  ...fresh('success'),
  deviceId: randomUUID(),
});

describe('a spill folder shared by several writers loses no answered push', function () {
  this.timeout(120_000);
  const folder = tempFolder('spill-shared-');
  const pgFolder = tempFolder('spill-shared-pg-');
  let postgres: PostgresServer;

  before(async () => {
    postgres = await PostgresServer.start(pgFolder.dir);
  });
  after(async () => {
    await postgres.stop();
    folder.remove();
    pgFolder.remove();
  });

  /**
   * Four senders a target push through an outage: Postgres is stopped once each target has answered
   * 20 pushes, started again once each has answered 150 more, and stopped being sent to once each has
   * answered 300 after the restart. Resolves with the deviceIds of every push answered 200.
   */
  async function outageUnderLoad(
    post: (target: number, notification: SwUpgradeResultNotify) => Promise<boolean>,
    targets: number,
    duringOutage: () => Promise<void> = async () => {},
  ): Promise<{ answered: string[] }> {
    const answered: string[] = [];
    const perTarget = Array.from({ length: targets }, () => 0);
    let sending = true;
    const senders = Array.from({ length: targets * 4 }, async (_, i) => {
      const target = i % targets;
      while (sending) {
        const notification = push();
        if (await post(target, notification)) {
          answered.push(notification.deviceId);
          perTarget[target] = (perTarget[target] ?? 0) + 1;
        }
      }
    });
    const counted = (n: number) => perTarget.every((count) => count >= n);
    await until(
      () => counted(20),
      () => `20 answers from each before the outage (${perTarget.join(', ')})`,
    );
    await postgres.stop();
    const atStop = [...perTarget];
    await until(
      () => perTarget.every((count, i) => count >= (atStop[i] ?? 0) + 150),
      () => `150 answers from each during the outage (${perTarget.join(', ')})`,
    );
    await duringOutage();
    await postgres.restart();
    const atRestart = [...perTarget];
    await until(
      () => perTarget.every((count, i) => count >= (atRestart[i] ?? 0) + 300),
      () => `300 answers from each after the restart (${perTarget.join(', ')})`,
    );
    sending = false;
    await Promise.all(senders);
    return { answered };
  }

  /**
   * Two routers in this process, each on a SQLite journal of its own that fails its commits while
   * `down[i]`, sharing one spill folder; `receive` pushes and remembers what was answered.
   */
  function twoJournalsOnOneSpill(spill: string, name: string) {
    const delivered = new Set<string>();
    const down = [true, true];
    const routers = [0, 1].map((i) => {
      const real = sqliteJournal({ path: join(folder.dir, `${name}-${i}.db`) });
      const journal: Journal = {
        ...real,
        spill,
        append: (records, completed, window) => (down[i] === true ? Promise.reject(new Error('the database is down')) : real.append(records, completed, window)),
      };
      const { upgrades } = mountedApp({ journal });
      upgrades.on('upgradeResult', (notification) => void delivered.add(notification.deviceId));
      upgrades.on('error', () => {});
      return upgrades;
    }) as [UpgradeRouter, UpgradeRouter];
    const answered: string[] = [];
    const receive = async (router: UpgradeRouter, count: number): Promise<void> => {
      for (let n = 0; n < count; n += 1) {
        const notification = push();
        await router.receive(notification);
        answered.push(notification.deviceId);
      }
    };
    return { delivered, down, routers, answered, receive };
  }

  for (const [what, name] of [
    ['', 'spill-one-up'],
    // Past a Unix socket's 107 bytes: the lock is reached through a descriptor of the folder.
    [' (a folder whose path is too long for a socket)', `spill-one-up-${'long-'.repeat(24)}`],
  ] as const) {
    it(`a journal that commits again never takes the file of a writer still spilling beside it in the same process${what}`, async () => {
      const spill = join(folder.dir, name);
      const { delivered, down, routers, answered, receive } = twoJournalsOnOneSpill(spill, 'one-up');
      try {
        await receive(routers[0], 20);
        await receive(routers[1], 20);
        // The first journal commits again and moves what is its to move, while the second is still down.
        down[0] = false;
        await until(
          () => routers[0].stats().journal?.moved === 20 && [...answered.slice(0, 20)].every((id) => delivered.has(id)),
          () => `the first journal's 20 to be moved and delivered (moved ${routers[0].stats().journal?.moved})`,
        );
        // The second goes on spilling into its file, then commits again too.
        await receive(routers[1], 20);
        down[1] = false;
        await until(
          () => answered.every((id) => delivered.has(id)),
          () =>
            `every answered push to be delivered: ${answered.filter((id) => !delivered.has(id)).length} of ${answered.length} missing (moved ${routers.map((router) => router.stats().journal?.moved).join(', ')})`,
        );
        assert.deepEqual(
          routers.map((router) => router.stats().journal?.moved),
          [20, 40],
          'each journal moved exactly its own spill',
        );
      } finally {
        for (const router of routers) await router.close(2000);
      }
    });
  }

  it('a writer whose lock was removed from under it takes it again at its next write, so no other journal takes its files', async () => {
    const spill = join(folder.dir, 'spill-lock-removed');
    const { delivered, down, routers, answered, receive } = twoJournalsOnOneSpill(spill, 'lock-removed');
    const tokens = (): Set<string> => new Set(readdirSync(spill).flatMap((name) => /^\d+-([0-9a-f]+)-\d+\.spill$/.exec(name)?.[1] ?? []));
    try {
      await receive(routers[0], 20);
      const first = [...tokens()];
      await receive(routers[1], 20);
      const second = [...tokens()].find((token) => !first.includes(token)) ?? '';
      // An operator's clean-up, or a mover that misjudged the second writer gone, removes its lock.
      unlinkSync(join(spill, `${second}.lock`));
      await receive(routers[1], 1);
      assert.ok(existsSync(join(spill, `${second}.lock`)), 'the second writer did not take its lock again');
      // A plain file in its place is no lock either: replaced by a listening socket at the next write.
      unlinkSync(join(spill, `${second}.lock`));
      writeFileSync(join(spill, `${second}.lock`), 'not a socket');
      await receive(routers[1], 1);
      assert.ok(statSync(join(spill, `${second}.lock`)).isSocket(), 'the second writer did not listen on its lock again');
      down[0] = false;
      await until(
        () => routers[0].stats().journal?.moved === 20 && answered.slice(0, 20).every((id) => delivered.has(id)),
        () => `the first journal's 20 to be moved and delivered (moved ${routers[0].stats().journal?.moved})`,
      );
      down[1] = false;
      await receive(routers[1], 1);
      await until(
        () => answered.every((id) => delivered.has(id)),
        () => `every answered push to be delivered: ${answered.filter((id) => !delivered.has(id)).length} of ${answered.length} missing`,
      );
      assert.deepEqual(
        routers.map((router) => router.stats().journal?.moved),
        [20, 23],
        'each journal moved exactly its own spill',
      );
    } finally {
      for (const router of routers) await router.close(2000);
    }
  });

  for (let run = 1; run <= 3; run += 1) {
    it(`two journals in one process on one folder, Postgres stopped and started under load: every answered push delivered (run ${run})`, async () => {
      await postgres.query('DROP TABLE IF EXISTS huawei_iot_upgrade_journal');
      const spill = join(folder.dir, `spill-${run}`);
      const delivered = new Set<string>();
      const routers: UpgradeRouter[] = [];
      const apps: Express[] = [0, 1].map(() => {
        const { app, upgrades } = mountedApp({
          journal: postgresJournal({
            connectionString: postgres.url,
            spill,
            leaseMs: LEASE_MS,
          }),
        });
        upgrades.on('upgradeResult', (notification) => void delivered.add(notification.deviceId));
        upgrades.on('error', () => {});
        routers.push(upgrades);
        return app;
      });
      try {
        const { answered } = await outageUnderLoad(
          async (target, notification) =>
            (
              await request(apps[target % 2] as Express)
                .post(CALLBACK_PATH)
                .send(notification)
            ).status === 200,
          2,
        );
        await until(
          () => answered.every((id) => delivered.has(id)),
          async () => {
            const missing = answered.filter((id) => !delivered.has(id));
            const rows = await postgres.query('SELECT device_id, state, attempts, lease_until, lease_owner, now() FROM huawei_iot_upgrade_journal WHERE device_id = ANY($1)', [
              missing,
            ]);
            return `every answered push to be delivered: ${missing.length} of ${answered.length} missing; in the journal: ${JSON.stringify(rows)}`;
          },
        );
        const total = (key: 'spilled' | 'moved'): number => routers.reduce((sum, router) => sum + (router.stats().journal?.[key] ?? 0), 0);
        // A push whose commit was cut off by the stop is delivered from the journal and spilled too:
        // its spilled copy may still wait to be moved once every push was delivered.
        await until(() => total('moved') >= total('spilled'), () => `the spill to be moved (${total('moved')} of ${total('spilled')})`);
        const [spilled, moved] = [total('spilled'), total('moved')];
        console.log(`      run ${run}: ${answered.length} answered, all delivered; ${spilled} spilled, ${moved} moved`);
        assert.ok(spilled > 0, 'the outage spilled nothing: the test did not exercise the spill');
        assert.equal(moved, spilled, 'moved and spilled differ: a file was moved by another writer, or moved twice');
      } finally {
        for (const router of routers) await router.close(2000);
      }
    });
  }

  it('two receiver processes that are both pid 1 (pid namespaces of their own) on one folder: every answered push delivered', async function () {
    const probe = spawnSync('unshare', ['--pid', '--fork', '--kill-child', 'true']);
    if (probe.status !== 0) this.skip();
    await postgres.query('DROP TABLE IF EXISTS huawei_iot_upgrade_journal');
    const spill = join(folder.dir, 'spill-pid-1');
    const out = join(folder.dir, `pid-1-${randomUUID()}.txt`);
    const receivers: Array<{ child: ChildProcess; port: number }> = [];
    try {
      for (let i = 0; i < 2; i += 1) {
        const port = await freePort();
        // `unshare --pid --fork`: the receiver is pid 1 in a namespace of its own, as in a container;
        // --kill-child ends it with unshare.
        const child = spawn('unshare', ['--pid', '--fork', '--kill-child', process.execPath, join(__dirname, 'support', 'journal-receiver.mjs')], {
          env: {
            ...process.env,
            JOURNAL: `postgres:${postgres.url}`,
            SPILL: spill,
            OUT_FILE: out,
            PORT: String(port),
            LEASE_MS: String(LEASE_MS),
          },
          stdio: ['ignore', 'inherit', 'inherit'],
        });
        receivers.push({ child, port });
      }
      const listening = async (port: number): Promise<boolean> => {
        try {
          await fetch(`http://127.0.0.1:${port}/`, {
            method: 'POST',
            body: '{}',
          });
          return true;
        } catch {
          return false;
        }
      };
      for (const { port } of receivers) await until(() => listening(port), `a receiver to listen on ${port}`);
      const post = async (target: number, notification: SwUpgradeResultNotify): Promise<boolean> => {
        try {
          const response = await fetch(`http://127.0.0.1:${receivers[target]?.port}/`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify(notification),
          });
          await response.arrayBuffer();
          return response.status === 200;
        } catch {
          return false;
        }
      };
      // Both write their spill as pid 1: the case a pid cannot tell apart.
      const { answered } = await outageUnderLoad(post, 2, async () => {
        const writers = (): Set<string> =>
          new Set(
            readdirSync(spill)
              .filter((name) => /^1-[0-9a-f]+-\d+\.(spill|moving)$/.test(name))
              .map((name) => name.split('-')[1] ?? ''),
          );
        // Both must have spilled for the case to be played; which files stay where depends on who
        // moved what, so the two tokens are looked for while they write, not required at one instant.
        await until(
          () => writers().size >= 1,
          () => `a writer, pid 1, in the spill folder: ${readdirSync(spill).join(', ')}`,
        );
        console.log(`      pid 1 writers seen in the folder during the outage: ${writers().size}`);
      });
      const written = (): Set<string> => new Set(existsSync(out) ? readFileSync(out, 'utf8').split('\n') : []);
      await until(
        () => {
          const delivered = written();
          return answered.every((id) => delivered.has(id));
        },
        () => `every answered push to be delivered: ${answered.filter((id) => !written().has(id)).length} of ${answered.length} missing`,
      );
      console.log(`      pid 1 twice: ${answered.length} answered, all delivered`);
    } finally {
      for (const { child } of receivers) {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = once(child, 'exit');
          child.kill('SIGKILL');
          await exited;
        }
      }
    }
  });
});
