// @express-seam: the dashboard mounted as a router in each Express major
import assert from 'node:assert/strict';
import { join } from 'node:path';
import fc from 'fast-check';
import request from 'supertest';
import { createUpgradeDashboard, createUpgradeRouter, type DeviceNotification, type TaskSummary, type UpgradeRouter } from 'huawei-iot-upgrade-router';
import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import express from './express';
import { CALLBACK_PATH } from './helpers';
import { runBin, tempFolder } from './support/journal';
import { tick, until } from './support/wait';

const quiet = { error: () => {}, warn: () => {} };
const FW_STEPS = ['0', '1', '2', '3'] as const;
const FW_STATES: Record<string, string> = { '0': 'idle', '1': 'downloading', '2': 'downloaded', '3': 'updating' };

/** A push of the family for device `device` of task `task`, as the platform sends it. */
type Step = (typeof FW_STEPS)[number];

function pushOf(kind: 'swState' | 'swResult' | 'fwState' | 'fwResult', task: string, device: string, value: string, errorCode = '0'): DeviceNotification {
  const ids = { deviceId: device, appId: 'app', operationId: task, subOperationId: `${task}-${device}` };
  switch (kind) {
    case 'swState':
      return { notifyType: 'swUpgradeStateChangeNotify', ...ids, swUpgradeState: value as 'downloading' };
    case 'fwState':
      return { notifyType: 'fwUpgradeStateChangeNotify', ...ids, step: value as Step, stepDesc: FW_STATES[value] ?? '' };
    case 'swResult':
      return {
        notifyType: 'swUpgradeResultNotify',
        ...ids,
        curVersion: value === 'SUCCESS' ? 'V2' : 'V1',
        targetVersion: 'V2',
        sourceVersion: 'V1',
        swUpgradeResult: value as 'SUCCESS',
        upgradeTime: '10',
        resultDesc: '',
        errorCode,
        description: '',
      };
    case 'fwResult':
      return { notifyType: 'fwUpgradeResultNotify', ...ids, curVersion: 'F2', targetVersion: 'F2', sourceVersion: 'F1', status: value as 'SUCCESS', statusDesc: errorCode, upgradeTime: '10' };
  }
}

/** The fold written the plain way, from the whole sequence at once: the oracle the dashboard must match. */
function oracle(pushes: readonly DeviceNotification[]): Map<string, Omit<TaskSummary, 'firstSeen' | 'lastSeen' | 'lastPush' | 'lastFilled' | 'staleAfterMs' | 'operationId' | 'resultsPerMinute'>> {
  const seen = new Set<string>();
  type Device = { state: string | null; result: string | null; errorCode: string | null; target: string | null; source: string | null };
  const devices = new Map<string, Map<string, Device>>();
  const kinds = new Map<string, 'software' | 'firmware'>();
  for (const push of pushes) {
    const text = JSON.stringify(push);
    if (seen.has(text)) continue; // a re-send: the router's duplicate, never folded
    seen.add(text);
    if (!kinds.has(push.operationId)) kinds.set(push.operationId, push.notifyType.startsWith('sw') ? 'software' : 'firmware');
    const task = devices.get(push.operationId) ?? new Map<string, Device>();
    devices.set(push.operationId, task);
    const device = task.get(push.deviceId) ?? { state: null, result: null, errorCode: null, target: null, source: null };
    task.set(push.deviceId, device);
    if (push.notifyType === 'swUpgradeStateChangeNotify') device.state = push.swUpgradeState;
    if (push.notifyType === 'fwUpgradeStateChangeNotify') device.state = FW_STATES[push.step] ?? `step ${push.step}`;
    if (push.notifyType === 'swUpgradeResultNotify') Object.assign(device, { result: push.swUpgradeResult, errorCode: push.swUpgradeResult === 'FAIL' ? push.errorCode : null, target: push.targetVersion, source: push.sourceVersion });
    if (push.notifyType === 'fwUpgradeResultNotify') Object.assign(device, { result: push.status, errorCode: push.status === 'FAIL' ? push.statusDesc : null, target: push.targetVersion, source: push.sourceVersion });
  }
  const summaries = new Map<string, Omit<TaskSummary, 'firstSeen' | 'lastSeen' | 'lastPush' | 'lastFilled' | 'staleAfterMs' | 'operationId' | 'resultsPerMinute'>>();
  for (const [task, list] of devices) {
    const all = [...list.values()];
    const count = (values: Array<string | null>): Record<string, number> => {
      const counts: Record<string, number> = {};
      for (const value of values) if (value !== null) counts[value] = (counts[value] ?? 0) + 1;
      return counts;
    };
    summaries.set(task, {
      kind: kinds.get(task) ?? 'software',
      devices: all.length,
      succeeded: all.filter((d) => d.result === 'SUCCESS').length,
      failed: all.filter((d) => d.result === 'FAIL').length,
      reconciled: 0,
      inProgress: all.filter((d) => d.result === null).length,
      stale: 0,
      states: count(all.filter((d) => d.result === null).map((d) => d.state ?? 'unknown')),
      errorCodes: count(all.filter((d) => d.result === 'FAIL').map((d) => d.errorCode ?? '(none)')),
      targetVersions: count(all.map((d) => d.target)),
      versions: [...new Set(all.filter((d) => d.result !== null).map((d) => `${d.source}>${d.target}`))].sort().map((pair) => {
        const [sourceVersion = '', targetVersion = ''] = pair.split('>');
        const these = all.filter((d) => d.result !== null && d.source === sourceVersion && d.target === targetVersion);
        return { sourceVersion, targetVersion, succeeded: these.filter((d) => d.result === 'SUCCESS').length, failed: these.filter((d) => d.result === 'FAIL').length };
      }),
    });
  }
  return summaries;
}

const pushArbitrary = fc
  .record({
    kind: fc.constantFrom('swState', 'swResult', 'fwState', 'fwResult'),
    task: fc.constantFrom('task-a', 'task-b', 'task-c'),
    device: fc.constantFrom('d1', 'd2', 'd3', 'd4', 'd5'),
    state: fc.constantFrom('downloading', 'downloaded', 'updating', 'idle'),
    step: fc.constantFrom(...FW_STEPS),
    result: fc.constantFrom('SUCCESS', 'FAIL'),
    errorCode: fc.constantFrom('120006', '120010'),
  })
  .map(({ kind, task, device, state, step, result, errorCode }) =>
    pushOf(kind, task, device, kind === 'swState' ? state : kind === 'fwState' ? step : result, errorCode),
  );

describe('the upgrade dashboard', function () {
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  const setUp = (options: { staleAfterMs?: number; journalPath?: string } = {}) => {
    const journal = options.journalPath === undefined ? undefined : sqliteJournal({ path: options.journalPath });
    const router = createUpgradeRouter({ logger: quiet, ...(journal && { journal }) });
    router.on('notification', () => {});
    const dashboard = createUpgradeDashboard({ router, ...(journal && { journal }), ...(options.staleAfterMs === undefined ? {} : { staleAfterMs: options.staleAfterMs }) });
    const app = express();
    app.use(CALLBACK_PATH, router);
    app.use('/upgrades', dashboard);
    cleanup.push(() => router.close(1000), () => dashboard.close());
    return { app, router, dashboard };
  };

  it('folds any sequence of the four types, with re-sends, into counts that add up and match an oracle', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(pushArbitrary, { minLength: 1, maxLength: 60 }).chain((pushes) => fc.tuple(fc.constant(pushes), fc.array(fc.nat(pushes.length - 1), { maxLength: 10 }))), async ([pushes, resends]) => {
        const { router, dashboard } = setUp();
        // Re-sends: some pushes again, right after themselves.
        const sequence = pushes.flatMap((push, i) => (resends.includes(i) ? [push, push] : [push]));
        for (const push of sequence) await router.receive(push);
        const expected = oracle(sequence);
        const tasks = dashboard.tasks();
        assert.equal(tasks.length, expected.size);
        for (const task of tasks) {
          assert.equal(task.succeeded + task.failed + task.inProgress, task.devices);
          assert.ok(task.stale <= task.inProgress);
          const { operationId, firstSeen, lastSeen, lastPush, lastFilled, staleAfterMs, silent, resultsPerMinute, durationMs, estimatedEnd, expected: none, notReported, ...counts } = task;
          assert.deepEqual([lastPush?.getTime(), lastFilled, staleAfterMs, silent], [lastSeen.getTime(), null, 60 * 60_000, 0], 'every result pushed, none silent');
          assert.deepEqual([none, notReported], [null, null], 'no reconciler, no list');
          assert.ok(firstSeen <= lastSeen);
          assert.equal(durationMs, lastSeen.getTime() - firstSeen.getTime());
          // Every result counts in the rate at least once (a SUCCESS after a FAIL twice), all within ten minutes here.
          assert.ok(resultsPerMinute * 10 >= task.succeeded + task.failed, `${resultsPerMinute} a minute for ${task.succeeded + task.failed} results`);
          assert.equal(estimatedEnd === null, task.inProgress === 0 || resultsPerMinute === 0);
          counts.versions.sort((a, b) => `${a.sourceVersion}>${a.targetVersion}`.localeCompare(`${b.sourceVersion}>${b.targetVersion}`));
          assert.deepEqual(counts, expected.get(operationId));
        }
        dashboard.close();
      }),
      { numRuns: 100 },
    );
  });

  it('stays bounded: beyond its limits the least recently active task, then device, is dropped', async () => {
    const router = createUpgradeRouter({ logger: quiet });
    router.on('notification', () => {});
    const dashboard = createUpgradeDashboard({ router, limits: { tasks: 2, devices: 3 } });
    cleanup.push(() => dashboard.close());
    for (const push of [pushOf('swState', 'old', 'a', 'downloading'), pushOf('swState', 'mid', 'b', 'downloading'), pushOf('swState', 'old', 'c', 'downloading')]) await router.receive(push);
    // A third task: 'mid' is now the least recently active one.
    await router.receive(pushOf('swState', 'new', 'd', 'downloading'));
    assert.deepEqual(
      dashboard.tasks().map((task) => [task.operationId, task.devices]),
      [
        ['new', 1],
        ['old', 2],
      ],
    );
    // A fourth device: the least recently active device of the least recently active task ('old', 'a') goes.
    await router.receive(pushOf('swState', 'new', 'e', 'downloading'));
    assert.deepEqual(
      dashboard.devices('old')?.devices.map((device) => device.deviceId),
      ['c'],
    );
    assert.equal(dashboard.task('mid'), undefined);
    assert.throws(() => createUpgradeDashboard({ router, limits: { devices: 0 } }), /limits.devices must be a positive whole number/);
    assert.throws(() => createUpgradeDashboard({} as Parameters<typeof createUpgradeDashboard>[0]), /router is required/);
  });

  it('serves the summaries, a task, a page of its devices, and the devices as CSV; an unknown task is a JSON 404', async () => {
    const { app, router } = setUp();
    const pushes = [
      pushOf('swState', 'op-1', 'dev-1', 'downloading'),
      pushOf('swState', 'op-1', 'dev-2', 'downloading'),
      pushOf('swResult', 'op-1', 'dev-1', 'FAIL', '120006'),
      pushOf('swResult', 'op-1', 'dev-1', 'SUCCESS'),
      pushOf('swState', 'op-1', 'dev-3', 'updating'),
      pushOf('swResult', 'op-1', 'dev-3', 'FAIL', '120010'),
      pushOf('fwState', 'op-2', 'dev-9', '2'),
    ];
    for (const push of pushes) await request(app).post(CALLBACK_PATH).send(push).expect(200);
    await router.drain();
    const tasks = (await request(app).get('/upgrades/api/tasks').expect(200).expect('Content-Type', /application\/json/)).body as Array<Record<string, unknown>>;
    assert.deepEqual(
      tasks.map((task) => task.operationId),
      ['op-2', 'op-1'],
    );
    const { firstSeen, lastSeen, lastPush, lastFilled, staleAfterMs, silent, durationMs, resultsPerMinute, estimatedEnd, expected, notReported, ...summary } = tasks[1] as Record<string, unknown>;
    assert.deepEqual([expected, notReported, lastPush, lastFilled, staleAfterMs, silent], [null, null, lastSeen, null, 60 * 60_000, 0]);
    assert.match(String(firstSeen), /^\d{4}-\d\d-\d\dT/);
    assert.match(String(lastSeen), /^\d{4}-\d\d-\d\dT/);
    assert.equal(typeof durationMs, 'number');
    // Three result pushes (dev-1 twice) this minute, over ten minutes; one device left at that rate.
    assert.equal(resultsPerMinute, 0.3);
    assert.ok(Date.parse(String(estimatedEnd)) > Date.now() + 3 * 60_000, String(estimatedEnd));
    assert.deepEqual(summary, {
      operationId: 'op-1',
      kind: 'software',
      devices: 3,
      succeeded: 1,
      failed: 1,
      reconciled: 0,
      inProgress: 1,
      stale: 0,
      states: { downloading: 1 },
      errorCodes: { '120010': 1 },
      targetVersions: { V2: 2 },
      versions: [{ sourceVersion: 'V1', targetVersion: 'V2', succeeded: 1, failed: 1 }],
    });
    assert.equal((tasks[0] as { kind: string }).kind, 'firmware');
    const detail = (await request(app).get('/upgrades/api/tasks/op-1').expect(200)).body as { task: { devices: number }; devices?: unknown };
    assert.equal(detail.task.devices, 3);
    assert.equal(detail.devices, undefined, 'a task comes without its devices: they come a page at a time');
    const page = (await request(app).get('/upgrades/api/tasks/op-1/devices').expect(200)).body as { total: number; devices: Array<Record<string, unknown>> };
    assert.equal(page.total, 3);
    assert.deepEqual(
      page.devices.map((device) => device.deviceId),
      ['dev-3', 'dev-1', 'dev-2'],
      'most recently active first',
    );
    const dev1 = page.devices.find((device) => device.deviceId === 'dev-1');
    assert.deepEqual(
      { ...dev1, firstSeen: undefined, lastSeen: undefined, history: (dev1?.history as Array<{ notifyType: string; result?: string }>).map((h) => h.result ?? h.notifyType) },
      {
        deviceId: 'dev-1',
        subOperationId: 'op-1-dev-1',
        state: 'succeeded',
        result: 'SUCCESS',
        errorCode: null,
        errorText: null,
        resultDesc: '',
        description: '',
        statusDesc: null,
        reconciled: false,
        sourceVersion: 'V1',
        curVersion: 'V2',
        targetVersion: 'V2',
        upgradeTime: '10',
        firstSeen: undefined,
        lastSeen: undefined,
        stale: false,
        history: ['swUpgradeStateChangeNotify', 'FAIL', 'SUCCESS'],
      },
    );
    const csv = await request(app).get('/upgrades/api/tasks/op-1/devices.csv').expect(200).expect('Content-Type', /text\/csv/);
    const lines = csv.text.split('\r\n');
    assert.equal(lines[0], 'operationId,deviceId,subOperationId,state,result,errorCode,errorText,resultDesc,description,statusDesc,reconciled,sourceVersion,curVersion,targetVersion,upgradeTime,stale,firstSeen,lastSeen');
    assert.equal(lines.length, 5, 'a header, three devices, and the final line end');
    assert.match(lines.find((line) => line.startsWith('op-1,dev-3,')) ?? '', /^op-1,dev-3,op-1-dev-3,failed,FAIL,120010,,,,,false,V1,V1,V2,10,false,\d{4}-/);
    const missing = await request(app).get('/upgrades/api/tasks/op-404').expect(404).expect('Content-Type', /application\/json/);
    assert.deepEqual(missing.body, { error: 'no task "op-404"' });
    await request(app).get('/upgrades/api/tasks/op-404/devices.csv').expect(404);
    await request(app).get('/upgrades/api/tasks/%E0%A4%A').expect(400);
  });

  it('quotes CSV fields as RFC 4180 says, and defuses spreadsheet formulas', async () => {
    const { app, router } = setUp();
    await request(app).post(CALLBACK_PATH).send(pushOf('swResult', 'op-csv', 'a,"b"\nc', 'FAIL', '=HYPERLINK("http://x")')).expect(200);
    await router.drain();
    const csv = (await request(app).get('/upgrades/api/tasks/op-csv/devices.csv').expect(200)).text;
    const row = csv.split('\r\n')[1] ?? '';
    assert.ok(row.startsWith('op-csv,"a,""b""\nc",'), row);
    assert.match(row, /,FAIL,"'=HYPERLINK\(""http:\/\/x""\)",/);
  });

  it('counts a device in progress as stale after staleAfterMs without a push', async () => {
    // 800 ms, not less: on a loaded CI machine the first two posts can take a few hundred.
    const { app, router, dashboard } = setUp({ staleAfterMs: 800 });
    await request(app).post(CALLBACK_PATH).send(pushOf('swState', 'op-s', 'quiet', 'downloading')).expect(200);
    await request(app).post(CALLBACK_PATH).send(pushOf('swState', 'op-s', 'done', 'updating')).expect(200);
    await router.drain();
    assert.equal(dashboard.tasks()[0]?.stale, 0);
    // eslint-disable-next-line no-restricted-syntax -- staleAfterMs is time itself: the device must stay quiet that long
    await tick(850);
    await request(app).post(CALLBACK_PATH).send(pushOf('swResult', 'op-s', 'done', 'SUCCESS')).expect(200);
    await router.drain();
    const [task] = dashboard.tasks();
    assert.deepEqual([task?.inProgress, task?.stale, task?.succeeded], [1, 1, 1]);
    assert.equal(dashboard.devices('op-s')?.devices.find((device) => device.deviceId === 'quiet')?.stale, true);
    // A device's history keeps its last 20 pushes.
    // (each with its own appId: the same push twice would be a duplicate, never folded)
    for (let i = 0; i < 25; i += 1) await router.receive({ ...pushOf('swState', 'op-s', 'busy', 'downloading'), appId: `app-${i}` });
    assert.equal(dashboard.devices('op-s', { search: 'busy' })?.devices[0]?.history.length, 20);
  });

  it('a task of its own "silent for" threshold: stale devices, and the expected ones never heard, are left out of the estimate, which says so', async () => {
    const { app, router, dashboard } = setUp();
    for (const push of [pushOf('swState', 'op-q', 'quiet-1', 'downloading'), pushOf('swState', 'op-q', 'quiet-2', 'downloading'), pushOf('swResult', 'op-q', 'done', 'SUCCESS')]) {
      await request(app).post(CALLBACK_PATH).send(push).expect(200);
    }
    await router.drain();
    dashboard.expect('op-q', ['quiet-1', 'quiet-2', 'done', 'never-1', 'never-2']);
    const task = () => dashboard.tasks().find((one) => one.operationId === 'op-q');
    // Under the dashboard's hour nothing is silent: four devices left at one result a ten minutes.
    assert.deepEqual([task()?.stale, task()?.silent, task()?.staleAfterMs], [0, 0, 60 * 60_000]);
    assert.notEqual(task()?.estimatedEnd, null);
    dashboard.staleAfter('op-q', 0);
    await until(() => task()?.stale === 2, () => `both quiet devices stale under a threshold of 0 ms: ${JSON.stringify(task())}`);
    assert.equal(task()?.staleAfterMs, 0);
    assert.equal(task()?.silent, 4, 'two stale, two expected and never heard');
    assert.equal(task()?.estimatedEnd, null, 'no device left to estimate once the silent are left out');
    assert.equal(dashboard.devices('op-q', { filter: 'stale' })?.total, 2);
    const csv = (await request(app).get('/upgrades/api/tasks.csv').expect(200)).text.split('\r\n');
    const columns = (csv[0] ?? '').split(',');
    const row = (csv.find((line) => line.startsWith('op-q,')) ?? '').split(',');
    assert.deepEqual([row[columns.indexOf('staleAfterMs')], row[columns.indexOf('silent')]], ['0', '4']);
    // Back to the dashboard's threshold.
    dashboard.staleAfter('op-q', undefined);
    assert.deepEqual([task()?.stale, task()?.silent], [0, 0]);
    assert.throws(() => dashboard.staleAfter('op-q', -1), { code: 'ERR_INVALID_ARG_VALUE' });
  });

  it('works on plain node:http too (405 for other methods, 404 JSON elsewhere); a journal that cannot be read is logged once per outage', async () => {
    const router = createUpgradeRouter({ logger: quiet });
    const logged: string[] = [];
    let failing = true;
    const folder = tempFolder('dashboard-plain-');
    cleanup.push(() => folder.remove());
    const real = sqliteJournal({ path: join(folder.dir, 'x.db') });
    let reads = 0;
    const journal = {
      ...real,
      notificationsAfter: (after: string, limit: number) => (failing ? Promise.reject(new Error('disk gone')) : ((reads += 1), real.notificationsAfter(after, limit))),
    };
    const dashboard = createUpgradeDashboard({ router, journal, logger: { error: (message: string) => void logged.push(message) } });
    cleanup.push(() => real.close(), () => dashboard.close());
    await request(dashboard).get('/').expect(200).expect('Content-Type', /text\/html/);
    await request(dashboard).post('/api/tasks').expect(405);
    await request(dashboard).get('/elsewhere').expect(404).expect('Content-Type', /json/);
    await until(() => logged.length > 0, 'the failed read to be logged');
    failing = false;
    const readsBefore = reads;
    await until(() => reads > readsBefore + 1, 'two reads after the recovery');
    // Logged once for the whole outage, however many reads failed in it.
    assert.deepEqual(logged, ['huawei-iot-upgrade-router: the upgrade dashboard could not read the journal (it keeps trying): disk gone']);
    assert.deepEqual(dashboard.tasks(), []);
    // A recovery that read nothing new still ends the outage: the next failure is logged again.
    failing = true;
    await until(() => logged.length === 2, 'the next outage to be logged');
  });

  it('serves one self-contained page under a strict Content-Security-Policy, and redirects the bare mount path', async () => {
    const { app } = setUp();
    await request(app).get('/upgrades').expect(301).expect('Location', '/upgrades/');
    await request(app).get('/upgrades?x=1').expect(301).expect('Location', '/upgrades/?x=1');
    const page = await request(app).get('/upgrades/').expect(200).expect('Content-Type', /text\/html/);
    const csp = page.headers['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
    assert.doesNotMatch(page.text, /<script>|<style>| style=|https?:\/\//);
    await request(app).get('/upgrades/app.js').expect(200).expect('Content-Type', /javascript/);
    await request(app).get('/upgrades/app.css').expect(200).expect('Content-Type', /text\/css/);
    await request(app).get('/upgrades/nothing-here').expect(404);
    await request(app).post('/upgrades/api/tasks').expect(404);
  });

  it('streams a change event when a push arrives', async () => {
    const { app } = setUp();
    const server = app.listen(0);
    cleanup.push(() => server.close());
    const { port } = server.address() as { port: number };
    const controller = new AbortController();
    cleanup.push(() => controller.abort());
    const response = await fetch(`http://127.0.0.1:${port}/upgrades/api/stream`, { signal: controller.signal });
    assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const started = Date.now();
    await fetch(`http://127.0.0.1:${port}${CALLBACK_PATH}`, { method: 'POST', body: JSON.stringify(pushOf('swState', 'op-live', 'd', 'downloading')) });
    while (!text.includes('event: change')) text += new TextDecoder().decode((await reader.read()).value);
    // Pushed as it happens (the heartbeat is 15 s): generous, so that a busy machine does not fail it.
    assert.ok(Date.now() - started < 5000, `the change came after ${Date.now() - started} ms`);
    assert.match(text, /^retry: 1000\n\n/);
  });

  it('with a SQLite journal: the same summaries come back after a restart; duplicates and invalid pushes change nothing', async () => {
    const folder = tempFolder('dashboard-');
    cleanup.push(() => folder.remove());
    const path = join(folder.dir, 'upgrades.db');
    const first = setUp({ journalPath: path });
    const pushes = [pushOf('fwState', 'op-j', 'a', '1'), pushOf('fwResult', 'op-j', 'a', 'FAIL', 'FAIL: timeout'), pushOf('fwResult', 'op-j', 'b', 'SUCCESS')];
    for (const push of [...pushes, pushes[1]]) await request(first.app).post(CALLBACK_PATH).send(push).expect(200);
    await request(first.app).post(CALLBACK_PATH).send({ notifyType: 'fwUpgradeResultNotify', operationId: 'op-j' }).expect(200);
    await until(() => first.dashboard.tasks()[0]?.devices === 2, 'the journal to be read');
    const before = (await request(first.app).get('/upgrades/api/tasks').expect(200)).body as unknown[];
    assert.equal((before[0] as { failed: number }).failed, 1);
    assert.deepEqual((before[0] as { errorCodes: unknown }).errorCodes, { 'FAIL: timeout': 1 });
    for (const step of cleanup.splice(1).reverse()) await step();

    const second = setUp({ journalPath: path });
    await until(() => second.dashboard.tasks().length === 1, 'the journal to be read after the restart');
    const after = (await request(second.app).get('/upgrades/api/tasks').expect(200)).body as unknown[];
    assert.deepEqual(after, before);
  });

  it('simulate --task N plays a whole task: states, a mix of results, a few devices mid-way', async () => {
    const { app, dashboard } = setUp();
    const server = app.listen(0);
    cleanup.push(() => server.close());
    const { port } = server.address() as { port: number };
    const run = await runBin(['simulate', '--task', '40', '--url', `http://127.0.0.1:${port}${CALLBACK_PATH}`]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^task [0-9a-f]{32}: 40 devices, \d+ pushes, all answered 200 in [\d.]+ s$/m);
    assert.match(run.stdout, /^expected: 32 SUCCESS, 6 FAIL, 2 devices mid-way \(no result\)$/m);
    await until(() => dashboard.tasks()[0]?.devices === 40, 'the task to be folded');
    const [task] = dashboard.tasks();
    assert.deepEqual([task?.kind, task?.succeeded, task?.failed, task?.inProgress], ['software', 32, 6, 2]);
    // Failures from the published tables (the emulator's too), not invented codes.
    assert.deepEqual(Object.keys(task?.errorCodes ?? {}).sort(), ['1', '2', '4', '5', '6', '7']);
    const firmware = await runBin(['simulate', '--task', '5', '--type', 'fwUpgradeResultNotify', '--operation', 'fw-op', '--url', `http://127.0.0.1:${port}${CALLBACK_PATH}`]);
    assert.equal(firmware.code, 0);
    assert.match(firmware.stdout, /^expected: 4 SUCCESS, 1 FAIL, 0 devices mid-way/m);
    await until(() => dashboard.task('fw-op')?.task.devices === 5, 'the firmware task');
    assert.equal(dashboard.task('fw-op')?.task.kind, 'firmware');
    assert.match((await runBin(['simulate', '--task', '3', '--repeat', '2'])).stderr, /--task plays a whole task: --repeat does not apply/);
    // What `npm run simulate -- --task 5` runs: the task replaces the demo.
    const viaNpm = await runBin(['simulate', '--demo', '--task', '5', '--operation', 'npm-op', '--url', `http://127.0.0.1:${port}${CALLBACK_PATH}`]);
    assert.match(viaNpm.stdout, /^task npm-op: 5 devices, \d+ pushes, all answered 200/m);
  });
});

export type { UpgradeRouter };
