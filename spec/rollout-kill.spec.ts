// SIGKILL of the process that drives a rollout, at every wave: before its create call reached the
// platform (the call lost on the way), while the platform held it, after the platform made the task
// but before its answer came back, and right after the step that recorded the task. After each
// restart the rollout goes on: no task is created twice, no device is sent the firmware twice, and
// every device has one final outcome. The control removes the step written before the create call,
// as a driver without it would have nothing to find: the restarted driver creates the task a second
// time, and this spec's count of targeted devices catches it. With two instances on Postgres, the
// driver killed, the other takes the rollout over.
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createPlatformClient, platformPaths } from 'huawei-iot-upgrade-router/platform';
import { startPlatformEmulator, type PlatformEmulator } from 'huawei-iot-upgrade-router/emulator';
import { inspectSqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import type { JournalAdmin } from 'huawei-iot-upgrade-router';
import { freePort } from './support/free-port';
import { tempFolder } from './support/journal';
import { PostgresServer } from './support/postgres-server';
import { until } from './support/wait';

const script = join(__dirname, 'support', 'rollout-driver.mjs');
const SPEED = 60;
const fleet = (count: number): string[] => Array.from({ length: count }, (_, i) => `meter-${String(i).padStart(4, '0')}`);

interface StepRow {
  kind: string;
  wave?: number;
  task?: number;
  recovered?: boolean;
}

describe('SIGKILL of the rollout driver creates no task twice', function () {
  this.timeout(180_000);
  let emulator: PlatformEmulator;
  let folder: ReturnType<typeof tempFolder>;
  let port: number;
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    emulator = await startPlatformEmulator({ speed: SPEED, devices: { durationMs: 20_000, failureRatio: 0 } });
    folder = tempFolder('rollout-kill-');
    port = await freePort();
    const client = createPlatformClient({ url: emulator.url, appId: emulator.appId, secret: emulator.secret });
    await client.ensureSubscriptions(`http://127.0.0.1:${port}/cb`);
    await client.close();
  });
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await emulator.close();
    folder.remove();
  });

  const start = async (journal: { DB: string } | { PG: string; RESEND_WINDOW_MS?: string }, rollout: object): Promise<ChildProcess> => {
    const child = fork(script, {
      env: { ...process.env, ...journal, PORT: String(port), URL: emulator.url, APP_ID: emulator.appId, SECRET: emulator.secret, ROLLOUT: JSON.stringify(rollout) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`the driver exited (${code}) before it was ready`)));
    });
    return child;
  };
  const kill = async (child: ChildProcess): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
  const steps = async (journal: JournalAdmin, id: string): Promise<StepRow[]> => ((await journal.readRollout(id))?.steps ?? []).map((step) => JSON.parse(step.data) as StepRow);
  const waveStatus = async (journal: JournalAdmin, id: string, wave: number): Promise<string[]> => (await steps(journal, id)).filter((step) => step.wave === wave).map((step) => step.kind);
  /** Every device each platform task targets, flattened: a device twice is a device sent the firmware twice. */
  const targeted = (): string[] => emulator.tasks().flatMap((task) => ('devices' in task.targets ? task.targets.devices : []));
  const createPath = platformPaths.firmwareUpgrade;

  it('killed before, during and after a create call, and after its step, at every wave: the rollout completes, each device sent once', async () => {
    const db = join(folder.dir, 'upgrades.db');
    const devices = fleet(120);
    const rollout = { id: 'kill', fileId: emulator.packages.firmware.fileId, devices, waves: [10, '25%', '60%', '100%'], taskSize: 20, soakMs: 30_000, approve: 'all', callsPerMinute: 6_000 };
    let child = await start({ DB: db }, rollout);
    const journal = inspectSqliteJournal({ path: db });
    const faults = [
      { kind: 'lost', path: createPath },
      { kind: 'slow', delayMs: 300, path: createPath },
      { kind: 'slow', when: 'after', delayMs: 5_000, path: createPath },
    ] as const;
    try {
      for (let wave = 1; wave <= 4; wave += 1) {
        await until(async () => (await waveStatus(journal, 'kill', wave)).includes('awaiting-approval'), async () => `wave ${wave} to wait for approval: ${JSON.stringify(await steps(journal, 'kill'))}`);
        const tasksBefore = emulator.tasks().length;
        const fault = faults[wave - 1];
        if (fault !== undefined) emulator.inject(fault);
        await journal.requestRollout('kill', 'approve', '{}', new Date());
        if (fault !== undefined) {
          await until(() => emulator.faults().length === 0, `wave ${wave}'s create call to reach the platform`);
          await kill(child);
          // The platform holds the call: it makes the task once its caller is gone.
          if (fault.kind === 'slow' && !('when' in fault)) await until(() => emulator.tasks().length === tasksBefore + 1, 'the held call to be done, its caller gone');
        } else {
          await until(async () => (await waveStatus(journal, 'kill', wave)).includes('task-created'), `wave ${wave}'s first task to be recorded`);
          await kill(child);
        }
        const kinds = await waveStatus(journal, 'kill', wave);
        if (fault !== undefined) assert.equal(kinds.at(-1), 'task-sending', `wave ${wave}: killed between the step and the answer`);
        child = await start({ DB: db }, rollout);
      }
      await until(async () => (await steps(journal, 'kill')).at(-1)?.kind === 'completed', async () => `the rollout to complete: ${JSON.stringify((await steps(journal, 'kill')).slice(-5))}`, 90_000);
    } finally {
      await kill(child);
    }
    const sent = targeted();
    assert.equal(sent.length, devices.length, `${sent.length} devices targeted in ${emulator.tasks().length} tasks`);
    assert.deepEqual(new Set(sent), new Set(devices));
    const created = (await steps(journal, 'kill')).filter((step) => step.kind === 'task-created');
    assert.equal(created.length, emulator.tasks().length);
    const recovered = new Set(created.filter((step) => step.recovered === true).map((step) => step.wave));
    // Wave 1's call was lost: made afresh. Waves 2 and 3: found. Wave 4's kill may fall in its next call.
    assert.ok(recovered.has(2) && recovered.has(3) && !recovered.has(1), `tasks found on the platform after a kill, by wave: ${[...recovered].join(', ')}`);
    for (const task of emulator.tasks()) {
      const finals = await journal.finalResults(task.operationId);
      assert.equal(finals.length, task.staResult.total, `task ${task.operationId}: one final result per device`);
    }
    await journal.close();
  });

  it('control: without the step written before the call, the restarted driver sends the task a second time', async () => {
    const db = join(folder.dir, 'upgrades.db');
    const devices = fleet(20);
    const rollout = { id: 'control', fileId: emulator.packages.firmware.fileId, devices, waves: ['100%'], approve: 'all', callsPerMinute: 6_000 };
    const child = await start({ DB: db }, rollout);
    const journal = inspectSqliteJournal({ path: db });
    await until(async () => (await waveStatus(journal, 'control', 1)).includes('awaiting-approval'), 'the wave to wait for approval');
    emulator.inject({ kind: 'slow', when: 'after', delayMs: 5_000, path: createPath });
    await journal.requestRollout('control', 'approve', '{}', new Date());
    await until(() => emulator.tasks().length === 1, 'the task to be made');
    await kill(child);
    const file = new Database(db);
    file.prepare(`DELETE FROM huawei_iot_upgrade_journal_rollout_steps WHERE rollout_id = ? AND kind = 'task-sending'`).run('control');
    file.close();
    await kill(await start({ DB: db }, rollout).then(async (restarted) => {
      await until(() => emulator.tasks().length === 2, 'the task to be sent again');
      return restarted;
    }));
    await journal.close();
    assert.equal(targeted().length, 2 * devices.length, 'each device sent the firmware twice');
  });

  it('two instances on Postgres: the driver killed mid-rollout, the other takes over; each device sent once', async () => {
    const pgFolder = tempFolder('rollout-kill-pg-');
    const postgres = await PostgresServer.start(pgFolder.dir);
    try {
      const devices = fleet(100);
      const rollout = { id: 'shared', fileId: emulator.packages.firmware.fileId, devices, waves: [10, '50%', '100%'], taskSize: 20, soakMs: 30_000, callsPerMinute: 6_000 };
      const first = await start({ PG: postgres.url, RESEND_WINDOW_MS: '60000' }, rollout);
      // The second instance receives on the same port's subscription in production; here it only drives.
      const portOfFirst = port;
      port = await freePort();
      const second = await start({ PG: postgres.url, RESEND_WINDOW_MS: '60000' }, rollout);
      port = portOfFirst;
      const { postgresJournal } = await import('huawei-iot-upgrade-router/postgres');
      const journal = postgresJournal({ connectionString: postgres.url, spill: false });
      try {
        await until(async () => (await waveStatus(journal, 'shared', 2)).includes('task-created'), 'the second wave under way');
        await kill(first);
        // Pushes to the dead instance's port fail now: the survivor's reconciler fills them in, after a
        // re-send window of an emulated minute (nothing listens there to take a late push).
        await until(async () => (await steps(journal, 'shared')).at(-1)?.kind === 'completed', async () => `the survivor to complete it: ${JSON.stringify((await steps(journal, 'shared')).slice(-4))}`, 120_000);
      } finally {
        await journal.close();
        await kill(second);
      }
      const sent = targeted();
      assert.equal(sent.length, devices.length);
      assert.deepEqual(new Set(sent), new Set(devices));
    } finally {
      await postgres.stop();
      pgFolder.remove();
    }
  });
});
