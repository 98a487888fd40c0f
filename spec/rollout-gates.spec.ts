// Each rule of a rollout, end to end against the emulator (a router with a SQLite journal, HTTP
// pushes): the absolute limit, the success rate, unverified successes, time-outs, a task the platform
// refuses, pause and resume, abort, approvals, a window, retries of timed-out devices and their
// bound, and a tick that fails.
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createUpgradeRouter, type UpgradeRouter } from 'huawei-iot-upgrade-router';
import { createPlatformClient, platformPaths, type PlatformClient } from 'huawei-iot-upgrade-router/platform';
import { startPlatformEmulator, type PlatformEmulator } from 'huawei-iot-upgrade-router/emulator';
import { createRollouts, type RolloutOptions, type Rollouts, type RolloutView } from 'huawei-iot-upgrade-router/rollout';
import { inspectSqliteJournal, sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import express from './express';
import { CALLBACK_PATH } from './helpers';
import { runBin, tempFolder } from './support/journal';
import { until } from './support/wait';

const SPEED = 60;
const MINUTE = 60_000;
const fleet = (count: number): string[] => Array.from({ length: count }, (_, i) => `meter-${String(i).padStart(4, '0')}`);

describe('rollout rules, end to end', function () {
  this.timeout(60_000);
  let emulator: PlatformEmulator;
  let client: PlatformClient;
  let router: UpgradeRouter;
  let server: Server;
  let rollouts: Rollouts;
  let folder: ReturnType<typeof tempFolder>;

  beforeEach(async () => {
    emulator = await startPlatformEmulator({ speed: SPEED, devices: { durationMs: 30_000, failureRatio: 0 } });
    client = createPlatformClient({ url: emulator.url, appId: emulator.appId, secret: emulator.secret, rateLimit: { calls: 100, windowMs: MINUTE / SPEED } });
    folder = tempFolder('rollout-gates-');
    router = createUpgradeRouter({ logger: { error: () => {}, warn: () => {} }, journal: sqliteJournal({ path: join(folder.dir, 'upgrades.db'), spill: false }) });
    router.on('notification', () => {});
    server = express().use(CALLBACK_PATH, router).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    await client.ensureSubscriptions(`http://127.0.0.1:${(server.address() as AddressInfo).port}${CALLBACK_PATH}`);
    rollouts = createRollouts({ router, client, tickMs: 50, now: () => emulator.now() });
  });
  afterEach(async () => {
    await rollouts.close();
    server.close();
    await router.close(1_000);
    await client.close();
    await emulator.close();
    folder.remove();
  });

  const start = (options: Partial<RolloutOptions> & Pick<RolloutOptions, 'fileId' | 'devices'>): Promise<RolloutView> =>
    rollouts.start({ id: 'r', soakMs: MINUTE, callsPerMinute: 6_000, ...options });
  const reaches = async (status: RolloutView['status'], id = 'r'): Promise<RolloutView> => {
    let view: RolloutView | undefined;
    await until(async () => (view = await rollouts.get(id))?.status === status, () => `rollout ${id} to be ${status}: ${view?.status} ${JSON.stringify(view?.timeline.slice(-3).map((entry) => entry.step))}`);
    return view as RolloutView;
  };
  const stepped = async (kind: string, id = 'r'): Promise<void> => {
    await until(async () => (await rollouts.get(id))?.timeline.some((entry) => entry.step.kind === kind) === true, `a ${kind} step`);
  };
  const lastStep = async (): Promise<Record<string, unknown>> => (await rollouts.get('r'))?.timeline.at(-1)?.step as unknown as Record<string, unknown>;
  /** The step that answered request `request`, once there is one. */
  const answerTo = async (request: number): Promise<Record<string, unknown>> => {
    let found: Record<string, unknown> | undefined;
    await until(async () => (found = (await rollouts.get('r'))?.timeline.map((entry): Record<string, unknown> => ({ ...entry.step })).find((step) => step['request'] === request)) !== undefined, `an answer to request ${request}`);
    return found as Record<string, unknown>;
  };

  it('halts at the absolute limit before the rate can be judged', async () => {
    const bad = emulator.addPackage({ fileType: 'firmwarePackage', version: 'FW_9', failureRatio: 0.3 });
    const view = await (start({ fileId: bad.fileId, devices: fleet(100), waves: ['100%'], gate: { maxFailures: 3, minFinished: 100 } }), reaches('halted'));
    // Judged at each tick: the results of one tick may take it past the limit by more than one.
    const [, failed] = /^(\d+) devices failed or timed out: the limit is 3$/.exec(view.halt?.why ?? '') ?? [];
    assert.ok(Number(failed) >= 3, view.halt?.why);
    assert.ok((view.waves[0]?.figures?.pending ?? 0) > 0, 'halted before the wave ended');
  });

  it('breaches the success rate once every device has finished', async () => {
    const meh = emulator.addPackage({ fileType: 'firmwarePackage', version: 'FW_9', failureRatio: 0.2 });
    const view = await (start({ fileId: meh.fileId, devices: fleet(60), waves: ['100%'], gate: { maxFailureRate: 0.9, minSuccessRate: 0.95 } }), reaches('halted'));
    assert.match(view.halt?.why ?? '', /of 60 devices succeeded: at least 95 % must$/);
    assert.equal(view.waves[0]?.figures?.pending, 0);
  });

  it('counts successes without the package\'s version apart: they fail the gate unless it lets them pass', async () => {
    const odd = emulator.addPackage({ fileType: 'firmwarePackage', version: 'FW_9', failureRatio: 0, unverifiedRatio: 0.5 });
    const passed = await (start({ fileId: odd.fileId, devices: fleet(40), waves: ['100%'], gate: { unverified: 'pass' } }), reaches('completed'));
    assert.ok((passed.waves[0]?.figures?.unverified ?? 0) > 0);
    assert.equal(passed.waves[0]?.figures?.failureRate, 0);
    await rollouts.start({ id: 'strict', fileId: odd.fileId, devices: fleet(40).map((device) => `${device}-b`), waves: ['100%'], soakMs: MINUTE, callsPerMinute: 6_000 });
    const halted = await reaches('halted', 'strict');
    assert.ok((halted.waves[0]?.figures?.unverified ?? 0) > 0);
  });

  it('counts devices with no result in time as timed out; a retry of them is bounded by attempts', async () => {
    emulator.setBehaviour({ silentRatio: 0.5 });
    const view = await (start({ fileId: emulator.packages.firmware.fileId, devices: fleet(20), waves: ['100%'], timeoutMs: 2 * MINUTE, attempts: 1, gate: { maxFailureRate: 0.9, minSuccessRate: 0.1 } }), reaches('completed'));
    const timedOut = view.waves[0]?.figures?.timedOut ?? 0;
    assert.ok(timedOut > 0, 'silent devices timed out');
    const answer = await answerTo(await rollouts.retry('r', { timedOut: true }));
    assert.match(String(answer['why']), /every one has had its 1 tries/);
    assert.equal((await rollouts.get('r'))?.timeline.filter((entry) => entry.step.kind === 'completed').length, 1, 'completed once');
  });

  it('halts on a task the platform refuses, and sends it again on resume', async () => {
    emulator.inject({ kind: 'status', status: 400, path: platformPaths.firmwareUpgrade });
    const halted = await (start({ fileId: emulator.packages.firmware.fileId, devices: fleet(10), waves: ['100%'] }), reaches('halted'));
    assert.match(halted.halt?.why ?? '', /^the platform refused task 1 of wave 1 \(10 devices\)/);
    assert.equal(emulator.tasks().length, 0);
    await rollouts.resume('r');
    await reaches('completed');
    assert.equal(emulator.tasks().length, 1);
  });

  it('pauses and resumes; refuses what does not apply; aborts, naming the tasks still running', async () => {
    await start({ fileId: emulator.packages.firmware.fileId, devices: fleet(30), waves: [10, '100%'], soakMs: 60 * MINUTE });
    await stepped('wave-sent');
    await rollouts.pause('r');
    await reaches('paused');
    await rollouts.pause('r');
    await stepped('refused');
    assert.match(String((await lastStep())['why']), /paused already/);
    await rollouts.resume('r');
    await reaches('running');
    await rollouts.resume('r');
    await until(async () => String((await lastStep())['why']).includes('neither paused nor halted'), 'a second resume refused');
    await rollouts.approve('r');
    await until(async () => String((await lastStep())['why']).includes('no wave is waiting'), 'an approve refused');
    await rollouts.abort('r');
    const aborted = await reaches('aborted');
    const step = aborted.timeline.at(-1)?.step as { kind: string; running: string[] };
    assert.equal(step.kind, 'aborted');
    assert.deepEqual(step.running, [emulator.tasks()[0]?.operationId]);
    await rollouts.retry('r');
    await until(async () => String((await lastStep())['why']).includes('aborted'), 'a request after the abort refused');
  });

  it('waits for approval of every wave with approve: all, and for its window', async () => {
    const notBefore = new Date(emulator.now() + 60 * MINUTE).toISOString();
    await start({ fileId: emulator.packages.firmware.fileId, devices: fleet(10), waves: ['100%'], approve: 'all', window: { notBefore, hours: { from: 0, to: 24 } } });
    await reaches('awaiting-approval');
    await rollouts.approve('r');
    await stepped('approved');
    assert.equal((await rollouts.get('r'))?.waves[0]?.status, 'awaiting-approval', 'approved, but not before its window');
    // Another rollout whose hours (UTC, from one hour after this one to this one: wrapping midnight or not) exclude now.
    const hour = new Date(emulator.now() + 61 * MINUTE).getUTCHours();
    await rollouts.start({ id: 'night', fileId: emulator.packages.firmware.fileId, devices: fleet(5), waves: ['100%'], callsPerMinute: 6_000, window: { hours: { from: (hour + 1) % 24, to: hour } } });
    emulator.advance(61 * MINUTE);
    await reaches('completed');
    const night = await rollouts.get('night');
    assert.equal(night?.waves[0]?.status, 'planned', 'outside its hours while the other ran through');
  });

  it('a software package: errorCodes as codes; a retry by code takes those devices; a second retry meanwhile is refused', async () => {
    const software = emulator.addPackage({ fileType: 'softwarePackage', version: 'V9', failureRatio: 0.5, failWith: '4' });
    const done = await (start({ fileId: software.fileId, devices: fleet(40), waves: ['100%'], gate: { maxFailureRate: 0.9, minSuccessRate: 0.1 } }), reaches('completed'));
    assert.deepEqual(done.waves[0]?.figures?.reasons, [{ reason: 'Low battery.', code: '4', devices: done.waves[0]?.figures?.failed }]);
    const failed = new Set<string>();
    for await (const sub of client.subTasks(done.waves[0].tasks[0]?.operationId as string, { status: 'fail' })) failed.add(sub.deviceId);
    const first = await rollouts.retry('r', { codes: ['4'] });
    const second = await rollouts.retry('r');
    assert.equal((await answerTo(first))['kind'], 'retry-wave');
    assert.match(String((await answerTo(second))['why']), /a retry wave is under way already/);
    await until(() => emulator.tasks().length === 2, 'the retry task');
    // The operator's view: the retry wave, the failure reason with its code.
    const status = await runBin(['rollout', 'status', 'r', '--db', join(folder.dir, 'upgrades.db')]);
    assert.match(status.stdout, /^ {2}wave 2 \(retry\): (sending|sent|passed), \d+ devices/m);
    assert.match(status.stdout, /^ {4}\d+ failed: Low battery\. \(errorCode 4\)$/m);
    assert.match(status.stdout, /^ {2}package \S+ \(version V9\), 40 devices, 2 waves$/m);
    const retried = emulator.tasks()[1]?.targets;
    assert.deepEqual(new Set(retried !== undefined && 'devices' in retried ? retried.devices : []), failed);
    assert.equal(emulator.tasks()[1]?.operateType, 'software_upgrade');
  });

  it('a create answered 503: an error event, then the task looked for, made once', async () => {
    const errors: Error[] = [];
    rollouts.on('error', (error) => errors.push(error));
    emulator.inject({ kind: 'status', status: 503, path: platformPaths.firmwareUpgrade });
    await (start({ fileId: emulator.packages.firmware.fileId, devices: fleet(10), waves: ['100%'] }), reaches('completed'));
    assert.match(errors[0]?.message ?? '', /HTTP 503/);
    assert.equal(emulator.tasks().length, 1);
    const created = (await rollouts.get('r'))?.timeline.filter((entry) => entry.step.kind === 'task-created') ?? [];
    assert.equal(created.length, 1);
  });

  it('refuses a rollout it cannot run, and an action it does not know', async () => {
    const devices = fleet(3);
    const fileId = emulator.packages.firmware.fileId;
    const refused: Array<[Partial<RolloutOptions>, RegExp]> = [
      [{ id: 'a b' }, /id must be 1 to 100 letters/],
      [{ gate: { maxFailureRate: 2 } }, /maxFailureRate must be a share from 0 to 1/],
      [{ window: { hours: { from: 25, to: 2 } } }, /from must be a whole hour/],
      [{ window: { hours: { from: 2, to: 2 } } }, /two different hours/],
      [{ window: { notBefore: 'soon' } }, /notBefore must be an ISO time/],
      [{ approve: [0] }, /approve/],
    ];
    for (const [options, message] of refused) {
      await assert.rejects(rollouts.start({ fileId, devices, ...options }), (error: Error & { code?: string }) => error.code === 'ERR_INVALID_OPTION' && message.test(error.message));
    }
    await assert.rejects(rollouts.pause('nope'), { code: 'ERR_ROLLOUT_NOT_FOUND' });
    await start({ fileId, devices, approve: 'all' });
    await assert.rejects(start({ fileId, devices }), { code: 'ERR_ROLLOUT_EXISTS' });
    // A request another release wrote, of an action this one does not know.
    const journal = inspectSqliteJournal({ path: join(folder.dir, 'upgrades.db') });
    const request = await journal.requestRollout('r', 'explode', '{}', new Date());
    await journal.close();
    assert.match(String((await answerTo(request as number))['why']), /no such action: explode/);
    assert.throws(() => createRollouts({ router: {} as never, client }), /router must be a router made by createUpgradeRouter/);
    assert.throws(() => createRollouts({ router, client: {} as never }), /client must be a client made by createPlatformClient/);
    assert.throws(() => createRollouts({ router, client, now: 5 as never }), /now must be a function/);
    assert.throws(() => createRollouts({ router: createUpgradeRouter(), client }), /rollouts live in the router's journal/);
  });

  it('a tick that fails, with no error listener on the rollouts: the router\'s error event', async () => {
    const errors: Error[] = [];
    router.on('error', (error) => errors.push(error));
    await start({ fileId: 'no-such-package', devices: fleet(5) });
    await until(() => errors.length > 0, 'an error event on the router');
    assert.match(errors[0]?.message ?? '', /404/);
  });

  it('an instance that does not drive reads and requests; its defaults are the documented ones', async () => {
    const watcher = createRollouts({ router, client, drive: false });
    try {
      await watcher.start({ id: 'watched', fileId: emulator.packages.firmware.fileId, devices: fleet(5), approve: 'all' });
      const view = await watcher.get('watched');
      assert.deepEqual([view?.spec.plan.soakMs, view?.spec.plan.callsPerMinute, view?.spec.plan.taskSize, view?.spec.timeoutMs, view?.spec.attempts], [30 * MINUTE, 50, 256, 24 * 60 * MINUTE, 3]);
      // The driving instance (the one made in beforeEach) answers what this one records.
      await until(async () => (await watcher.get('watched'))?.status === 'awaiting-approval', 'the driver to start it');
      assert.deepEqual((await watcher.list()).map((rollout) => rollout.id), ['watched']);
    } finally {
      await watcher.close();
    }
  });

  it('a tick that fails is an error event, and the next one goes on', async () => {
    const errors: Error[] = [];
    rollouts.on('error', (error) => errors.push(error));
    await start({ fileId: 'no-such-package', devices: fleet(5) });
    await until(() => errors.length > 0, 'an error event');
    assert.match(errors[0]?.message ?? '', /404/);
    assert.equal((await rollouts.get('r'))?.package, undefined);
  });
});
