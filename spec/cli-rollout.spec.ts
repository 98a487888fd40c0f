// The `rollout` command beside a receiver that drives rollouts: an operator records a rollout, reads
// where it stands, approves the wave that waits, and reads it completed; unknown rollouts and a
// second rollout of the same id are usage errors.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createPlatformClient, type PlatformClient } from 'huawei-iot-upgrade-router/platform';
import { startPlatformEmulator, type PlatformEmulator } from 'huawei-iot-upgrade-router/emulator';
import { createRollouts, type Rollouts } from 'huawei-iot-upgrade-router/rollout';
import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import { CALLBACK_PATH, mountedApp } from './helpers';
import { runBin, tempFolder } from './support/journal';
import { until } from './support/wait';

const SPEED = 120;

describe('the rollout command', function () {
  this.timeout(60_000);
  let emulator: PlatformEmulator;
  let client: PlatformClient;
  let server: Server;
  let rollouts: Rollouts;
  const folder = tempFolder('cli-rollout-');
  const db = join(folder.dir, 'upgrades.db');
  const devices = join(folder.dir, 'meters.txt');
  const { app, upgrades } = mountedApp({ journal: sqliteJournal({ path: db }) });
  upgrades.on('firmwareUpgradeResult', () => {});

  before(async () => {
    emulator = await startPlatformEmulator({ speed: SPEED, devices: { durationMs: 30_000, failureRatio: 0 } });
    client = createPlatformClient({ url: emulator.url, appId: emulator.appId, secret: emulator.secret, rateLimit: { calls: 100, windowMs: 60_000 / SPEED } });
    server = createServer(app).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    await client.ensureSubscriptions(`http://127.0.0.1:${(server.address() as AddressInfo).port}${CALLBACK_PATH}`);
    rollouts = createRollouts({ router: upgrades, client, tickMs: 50, now: () => emulator.now() });
    writeFileSync(devices, `# the district's meters\n${Array.from({ length: 60 }, (_, i) => `meter-${i}`).join('\n')}\n`);
  });
  after(async () => {
    await rollouts.close();
    server.close();
    await upgrades.close(1_000);
    await client.close();
    await emulator.close();
    folder.remove();
  });

  const bin = (...args: string[]): ReturnType<typeof runBin> => runBin(['rollout', ...args, '--db', db]);

  it('records a rollout, shows the wave waiting for approval, approves it, and exits 0 once completed', async () => {
    const started = await bin('start', '--id', 'district-7', '--file-id', emulator.packages.firmware.fileId, '--devices', devices, '--waves', '20,100%', '--approve', '2', '--soak', '60000', '--calls-per-minute', '6000');
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, /rollout district-7 recorded/);
    let status = await bin('status', 'district-7');
    await until(async () => /wave 2 waits for approval/.test((status = await bin('status', 'district-7')).stdout), () => `wave 2 to wait for approval: ${status.stdout}${status.stderr}`);
    assert.equal(status.code, 1, 'not completed');
    assert.match(status.stdout, /wave 1 \(canary\): passed, 20 devices, 1 of 1 task created\n {4}succeeded 20, unverified 0, failed 0/);
    const approved = await bin('approve', 'district-7');
    assert.equal(approved.code, 0, approved.stdout + approved.stderr);
    assert.match(approved.stdout, /request \d+ \(approve\): approved/);
    await until(async () => (status = await bin('status', 'district-7')).code === 0, () => `the rollout to complete: ${status.stdout}`);
    assert.match(status.stdout, /^rollout district-7: completed$/m);
    const again = await bin('approve', 'district-7', '--wait-ms', '5000');
    assert.equal(again.code, 1);
    assert.match(again.stdout, /refused: no wave is waiting for approval/);
    const listed = await bin('list', '--json');
    assert.deepEqual((JSON.parse(listed.stdout) as Array<{ id: string; status: string }>).map(({ id, status: state }) => [id, state]), [['district-7', 'completed']]);
    const json = await bin('status', 'district-7', '--json');
    assert.equal((JSON.parse(json.stdout) as { waves: unknown[] }).waves.length, 2);
  });

  it('a retry nothing matches is refused (exit 1); the list as text; requests and flags misused are usage errors', async () => {
    const retry = await bin('retry', 'district-7', '--reason', 'Low battery.', '--code', '4', '--timed-out', '--json');
    assert.equal(retry.code, 1);
    const answer = JSON.parse(retry.stdout) as { request: number; answer: { kind: string; why: string } };
    assert.deepEqual([answer.answer.kind, answer.answer.why], ['refused', 'no failed device matches (or every one has had its 3 tries)']);
    const listed = await bin('list');
    assert.deepEqual(listed.stdout.trimEnd().split('\t').filter((_, i) => i !== 2 && i !== 3), ['district-7', 'completed', '60 devices', '2/2 waves passed']);
    for (const args of [['pause', 'district-7', '--reason', 'x'], ['status', 'a', 'b'], ['start', '--file-id', 'f', '--devices', devices, '--unverified', 'maybe']]) {
      const misused = await bin(...args);
      assert.equal(misused.code, 2, `${args.join(' ')}: ${misused.stdout}${misused.stderr}`);
    }
  });

  it('status of a halted rollout: why, each failure reason, the tasks still running; of a wave under way: its figures so far', async () => {
    const bad = emulator.addPackage({ fileType: 'firmwarePackage', version: 'FW_X', failureRatio: 0.6, failWith: 'Firmware update failed.' });
    await bin('start', '--id', 'bad', '--file-id', bad.fileId, '--devices', devices, '--waves', '30,100%', '--calls-per-minute', '6000', '--max-failures', '5');
    let status = await bin('status', 'bad');
    await until(async () => /: halted$/m.test((status = await bin('status', 'bad')).stdout), () => `the rollout to halt: ${status.stdout}`);
    assert.match(status.stdout, /^ {2}halted at wave 1: \d+ devices failed or timed out: the limit is 5$/m);
    assert.match(status.stdout, /^ {4}\d+ failed: Firmware update failed\.$/m);
    assert.match(status.stdout, /^ {2}still running on the platform \(this API cannot stop a task\): [0-9a-f]{32}$/m);
    // Soaking for ten emulated hours: the wave's figures as the journal has them.
    await bin('start', '--id', 'soak', '--file-id', emulator.packages.firmware.fileId, '--devices', devices, '--waves', '100%', '--calls-per-minute', '6000', '--soak', '36000000');
    await until(async () => /succeeded 60, unverified 0, failed 0, timed out 0, pending 0/.test((status = await bin('status', 'soak')).stdout), () => `the wave's figures: ${status.stdout}`);
    assert.match(status.stdout, /^ {2}wave 1 \(canary\): sent, 60 devices, 1 of 1 task created$/m);
  });

  it('start with every gate flag, as JSON; a request no driver answers exits 1 and says so', async () => {
    const args = ['--max-failure-rate', '0.1', '--min-success-rate', '0.8', '--min-finished', '5', '--max-failures', '9', '--unverified', 'pass', '--timeout', '600000', '--approve', 'all', '--attempts', '2', '--json'];
    const started = await bin('start', '--id', 'flags', '--file-id', emulator.packages.firmware.fileId, '--devices', devices, ...args);
    assert.equal(started.code, 0, started.stderr);
    assert.deepEqual(JSON.parse(started.stdout), { id: 'flags' });
    const shown = JSON.parse((await bin('status', 'flags', '--json')).stdout) as { spec: Record<string, unknown> };
    assert.deepEqual(shown.spec['gate'], { maxFailureRate: 0.1, minSuccessRate: 0.8, minFinished: 5, unverified: 'pass', maxFailures: 9 });
    assert.deepEqual([shown.spec['timeoutMs'], shown.spec['approve'], shown.spec['attempts']], [600_000, 'all', 2]);
    // A journal no receiver drives: the request is kept, and the command says nobody answered.
    const lonely = join(folder.dir, 'lonely.db');
    await sqliteJournal({ path: lonely }).close();
    assert.equal((await runBin(['rollout', 'start', '--db', lonely, '--id', 'x', '--file-id', 'f', '--devices', devices])).code, 0);
    const asked = await runBin(['rollout', 'pause', 'x', '--db', lonely, '--wait-ms', '300']);
    assert.equal(asked.code, 1);
    assert.match(asked.stdout, /^request 1 \(pause\) recorded; no answer yet: is a receiver with createRollouts\(\) running on this journal\?$/m);
  });

  it('a second rollout of the same id, an unknown rollout and a refused plan are usage errors (exit 2)', async () => {
    const twice = await bin('start', '--id', 'district-7', '--file-id', 'f', '--devices', devices);
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /exists already/);
    const unknown = await bin('pause', 'nope');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no rollout named nope/);
    const refused = await bin('start', '--file-id', 'f', '--devices', devices, '--task-size', '300');
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /taskSize must be a whole number from 1 to 256/);
    const rate = await bin('start', '--file-id', 'f', '--devices', devices, '--max-failure-rate', '5');
    assert.equal(rate.code, 2);
    assert.match(rate.stderr, /--max-failure-rate is a share from 0 to 1/);
  });
});
