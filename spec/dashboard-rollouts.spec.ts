/// <reference lib="dom" />
// The dashboard's rollouts: over HTTP (the JSON views, the actions behind rolloutActions and a JSON
// body) and in a real browser (a halted rollout's waves against their thresholds, its reason, and an
// action from the page), on a router with a journal, against the emulator.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import request from 'supertest';
import { createUpgradeDashboard, createUpgradeRouter } from 'huawei-iot-upgrade-router';
import { createPlatformClient, type PlatformClient } from 'huawei-iot-upgrade-router/platform';
import { startPlatformEmulator, type PlatformEmulator } from 'huawei-iot-upgrade-router/emulator';
import { createRollouts, type Rollouts } from 'huawei-iot-upgrade-router/rollout';
import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import express, { type Express } from './express';
import { CALLBACK_PATH } from './helpers';
import { tempFolder } from './support/journal';
import { until } from './support/wait';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SPEED = 120;

describe('the dashboard\'s rollouts', function () {
  this.timeout(60_000);
  let emulator: PlatformEmulator;
  let client: PlatformClient;
  let rollouts: Rollouts;
  let server: Server;
  let app: Express;
  const folder = tempFolder('dashboard-rollouts-');
  const router = createUpgradeRouter({ logger: { error: () => {}, warn: () => {} }, journal: sqliteJournal({ path: join(folder.dir, 'upgrades.db') }) });
  router.on('firmwareUpgradeResult', () => {});
  const steering = createUpgradeDashboard({ router, rolloutActions: true });
  const watching = createUpgradeDashboard({ router });

  before(async () => {
    emulator = await startPlatformEmulator({ speed: SPEED, devices: { durationMs: 30_000, failureRatio: 0 } });
    client = createPlatformClient({ url: emulator.url, appId: emulator.appId, secret: emulator.secret, rateLimit: { calls: 100, windowMs: 60_000 / SPEED } });
    app = express();
    app.use(CALLBACK_PATH, router);
    app.use('/steer', steering);
    app.use('/watch', watching);
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    await client.ensureSubscriptions(`http://127.0.0.1:${(server.address() as { port: number }).port}${CALLBACK_PATH}`);
    rollouts = createRollouts({ router, client, tickMs: 50, now: () => emulator.now() });
    const bad = emulator.addPackage({ fileType: 'firmwarePackage', version: 'FW_3.0.0', failureRatio: 0.5, failWith: 'Firmware update failed.' });
    await rollouts.start({ id: 'bad-firmware', fileId: bad.fileId, devices: Array.from({ length: 200 }, (_, i) => `meter-${i}`), waves: [40, '100%'], soakMs: 60_000, callsPerMinute: 6_000 });
    await until(async () => (await rollouts.get('bad-firmware'))?.status === 'halted', 'the rollout to halt');
  });
  after(async () => {
    await rollouts.close();
    server.close();
    steering.close();
    watching.close();
    await router.close(1_000);
    await client.close();
    await emulator.close();
    folder.remove();
  });

  it('lists the rollouts and shows one with its waves, figures and halt', async () => {
    const list = await request(app).get('/watch/api/rollouts').expect(200);
    assert.deepEqual((list.body as Array<{ id: string; status: string }>).map(({ id, status }) => [id, status]), [['bad-firmware', 'halted']]);
    const one = await request(app).get('/watch/api/rollouts/bad-firmware').expect(200);
    const view = one.body as { waves: Array<{ status: string; figures?: { failed: number; reasons: Array<{ reason: string }> } }>; halt: { why: string } };
    assert.deepEqual(view.waves.map((wave) => wave.status), ['breached', 'planned']);
    assert.equal(view.waves[0]?.figures?.reasons[0]?.reason, 'Firmware update failed.');
    assert.match(view.halt.why, /failed or timed out/);
    await request(app).get('/watch/api/rollouts/nope').expect(404);
  });

  it('takes actions only with rolloutActions, as a JSON POST; refuses what it cannot take', async () => {
    const off = await request(app).post('/watch/api/rollouts/bad-firmware/abort').set('content-type', 'application/json').send('{}').expect(403);
    assert.match((off.body as { error: string }).error, /rolloutActions: true/);
    await request(app).post('/steer/api/rollouts/bad-firmware/abort').type('form').send('a=1').expect(415);
    await request(app).post('/steer/api/rollouts/bad-firmware/retry').set('content-type', 'application/json').send('{"reasons":"x"}').expect(400);
    await request(app).post('/steer/api/rollouts/bad-firmware/retry').set('content-type', 'application/json').send('{"reason":["x"]}').expect(400);
    await request(app).post('/steer/api/rollouts/bad-firmware/explode').set('content-type', 'application/json').send('{}').expect(404);
    await request(app).get('/steer/api/rollouts/bad-firmware/pause').expect(405);
    await request(app).post('/steer/api/rollouts/nope/pause').set('content-type', 'application/json').send('{}').expect(404);
    await request(app).post('/steer/api/rollouts').set('content-type', 'application/json').send('{}').expect(405);
    await request(app).post('/steer/api/rollouts/bad-firmware/retry').set('content-type', 'application/json').send('{"reasons": [').expect(400);
    await request(app).post('/steer/api/rollouts/bad-firmware/retry').set('content-type', 'application/json').send(`{"reasons": ["${'x'.repeat(20_000)}"]}`).expect(413);
    await request(app).get('/steer/api/rollouts/%E0').expect(400);
    await request(app).post('/steer/api/rollouts/bad-firmware/retry').set('content-type', 'application/json').send('["Low battery."]').expect(400);
    await request(app).post('/steer/api/rollouts/bad-firmware/retry').set('content-type', 'application/json').send('{"timedOut":"yes"}').expect(400);
    await request(app).post('/steer/api/rollouts/bad-firmware/pause').expect(415);
    const retried = await request(app).post('/steer/api/rollouts/bad-firmware/retry').set('content-type', 'application/json').send('{"reasons":["Firmware update failed."],"codes":["7"],"timedOut":true}').expect(202);
    assert.equal(typeof (retried.body as { request: number }).request, 'number');
    // A router without rollouts: none to list, none to find.
    const bare = express().use('/d', createUpgradeDashboard({ router: createUpgradeRouter() }));
    assert.deepEqual((await request(bare).get('/d/api/rollouts').expect(200)).body, []);
    await request(bare).get('/d/api/rollouts/x').expect(404);
    // An empty body is an empty request.
    const paused = await request(app).post('/steer/api/rollouts/bad-firmware/pause').set('content-type', 'application/json').send('').expect(202);
    assert.equal(typeof (paused.body as { request: number }).request, 'number');
    await until(async () => (await rollouts.get('bad-firmware'))?.status === 'paused', 'the rollout to be paused');
    await request(app).post('/steer/api/rollouts/bad-firmware/resume').set('content-type', 'application/json').send('{}').expect(202);
    await until(async () => (await rollouts.get('bad-firmware'))?.timeline.some((entry) => entry.step.kind === 'resumed') === true, 'the rollout to be resumed');
  });

  it('in a real browser: the halted wave against its thresholds, the reason, and an abort from the page', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install -y chromium (.ci/run does this), or set CHROMIUM_PATH`);
    const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(String(error)));
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });
      await page.goto(`http://127.0.0.1:${(server.address() as { port: number }).port}/steer/`);
      await page.waitForSelector('#rollout-list tbody tr');
      // Clicked in the page: the list is redrawn every 2 s, a handle taken before could be gone.
      await page.evaluate(() => document.querySelector<HTMLElement>('#rollout-list tbody tr')?.click());
      await page.waitForSelector('#rollout-waves tbody tr');
      const canary = await page.$$eval('#rollout-waves tbody tr:first-child td', (cells) => cells.map((td) => td.textContent));
      assert.equal(canary[0], '1 (canary)');
      assert.equal(canary[1], 'breached');
      assert.match(canary[9] as string, /\(max 5 %\)$/);
      assert.match(canary[11] as string, /^Firmware update failed\. × \d+$/);
      assert.equal(await page.$eval('#rollout-waves tbody tr td:nth-child(10)', (td) => td.className), 'breach');
      await page.click('#rollout-actions button[data-action="abort"]');
      await page.waitForFunction(() => document.querySelector('#rollout-said')?.textContent.startsWith('abort: request') === true);
      await until(async () => (await rollouts.get('bad-firmware'))?.status === 'aborted', 'the rollout to be aborted');
      await page.waitForFunction(() => document.querySelector('#rollout-title')?.textContent === 'Rollout bad-firmware: aborted', { timeout: 10_000 });
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });
});
