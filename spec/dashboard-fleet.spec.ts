// The dashboard at fleet scale and safe to expose: memory bounded in bytes against crafted
// maximum-size pushes, devices paged on the server, streamed exports, bounded streams naming what
// changed, authorize, unambiguous routes, and what a rollout owner asks of it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { createUpgradeDashboard, createUpgradeRouter, type Notification, type UpgradeDashboardOptions } from 'huawei-iot-upgrade-router';
import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import express from './express';
import { CALLBACK_PATH } from './helpers';
import { tempFolder } from './support/journal';
import { until } from './support/wait';

const quiet = { error: () => {}, warn: () => {} };

const ids = (operationId: string, deviceId: string) => ({ deviceId, appId: 'app', operationId, subOperationId: `sub-${operationId}-${deviceId}` });
const state = (operationId: string, deviceId: string, swUpgradeState = 'downloading'): Notification => ({ notifyType: 'swUpgradeStateChangeNotify', ...ids(operationId, deviceId), swUpgradeState: swUpgradeState as 'downloading' });
const result = (operationId: string, deviceId: string, ok: boolean, errorCode = '0', sourceVersion = 'V1'): Notification => ({
  notifyType: 'swUpgradeResultNotify',
  ...ids(operationId, deviceId),
  curVersion: ok ? 'V2' : sourceVersion,
  targetVersion: 'V2',
  sourceVersion,
  swUpgradeResult: ok ? 'SUCCESS' : 'FAIL',
  upgradeTime: 90 + deviceId.length,
  resultDesc: ok ? 'upgraded' : 'upgrade failed',
  errorCode,
  description: ok ? '' : 'battery below 20 %',
});

describe('the dashboard at fleet scale, safe to expose', function () {
  this.timeout(60_000);
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  const setUp = (options: Omit<UpgradeDashboardOptions, 'router'> = {}) => {
    const router = createUpgradeRouter({ logger: quiet, ...(options.journal && { journal: options.journal }) });
    router.on('notification', () => {});
    const dashboard = createUpgradeDashboard({ router, ...options });
    const app = express();
    app.use(CALLBACK_PATH, router);
    app.use('/upgrades', dashboard);
    cleanup.push(() => router.close(1000), () => dashboard.close());
    return { app, router, dashboard };
  };

  it('holds crafted maximum-size pushes within limits.bytes: texts are cut, repeats kept once, the least recently active dropped', async () => {
    // A child with a small heap: before this, the fold kept every field whole (about 0.5 MB a device
    // here) and 1 500 such devices needed 750 MB.
    const run = async (mode: string, count: number, bytes: number) => {
      const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--max-old-space-size=256', join(__dirname, 'support', 'fold-memory.mjs'), mode, String(count), String(bytes)]);
      return JSON.parse(stdout) as { growth: number; kept: number; stats?: { devices: number; bytes: number; droppedDevices: number } };
    };
    const limit = 8 * 1024 * 1024;
    const dashboard = await run('dashboard', 1500, limit);
    const control = await run('keep', 200, 0);
    console.log(`      1 500 crafted devices: the dashboard holds ${dashboard.stats?.devices} in ${(dashboard.growth / 1e6).toFixed(1)} MB of heap (its estimate ${((dashboard.stats?.bytes ?? 0) / 1e6).toFixed(1)} MB, limit ${limit / 1e6} MB); the control keeps 200 of the pushes whole in ${(control.growth / 1e6).toFixed(0)} MB`);
    assert.ok(control.growth > 10 * limit, 'the control: these pushes are big enough to break the limit many times over');
    assert.ok(dashboard.stats !== undefined && dashboard.stats.bytes <= limit);
    assert.ok(dashboard.growth <= limit, `the heap grew ${dashboard.growth} bytes: the estimate must err high`);
    assert.ok(dashboard.stats.devices > 1000 && dashboard.stats.droppedDevices > 0, JSON.stringify(dashboard.stats));
  });

  it('pages, filters, searches and sorts a task\'s devices on the server; a bad query is a 400 (a TypeError in code)', async () => {
    const { app, router, dashboard } = setUp({ errorCodes: { '120006': 'battery too low' } });
    for (let i = 0; i < 2000; i += 1) router.receive(i % 10 === 3 ? result('big', `meter-${String(i).padStart(4, '0')}`, false, i % 20 === 3 ? '120006' : '120010', i % 2 ? 'V1' : 'V0') : state('big', `meter-${String(i).padStart(4, '0')}`));
    await router.drain();
    type Page = { total: number; offset: number; limit: number; devices: Array<{ deviceId: string; errorCode: string | null; errorText: string | null; upgradeTime: string | null }> };
    const get = async (query: string): Promise<Page> => (await request(app).get(`/upgrades/api/tasks/big/devices?${query}`).expect(200)).body as Page;
    const first = await get('');
    assert.deepEqual([first.total, first.offset, first.limit, first.devices.length, first.devices[0]?.deviceId], [2000, 0, 100, 100, 'meter-1999']);
    const third = await get('sort=deviceId&offset=200&limit=50');
    assert.deepEqual(
      third.devices.map((device) => device.deviceId),
      Array.from({ length: 50 }, (_, i) => `meter-${String(200 + i).padStart(4, '0')}`),
    );
    const failed = await get('filter=failed&sort=deviceId&order=desc&limit=1000');
    assert.equal(failed.total, 200);
    assert.equal(failed.devices[0]?.deviceId, 'meter-1993');
    const known = await get('filter=errorCode%3A120006');
    assert.equal(known.total, 100);
    assert.ok(known.devices.every((device) => device.errorText === 'battery too low'));
    assert.equal((await get('filter=sourceVersion%3AV0')).total, 0, 'every failed meter has an odd index here');
    const found = await get('search=METER-077');
    assert.deepEqual(
      found.devices.map((device) => device.deviceId).sort(),
      Array.from({ length: 10 }, (_, i) => `meter-077${i}`),
    );
    assert.equal((await get('search=.*')).total, 0, 'the search is text, not a pattern');
    const slowest = await get('filter=failed&sort=upgradeTime&order=desc&limit=1');
    assert.equal(slowest.devices[0]?.upgradeTime, '100');
    for (const bad of ['limit=0', 'limit=1001', 'offset=-1', 'sort=secret', 'order=up', 'filter=nothing']) {
      const refused = await request(app).get(`/upgrades/api/tasks/big/devices?${bad}`).expect(400).expect('Content-Type', /json/);
      assert.match((refused.body as { error: string }).error, /must be/);
    }
    // Least recently active first, unfiltered: the map's own order, paged.
    assert.deepEqual(
      dashboard.devices('big', { order: 'asc', offset: 2, limit: 2 })?.devices.map((device) => device.deviceId),
      ['meter-0002', 'meter-0003'],
    );
    assert.throws(() => dashboard.devices('big', { limit: 5000 }), TypeError);
    assert.equal(dashboard.devices('nothing'), undefined);
  });

  it('streams a task\'s CSV following the filter and search, and an export of every task and of every device', async () => {
    const { app, router } = setUp({ errorCodes: { '120006': 'battery too low' } });
    for (let i = 0; i < 3000; i += 1) router.receive(result('csv-a', `dev-${i}`, i % 3 !== 0, '120006'));
    router.receive(state('csv-b', 'other'));
    await router.drain();
    const csv = await request(app).get('/upgrades/api/tasks/csv-a/devices.csv?filter=failed&search=dev-1').expect(200).expect('Content-Type', /text\/csv/);
    assert.match(String(csv.headers['content-disposition']), /attachment; filename="task-csv-a.csv"/);
    const lines = csv.text.trimEnd().split('\r\n');
    const expected = Array.from({ length: 3000 }, (_, i) => i).filter((i) => i % 3 === 0 && String(i).startsWith('1')).length;
    assert.equal(lines.length, 1 + expected);
    assert.ok(lines.slice(1).every((line) => /^csv-a,dev-1\d*,sub-csv-a-dev-1\d*,failed,FAIL,120006,battery too low,upgrade failed,battery below 20 %,,false,V1,V1,V2,9\d,false,/.test(line)), lines[1]);
    const tasks = (await request(app).get('/upgrades/api/tasks.csv').expect(200)).text.trimEnd().split('\r\n');
    assert.equal(tasks[0], 'operationId,kind,devices,expected,notReported,succeeded,failed,reconciled,inProgress,stale,staleAfterMs,missing,stuck,resultsPerMinute,firstSeen,lastSeen,lastPush,lastFilled,silent,estimatedEnd');
    assert.match(tasks.find((line) => line.startsWith('csv-a,')) ?? '', /^csv-a,software,3000,,,2000,1000,0,0,0,3600000,,,300,/);
    const all = (await request(app).get('/upgrades/api/devices.csv').expect(200)).text.trimEnd().split('\r\n');
    assert.equal(all.length, 1 + 3001);
    assert.ok(all[1]?.startsWith('csv-b,other,'), 'most recently active task first');
    await request(app).get('/upgrades/api/devices.csv?limit=0').expect(400);

    // A reader that goes away mid-export stops it; the receiver goes on answering.
    const server = app.listen(0, '127.0.0.1');
    cleanup.push(() => server.close());
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as { port: number };
    const chunks = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/upgrades/api/devices.csv' }, (res: IncomingMessage) => {
        let count = 0;
        res.on('data', () => {
          count += 1;
          if (count === 2) {
            req.destroy();
            resolve(count);
          }
        });
      });
      req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? undefined : reject(error)));
      req.end();
    });
    assert.equal(chunks, 2, 'the export arrives in pieces');
    await request(app).post(CALLBACK_PATH).send(state('csv-c', 'after')).expect(200);
  });

  it('keeps routes unambiguous: a task named x.csv is a task, never another task\'s CSV', async () => {
    const { app, router } = setUp();
    router.receive(state('x', 'one'));
    router.receive(state('x.csv', 'two'));
    router.receive(state('a/b', 'three'));
    await router.drain();
    const named = (await request(app).get('/upgrades/api/tasks/x.csv').expect(200)).body as { task: { operationId: string } };
    assert.equal(named.task.operationId, 'x.csv');
    assert.match((await request(app).get('/upgrades/api/tasks/x/devices.csv').expect(200)).text, /^operationId,.*\r\nx,one,/);
    assert.match((await request(app).get('/upgrades/api/tasks/x.csv/devices.csv').expect(200)).text, /\r\nx\.csv,two,/);
    assert.equal(((await request(app).get('/upgrades/api/tasks/a%2Fb').expect(200)).body as { task: { operationId: string } }).task.operationId, 'a/b');
    await request(app).get('/upgrades/api/tasks/a/b').expect(404);
  });

  it('caps the live streams, ends each after its lifetime, and names the tasks that changed', async () => {
    const { app, router } = setUp({ limits: { streams: 2, streamLifetimeMs: 2500 } });
    const server = app.listen(0, '127.0.0.1');
    cleanup.push(() => server.close());
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/upgrades/api/stream`;
    const controller = new AbortController();
    cleanup.push(() => controller.abort());
    const first = await fetch(url, { signal: controller.signal });
    const second = await fetch(url, { signal: controller.signal });
    assert.equal(second.status, 200);
    const refused = await fetch(url);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '10');
    assert.match(((await refused.json()) as { error: string }).error, /too many live streams/);

    const reader = (first.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    router.receive(state('named-1', 'd'));
    router.receive(state('named-2', 'd'));
    while (!text.includes('event: change')) text += decoder.decode((await reader.read()).value);
    const data = /event: change\ndata: (.*)\n/.exec(text)?.[1] ?? '';
    assert.deepEqual((JSON.parse(data) as { tasks: string[] }).tasks.sort(), ['named-1', 'named-2']);
    // More than a hundred tasks changed at once: the message says "any" (null) instead of naming them.
    text = '';
    for (let i = 0; i < 101; i += 1) router.receive(state(`many-${i}`, 'd'));
    while (!text.includes('event: change')) text += decoder.decode((await reader.read()).value);
    assert.equal((JSON.parse(/event: change\ndata: (.*)\n/.exec(text)?.[1] ?? '') as { tasks: unknown }).tasks, null);
    // The lifetime: the server ends the stream (EventSource opens a new one a second later).
    const started = Date.now();
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
    }
    assert.ok(Date.now() - started < 5000);
    await until(async () => (await fetch(url, { signal: controller.signal })).status === 200, 'a slot to be free again');
  });

  it('authorize decides every request: page, API, export and stream; a throw refuses and is logged', async () => {
    const logged: string[] = [];
    let verdict: 'yes' | 'no' | 'later' | 'throw' | 'reject' | 'nothing' = 'no';
    const { app, router } = setUp({
      logger: { error: (message: string) => void logged.push(message) },
      authorize: (req) => {
        if (verdict === 'throw') throw new Error('token store down');
        if (verdict === 'reject') return Promise.reject(new Error('token store gone'));
        if (verdict === 'nothing') return undefined as unknown as boolean;
        if (verdict === 'later') return Promise.resolve(req.headers.authorization === 'Bearer s3cret');
        return verdict === 'yes';
      },
    });
    router.receive(state('private', 'd'));
    await router.drain();
    for (const path of ['/', '/app.js', '/api/tasks', '/api/tasks/private', '/api/tasks/private/devices.csv', '/api/devices.csv', '/api/stream', '/api/health']) {
      await request(app).get(`/upgrades${path}`).expect(403).expect('Content-Type', /json/);
    }
    verdict = 'yes';
    await request(app).get('/upgrades/api/tasks').expect(200);
    verdict = 'later';
    await request(app).get('/upgrades/api/tasks').expect(403);
    await request(app).get('/upgrades/api/tasks').set('Authorization', 'Bearer s3cret').expect(200);
    verdict = 'throw';
    await request(app).get('/upgrades/api/tasks').expect(403);
    verdict = 'reject';
    await request(app).get('/upgrades/api/tasks').expect(403);
    verdict = 'nothing';
    await request(app).get('/upgrades/api/tasks').expect(403);
    assert.deepEqual(logged, [
      "huawei-iot-upgrade-router: the upgrade dashboard's authorize threw; the request was refused: token store down",
      "huawei-iot-upgrade-router: the upgrade dashboard's authorize threw; the request was refused: token store gone",
    ]);
    // The pushes themselves are not the dashboard's: authorize never stands in their way.
    await request(app).post(CALLBACK_PATH).send(state('private', 'e')).expect(200);
    assert.throws(() => createUpgradeDashboard({ router, authorize: 'yes' as unknown as () => boolean }), /authorize must be a function/);
    assert.throws(() => createUpgradeDashboard({ router, errorCodes: { a: 1 } as unknown as Record<string, string> }), /errorCodes must map each code to a text/);
  });

  it('answers the owner: final states, failure texts, versions across tasks, time figures, and the journal\'s health', async () => {
    const folder = tempFolder('dashboard-fleet-');
    cleanup.push(() => folder.remove());
    const journal = sqliteJournal({ path: join(folder.dir, 'j.db') });
    cleanup.push(() => journal.close());
    const { app } = setUp({ journal, errorCodes: { '120006': 'battery too low' } });
    const post = (body: unknown) => request(app).post(CALLBACK_PATH).send(body as object).expect(200);
    await post(state('t1', 'a', 'updating'));
    await post(result('t1', 'a', true));
    // A state that overtook nothing: it arrives after the result and does not undo it.
    await post({ ...state('t1', 'a', 'updating'), appId: 'late' });
    await post(result('t1', 'b', false, '120006'));
    await post(result('t2', 'c', true));
    await post(result('t2', 'd', false, '120010', 'V0'));
    await post({ notifyType: 'swUpgradeResultNotify', deviceId: 'broken' });
    await until(async () => ((await request(app).get('/upgrades/api/tasks').expect(200)).body as unknown[]).length === 2, 'the journal to be read');
    type Row = { deviceId: string; state: string; description: string | null; resultDesc: string | null; errorText: string | null };
    const devices = ((await request(app).get('/upgrades/api/tasks/t1/devices?sort=deviceId').expect(200)).body as { devices: Row[] }).devices;
    assert.deepEqual(
      devices.map((device) => [device.deviceId, device.state, device.resultDesc, device.description, device.errorText]),
      [
        ['a', 'succeeded', 'upgraded', '', null],
        ['b', 'failed', 'upgrade failed', 'battery below 20 %', 'battery too low'],
      ],
    );
    const detail = (await request(app).get('/upgrades/api/tasks/t1').expect(200)).body as { errorTexts: Record<string, string>; task: { versions: unknown; durationMs: number; estimatedEnd: string | null } };
    assert.deepEqual(detail.errorTexts, { '120006': 'battery too low' });
    assert.deepEqual(detail.task.versions, [{ sourceVersion: 'V1', targetVersion: 'V2', succeeded: 1, failed: 1 }]);
    assert.equal(detail.task.estimatedEnd, null, 'every device seen has its result');
    const versions = (await request(app).get('/upgrades/api/versions').expect(200)).body as unknown[];
    assert.deepEqual(
      new Set(versions.map((v) => JSON.stringify(v))),
      new Set([JSON.stringify({ sourceVersion: 'V1', targetVersion: 'V2', succeeded: 2, failed: 1 }), JSON.stringify({ sourceVersion: 'V0', targetVersion: 'V2', succeeded: 0, failed: 1 })]),
    );
    // The journal's figures are read every 2 s.
    let health: { journal: { invalid: number; pending: number } | null; actions: string[] } = { journal: null, actions: [] };
    await until(
      async () => {
        health = (await request(app).get('/upgrades/api/health').expect(200)).body as typeof health;
        return health.journal?.invalid === 1;
      },
      'the journal counts',
    );
    assert.ok(health.actions.some((action) => action.includes('1 invalid pushes kept: `huawei-iot-upgrade-router journal (--db FILE | --postgres URL) invalid`')), health.actions.join('\n'));
    await new Promise(setImmediate);
  });

  it('health without a journal: invalid pushes since start, and the devices dropped to stay within the limits', async () => {
    const { app, router, dashboard } = setUp({ limits: { devices: 1 } });
    router.receive(state('first', 'a'));
    router.receive(state('second', 'b'));
    await request(app).post(CALLBACK_PATH).send({ notifyType: 'swUpgradeStateChangeNotify' }).expect(200);
    await router.drain();
    assert.deepEqual(
      dashboard.tasks().map((task) => task.operationId),
      ['second'],
      'the first task went with its only device',
    );
    assert.deepEqual([dashboard.stats().droppedDevices, dashboard.stats().droppedTasks], [1, 1]);
    const health = (await request(app).get('/upgrades/api/health').expect(200)).body as { journal: unknown; actions: string[] };
    assert.equal(health.journal, null);
    assert.deepEqual(health.actions, [
      '1 invalid pushes since start: without a journal they are only in the invalid events (log them).',
      'the dashboard dropped 1 least recently active devices to stay within its limits (limits.devices, limits.bytes).',
    ]);
  });

  it('health with a journal: dead and retrying entries, each with the command that acts on it', async () => {
    const folder = tempFolder('dashboard-health-');
    cleanup.push(() => folder.remove());
    const journal = sqliteJournal({ path: join(folder.dir, 'j.db') });
    const router = createUpgradeRouter({ logger: quiet, journal, delivery: { attempts: 1, backoffMs: 60_000 } });
    router.on('upgradeState', () => {
      throw new Error('listener down');
    });
    router.on('error', () => {});
    const dashboard = createUpgradeDashboard({ router, journal });
    cleanup.push(() => router.close(1000), () => dashboard.close());
    router.receive(state('sick', 'a'));
    // A firmware state nobody listens to, received ten minutes ago: it waits in the journal.
    router.receive({ notifyType: 'fwUpgradeStateChangeNotify', ...ids('sick', 'fw'), step: '1', stepDesc: 'downloading' }, { receivedAt: new Date(Date.now() - 10 * 60_000) });
    await until(() => (dashboard.health().journal?.dead ?? 0) === 1, 'the entry to die and be counted');
    assert.ok(dashboard.health().actions.some((action) => /^the oldest pending entry waits for 1\d min: is a listener attached for every event in pendingByEvent\?$/.test(action)), dashboard.health().actions.join('\n'));
    assert.ok(dashboard.health().actions.some((action) => action.startsWith('1 dead entries (out of attempts): `huawei-iot-upgrade-router journal (--db FILE | --postgres URL) dead`')), dashboard.health().actions.join('\n'));
    const retrying = createUpgradeRouter({ logger: quiet, journal: sqliteJournal({ path: join(folder.dir, 'k.db') }), delivery: { attempts: 5, backoffMs: 60_000 } });
    retrying.on('upgradeState', () => {
      throw new Error('listener down');
    });
    retrying.on('error', () => {});
    const second = createUpgradeDashboard({ router: retrying });
    cleanup.push(() => retrying.close(1000), () => second.close());
    retrying.receive(state('sick', 'b'));
    await until(() => (second.health().journal?.retrying ?? 0) === 1, 'the entry to wait for its next attempt');
    assert.ok(second.health().actions.some((action) => action.startsWith('1 entries are retrying after failed deliveries')), second.health().actions.join('\n'));
    // A journal whose commits fail: the push is answered from memory, and the failure is counted.
    const real = sqliteJournal({ path: join(folder.dir, 'l.db') });
    const failing = { ...real, spill: false as const, append: () => Promise.reject(new Error('disk full')) };
    const broken = createUpgradeRouter({ logger: quiet, journal: failing });
    broken.on('notification', () => {});
    broken.on('error', () => {});
    const third = createUpgradeDashboard({ router: broken });
    cleanup.push(() => broken.close(1000), () => third.close());
    broken.receive(state('sick', 'c'));
    await until(() => (third.health().journal?.errors ?? 0) > 0, 'the failed commit to be counted');
    assert.ok(third.health().actions.some((action) => /^\d+ journal operations failed since start: see the router's error events in the log\.$/.test(action)), third.health().actions.join('\n'));
  });

  it('sorts by every key and filters by every kind, as an independent comparison says', async () => {
    const { router, dashboard } = setUp({ staleAfterMs: 60_000 });
    const now = Date.now();
    // A mixed task: results with numeric and textual upgrade times, states, stale devices, several versions.
    for (let i = 0; i < 60; i += 1) {
      const id = `dev-${String((i * 37) % 60).padStart(2, '0')}`;
      // In the order received (the fold's activity order is the order pushes arrive): the first fifteen two minutes ago.
      const at = new Date(now - (i < 15 ? 120_000 : 0) + i);
      const body =
        i % 3 === 0
          ? state('mixed', id, ['downloading', 'updating'][i % 2] ?? 'idle')
          : { ...result('mixed', id, i % 3 === 1, `12000${i % 4}`, `V${i % 3}`), upgradeTime: i % 5 === 0 ? 'n/a' : String((i * 13) % 100) };
      router.receive(body, { receivedAt: at });
    }
    await router.drain();
    const all = dashboard.devices('mixed', { limit: 1000 })?.devices ?? [];
    assert.equal(all.length, 60);
    type Row = (typeof all)[number];
    const expectOrder = (rows: Row[], key: 'deviceId' | 'state' | 'result' | 'errorCode' | 'sourceVersion' | 'targetVersion' | 'upgradeTime' | 'firstSeen' | 'lastSeen', order: 'asc' | 'desc'): void => {
      const value = (row: Row): string | number | null => {
        if (key === 'firstSeen' || key === 'lastSeen') return row[key].getTime();
        if (key === 'upgradeTime') return row.upgradeTime === null || row.upgradeTime === '' || Number.isNaN(Number(row.upgradeTime)) ? null : Number(row.upgradeTime);
        return row[key];
      };
      // Nulls (and upgrade times that are not numbers) last in ascending order, first in descending.
      const ranked = (row: Row): [number, string | number] => {
        const v = value(row);
        return v === null ? [1, ''] : [0, v];
      };
      for (let i = 1; i < rows.length; i += 1) {
        const [a, b] = order === 'asc' ? [rows[i - 1], rows[i]] : [rows[i], rows[i - 1]];
        if (a === undefined || b === undefined) continue;
        const [na, va] = ranked(a);
        const [nb, vb] = ranked(b);
        assert.ok(na < nb || (na === nb && (na === 1 || va <= vb)), `${key} ${order}: ${String(value(a))} before ${String(value(b))}`);
      }
    };
    for (const sort of ['deviceId', 'state', 'result', 'errorCode', 'sourceVersion', 'targetVersion', 'upgradeTime', 'firstSeen', 'lastSeen'] as const) {
      for (const order of ['asc', 'desc'] as const) {
        const rows = dashboard.devices('mixed', { sort, order, limit: 1000 })?.devices ?? [];
        assert.equal(rows.length, 60);
        if (sort !== 'upgradeTime' || order === 'asc') expectOrder(rows, sort, order);
      }
    }
    const count = (filter: Parameters<typeof dashboard.devices>[1]): number | undefined => dashboard.devices('mixed', filter)?.total;
    assert.equal(count({ filter: 'succeeded' }), all.filter((d) => d.result === 'SUCCESS').length);
    assert.equal(count({ filter: 'failed' }), all.filter((d) => d.result === 'FAIL').length);
    assert.equal(count({ filter: 'in progress' }), all.filter((d) => d.result === null).length);
    assert.equal(count({ filter: 'stale' }), all.filter((d) => d.stale).length);
    assert.ok((count({ filter: 'stale' }) ?? 0) > 0, 'some devices were last heard two minutes ago');
    assert.equal(count({ filter: 'reconciled' }), 0);
    assert.equal(count({ filter: 'state:updating' }), all.filter((d) => d.result === null && d.state === 'updating').length);
    assert.equal(count({ filter: 'sourceVersion:V1', search: 'DEV-1' }), all.filter((d) => d.sourceVersion === 'V1' && d.deviceId.startsWith('dev-1')).length);
  });

  it('never drops the device just folded, however small limits.bytes is; the rate counts the last ten minutes only', async () => {
    const tiny = setUp({ limits: { bytes: 1000 } });
    tiny.router.receive(state('one', 'a'));
    assert.equal(tiny.dashboard.stats().devices, 1, 'kept: it is the one just folded');
    tiny.router.receive(state('one', 'b'));
    assert.deepEqual(
      tiny.dashboard.devices('one')?.devices.map((device) => device.deviceId),
      ['b'],
    );
    const { router, dashboard } = setUp();
    const now = Date.now();
    const at = (minutesAgo: number) => ({ receivedAt: new Date(now - minutesAgo * 60_000) });
    router.receive(result('paced', 'old-1', true), at(30));
    router.receive(result('paced', 'old-2', true), at(30));
    router.receive(result('paced', 'mid-1', true), at(5));
    router.receive(result('paced', 'mid-2', false), at(5));
    router.receive(result('paced', 'mid-3', true), at(4));
    router.receive(result('paced', 'new-1', true), at(0));
    router.receive(state('paced', 'waiting'), at(0));
    await router.drain();
    const [task] = dashboard.tasks();
    assert.ok(task !== undefined);
    assert.equal(task.resultsPerMinute, 0.4, 'four results in the last ten minutes');
    // One device left at 0.4 a minute: two and a half minutes.
    const end = task.estimatedEnd;
    assert.ok(end !== null);
    assert.ok(Math.abs(end.getTime() - Date.now() - 150_000) < 5000, end.toISOString());
    assert.equal(task.durationMs, 30 * 60_000);
  });

  it('expect(): a list of the devices a task should reach gives its expected count, and which never reported', async () => {
    const { app, router, dashboard } = setUp();
    const fleet = Array.from({ length: 500 }, (_, i) => `meter-${i}`);
    dashboard.expect('listed', fleet);
    await request(app).get('/upgrades/api/tasks/listed').expect(404);
    const early = (await request(app).get('/upgrades/api/tasks/listed/not-reported?limit=3').expect(200)).body as { total: number; deviceIds: string[] };
    assert.deepEqual(early, { total: 500, offset: 0, limit: 3, deviceIds: ['meter-0', 'meter-1', 'meter-2'] });
    for (let i = 0; i < 500; i += 2) router.receive(result('listed', `meter-${i}`, true));
    router.receive(result('listed', 'stranger', true));
    await router.drain();
    const [task] = dashboard.tasks();
    assert.deepEqual([task?.devices, task?.expected, task?.notReported], [251, 500, 250]);
    // 251 results of 500 expected: 249 left (the stranger counts as a result).
    assert.ok(task?.estimatedEnd instanceof Date);
    const page = (await request(app).get('/upgrades/api/tasks/listed/not-reported?offset=1&limit=2').expect(200)).body as { total: number; deviceIds: string[] };
    assert.deepEqual(page, { total: 250, offset: 1, limit: 2, deviceIds: ['meter-3', 'meter-5'] });
    assert.match((await request(app).get('/upgrades/api/tasks.csv').expect(200)).text, /\r\nlisted,software,251,500,250,251,0,/);
    // A new list replaces the old one.
    dashboard.expect('listed', ['meter-0', 'meter-1']);
    assert.deepEqual([dashboard.tasks()[0]?.expected, dashboard.tasks()[0]?.notReported], [2, 1]);
    assert.deepEqual(dashboard.notReported('listed')?.deviceIds, ['meter-1']);
    assert.equal(dashboard.notReported('unlisted'), undefined);
    await request(app).get('/upgrades/api/tasks/unlisted/not-reported').expect(404);
    await request(app).get('/upgrades/api/tasks/listed/not-reported?limit=0').expect(400);
    assert.throws(() => dashboard.expect('listed', 5 as unknown as string[]), /takes a task id and an iterable of device ids/);
    // The list counts in limits.bytes: a list bigger than the budget makes room by dropping devices.
    const small = setUp({ limits: { bytes: 200_000 } });
    for (let i = 0; i < 100; i += 1) small.router.receive(state('room', `d-${i}`));
    const before = small.dashboard.stats();
    small.dashboard.expect('room', Array.from({ length: 1500 }, (_, i) => `listed-device-${i}`));
    const after = small.dashboard.stats();
    assert.ok(after.bytes <= 200_000 && after.devices < before.devices, `${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
  });
});
