/// <reference lib="dom" />
// The functions given to page.evaluate and friends run in the browser: DOM types for them.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { createUpgradeDashboard, createUpgradeRouter, type Notification } from 'huawei-iot-upgrade-router';
import express from './express';
import { CALLBACK_PATH } from './helpers';
import { startPlatformEmulator } from 'huawei-iot-upgrade-router/emulator';
import { createPlatformClient } from 'huawei-iot-upgrade-router/platform';
import { createReconciler } from 'huawei-iot-upgrade-router/reconcile';

// Debian's chromium (.ci/run installs it); puppeteer-core never downloads a browser.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';

const state = (operationId: string, deviceId: string): Notification => ({
  notifyType: 'swUpgradeStateChangeNotify',
  deviceId,
  appId: 'app',
  operationId,
  subOperationId: `sub-${deviceId}`,
  swUpgradeState: 'downloading',
});
const result = (operationId: string, deviceId: string, ok: boolean, errorCode = '0'): Notification => ({
  notifyType: 'swUpgradeResultNotify',
  deviceId,
  appId: 'app',
  operationId,
  subOperationId: `sub-${deviceId}`,
  curVersion: ok ? 'V2.1.0' : 'V2.0.3',
  targetVersion: 'V2.1.0',
  sourceVersion: 'V2.0.3',
  swUpgradeResult: ok ? 'SUCCESS' : 'FAIL',
  upgradeTime: '120',
  resultDesc: '',
  errorCode,
  description: '',
});

describe('the dashboard page in a real browser', function () {
  this.timeout(60_000);
  let server: Server;
  let origin: string;
  let browser: Browser;
  let page: Page;
  const router = createUpgradeRouter({ logger: { error: () => {}, warn: () => {} } });
  router.on('notification', () => {});
  const dashboard = createUpgradeDashboard({ router });
  const consoleErrors: string[] = [];
  const foreign: string[] = [];

  const post = async (notification: Notification): Promise<void> => {
    const response = await fetch(`${origin}${CALLBACK_PATH}`, { method: 'POST', body: JSON.stringify(notification) });
    assert.equal(response.status, 200);
  };
  const rowTexts = (selector: string): Promise<string[][]> =>
    page.$$eval(selector, (rows) => rows.map((row) => [...row.querySelectorAll('td')].map((td) => td.textContent)));

  before(async function () {
    if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install -y chromium (.ci/run does this), or set CHROMIUM_PATH`);
    const app = express();
    app.use(CALLBACK_PATH, router);
    app.use('/upgrades', dashboard);
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    // A rollout under way: 6 devices, 3 succeeded, 1 failed (with a hostile error code), 2 in progress.
    for (const device of ['d1', 'd2', 'd3', 'd4', 'd5', HOSTILE]) await post(state('rollout-1', device));
    for (const device of ['d1', 'd2', 'd3']) await post(result('rollout-1', device, true));
    await post(result('rollout-1', 'd4', false, '<b>120006</b>'));
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 800 });
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(String(error)));
    page.on('request', (request) => {
      if (!request.url().startsWith(origin)) foreign.push(request.url());
    });
  });
  after(async () => {
    await browser.close();
    dashboard.close();
    server.close();
  });

  it('loads with no console error and no request leaving the origin, and shows the task with the right numbers', async () => {
    // 'load', not network idle: the live stream stays open.
    await page.goto(`${origin}/upgrades`, { waitUntil: 'load' });
    assert.equal(new URL(page.url()).pathname, '/upgrades/');
    await page.waitForSelector('#tasks tbody tr');
    const [row] = await rowTexts('#tasks tbody tr');
    // operationId, kind, devices, expected, succeeded, failed, reconciled, in progress, stale, bar, reasons, pace, last push
    assert.ok(row !== undefined);
    // The 'expected' column is empty without a reconciler; nothing was filled in.
    assert.deepEqual(row.slice(0, 9), ['rollout-1', 'software', '6', '', '3', '1', '0', '2', '0']);
    assert.equal(row[10], '<b>120006</b> × 1');
    assert.equal(await page.$eval('#tasks tbody tr td:nth-child(9)', (cell) => cell.getAttribute('title')), 'silent for over 1 h', "the stale count says the task's threshold");
    const widths = await page.$$eval('#tasks tbody tr .bar span', (spans) => spans.map((span) => [span.className, (span).style.width]));
    // The browser rounds the widths to six significant digits.
    assert.deepEqual(widths, [
      ['succeeded', '50%'],
      ['failed', '16.6667%'],
      ['progress', '33.3333%'],
    ]);
    assert.deepEqual(consoleErrors, []);
    assert.deepEqual(foreign, []);
  });

  it('updates live when a push arrives (pushed, not polled: the figure printed is the delay)', async () => {
    const started = Date.now();
    await post(result('rollout-1', 'd5', true));
    await page.waitForFunction(() => document.querySelector('#tasks tbody tr td:nth-child(5)')?.textContent === '4', { timeout: 5000 });
    const took = Date.now() - started;
    console.log(`      live update: on the page ${took} ms after the push`);
    await post(state('rollout-2', 'e1'));
    await page.waitForFunction(() => document.querySelectorAll('#tasks tbody tr').length === 2, { timeout: 5000 });
    assert.equal((await rowTexts('#tasks tbody tr'))[0]?.[0], 'rollout-2', 'most recently active first');
  });

  it('shows a task\'s devices, filterable by state, and renders a hostile deviceId and errorCode as text', async () => {
    await page.evaluate(() => (document.querySelector('#tasks tbody tr[data-operation-id="rollout-1"]') as HTMLElement).click());
    await page.waitForFunction(() => document.querySelectorAll('#devices tbody tr').length === 6);
    const devices = await rowTexts('#devices tbody tr');
    assert.ok(devices.some((cells) => cells[0] === HOSTILE), 'the deviceId appears as the text it is');
    assert.ok(devices.some((cells) => cells[3] === '<b>120006</b>'));
    assert.equal(await page.$$eval('main img, main script, main b', (elements) => elements.length), 0, 'no element was made from a push');
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    await page.select('#filter', 'failed');
    await page.waitForFunction(() => document.querySelectorAll('#devices tbody tr').length === 1);
    assert.deepEqual(
      (await rowTexts('#devices tbody tr')).map((cells) => cells[0]),
      ['d4'],
    );
    await page.select('#filter', 'state:downloading');
    await page.waitForFunction((hostile) => document.querySelector('#devices tbody tr td')?.textContent === hostile, {}, HOSTILE);
    assert.deepEqual(
      (await rowTexts('#devices tbody tr')).map((cells) => cells[0]),
      [HOSTILE],
    );
    assert.equal(await page.$eval('#csv', (link) => link.getAttribute('href')), 'api/tasks/rollout-1/devices.csv?filter=state%3Adownloading&sort=lastSeen&order=desc');
    await page.select('#filter', 'all');
    await page.waitForFunction(() => document.querySelectorAll('#devices tbody tr').length === 6);
    if (process.env.DASHBOARD_SCREENSHOT !== undefined) await page.screenshot({ path: process.env.DASHBOARD_SCREENSHOT, fullPage: true });
    assert.deepEqual(consoleErrors, []);
    assert.deepEqual(foreign, []);
  });

  it('with a reconciler: the platform\'s count beside the received one, and the devices that never reported', async () => {
    const emulator = await startPlatformEmulator({ speed: 50, devices: { durationMs: 10_000, failureRatio: 0, silentRatio: 0.2 } });
    const client = createPlatformClient({ url: emulator.url, appId: emulator.appId, secret: emulator.secret });
    const reconciler = createReconciler({ router, client, now: () => emulator.now(), schedule: false, stuckAfterMs: 60_000 });
    try {
      await client.ensureSubscriptions(`${origin}${CALLBACK_PATH}`);
      emulator.inject({ kind: 'dropPushes', ratio: 0.3, notifyType: 'swUpgradeResultNotify' });
      emulator.addDeviceGroup('g', Array.from({ length: 30 }, (_, i) => `meter-${i}`));
      const { operationId } = await client.createSoftwareUpgradeTask({
        fileId: emulator.packages.software.fileId,
        targets: { deviceGroups: ['g'], deviceType: 'WaterMeter', model: 'NBIoTDevice', manufacturerName: 'Huawei' },
      });
      emulator.advance(120_000);
      await emulator.settled();
      const [report] = (await reconciler.reconcileAll()) ?? [];
      assert.ok(report !== undefined && report.missing.length > 0 && report.stuck.length > 0);
      await page.reload();
      await page.waitForFunction((id) => [...document.querySelectorAll('#tasks tbody tr')].some((row) => row.firstElementChild?.textContent === id), { timeout: 5000 }, operationId);
      const row = (await rowTexts('#tasks tbody tr')).find((cells) => cells[0] === operationId);
      assert.equal(row?.[3], '30', 'expected, from the platform');
      // Clicked in the page in one step: a live update may replace the rows between finding one and clicking it.
      await page.evaluate((id) => (document.querySelector(`#tasks tbody tr[data-operation-id="${id}"]`) as HTMLElement).click(), operationId);
      await page.waitForFunction(() => !(document.querySelector('#platform') as HTMLElement).hidden, { timeout: 5000 });
      const text = await page.$eval('#platform', (element) => element.textContent);
      assert.match(text, new RegExp(`30 devices expected, ${report.received} results pushed, 0 filled in from the platform, ${report.missing.length} finished with no result here yet`));
      const never = await rowTexts('#never-devices tbody tr');
      assert.equal(never.length, report.missing.length + report.stuck.length);
      assert.ok(never.some((cells) => cells[2] === 'SUCCESS, no result here'));
      assert.ok(never.some((cells) => cells[2] === 'processing (stuck)'));
      assert.deepEqual(consoleErrors, []);
    } finally {
      await reconciler.close();
      await client.close();
      await emulator.close();
    }
  });

  it('a 200 000-device task: usable (paged, searched, filtered), live, no console error, never downloaded whole', async () => {
    const fleet = createUpgradeRouter({ logger: { error: () => {}, warn: () => {} }, dedupe: false });
    fleet.on('notification', () => {});
    const fleetDashboard = createUpgradeDashboard({ router: fleet });
    const app = express();
    app.use(CALLBACK_PATH, fleet);
    app.use('/fleet', fleetDashboard);
    const fleetServer = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => fleetServer.once('listening', resolve));
    const fleetOrigin = `http://127.0.0.1:${(fleetServer.address() as { port: number }).port}`;
    const tab = await browser.newPage();
    const errors: string[] = [];
    let largest = 0;
    tab.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    tab.on('pageerror', (error) => errors.push(String(error)));
    tab.on('response', (response) => {
      if (!response.url().includes('/api/') || response.url().includes('/api/stream')) return;
      response
        .buffer()
        .then((body) => {
          largest = Math.max(largest, body.length);
        })
        .catch(() => {});
    });
    try {
      const meter = (i: number): string => `meter-${String(i).padStart(6, '0')}`;
      const started = Date.now();
      for (let i = 0; i < 200_000; i += 1) fleet.receive(i % 50 === 7 ? result('campaign', meter(i), false, '120006') : i % 10 === 1 ? state('campaign', meter(i)) : result('campaign', meter(i), true));
      await fleet.drain();
      console.log(`      200 000 devices folded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      await tab.setViewport({ width: 1280, height: 800 });
      await tab.goto(`${fleetOrigin}/fleet/`, { waitUntil: 'load' });
      await tab.waitForFunction(() => document.querySelector('#tasks tbody tr td:nth-child(3)')?.textContent === '200,000', { timeout: 10_000 });
      await tab.evaluate(() => (document.querySelector('#tasks tbody tr') as HTMLElement).click());
      await tab.waitForFunction(() => document.querySelector('#page')?.textContent === '1–100 of 200,000', { timeout: 10_000 });
      assert.equal(await tab.$$eval('#devices tbody tr', (rows) => rows.length), 100);
      await tab.click('#next');
      await tab.waitForFunction(() => document.querySelector('#page')?.textContent === '101–200 of 200,000', { timeout: 10_000 });
      await tab.type('#search', 'METER-12345');
      await tab.waitForFunction(() => document.querySelector('#page')?.textContent === '1–10 of 10', { timeout: 10_000 });
      await tab.select('#filter', 'failed');
      // meter-123457 is the one failed device among meter-123450..123459 (i % 50 === 7).
      await tab.waitForFunction(() => document.querySelector('#page')?.textContent === '1–1 of 1', { timeout: 10_000 });
      assert.equal(await tab.$eval('#devices tbody tr td', (td) => td.textContent), 'meter-123457');
      // Live: a push for a device on screen changes its row.
      await tab.select('#filter', 'all');
      await tab.waitForFunction(() => document.querySelector('#page')?.textContent === '1–10 of 10', { timeout: 10_000 });
      const response = await fetch(`${fleetOrigin}${CALLBACK_PATH}`, { method: 'POST', body: JSON.stringify(result('campaign', 'meter-123451', true)) });
      assert.equal(response.status, 200);
      // It comes first (most recently active first) within a second and a half: a big task's view is rebuilt once a second.
      await tab.waitForFunction(
        () => {
          const first = document.querySelector('#devices tbody tr');
          return first?.firstElementChild?.textContent === 'meter-123451' && first.children[2]?.textContent === 'SUCCESS';
        },
        { timeout: 10_000 },
      );
      assert.deepEqual(errors, []);
      assert.ok(largest < 1_000_000, `the largest API answer the page read was ${largest} bytes`);
      console.log(`      largest API answer the page read: ${(largest / 1024).toFixed(0)} KB`);
    } finally {
      await tab.close();
      fleetDashboard.close();
      fleetServer.close();
      await fleet.close(1000);
    }
  });
});
