// The demo receiver behind `npm start`: the router mounted at the path Huawei's own SDKs use, logging
// one line per event, with Prometheus metrics, JSON counters and a graceful shutdown. Feed it with
// `npm run simulate` or point a platform subscription at it. ALLOW_IPS (comma-separated addresses or
// CIDR ranges) and ALLOW_TOKEN turn on access control; LOG_FORMAT=json logs JSON lines through pino.
// Every push is journaled before its 200: SQLite in ./data/upgrades.db (JOURNAL_FILE), or Postgres
// when DATABASE_URL is set; JOURNAL=off runs without a journal (delivery at most once).
// PLATFORM=emulator plays the whole loop: a local platform emulator on HTTPS, this receiver on HTTPS
// too (port HTTPS_PORT, a certificate from a CA made at start, which the emulator verifies), its URL
// subscribed by the platform client, and a campaign of 300 devices started from the client.
import { mkdirSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { dirname } from 'node:path';
import express from 'express';
import { createUpgradeDashboard, createUpgradeRouter } from 'huawei-iot-upgrade-router';

// pino and prom-client are optional: the demo runs without them, and says what it left out.
const optional = async (name) => import(name).catch(() => undefined);
const pino = process.env.LOG_FORMAT === 'json' ? (await optional('pino'))?.default : undefined;
if (process.env.LOG_FORMAT === 'json' && pino === undefined) console.warn('LOG_FORMAT=json needs pino: npm install pino');
const logger = pino?.({ base: { service: 'upgrade-receiver' } });
const log = logger ? (event, fields, line) => logger.info({ event, ...fields }, line) : (_event, _fields, line) => console.log(line);

const port = Number(process.env.PORT ?? 3000);
const path = '/v1.0.0/messageReceiver';
const allow = {
  ...(process.env.ALLOW_IPS ? { ips: process.env.ALLOW_IPS.split(',') } : {}),
  ...(process.env.ALLOW_TOKEN ? { token: process.env.ALLOW_TOKEN } : {}),
};

// The journal's store is an optional peer too: without it the demo runs at most once, and says so.
async function openJournal() {
  if (process.env.JOURNAL === 'off') return { description: 'no journal (JOURNAL=off)' };
  if (process.env.DATABASE_URL) {
    if (!(await optional('pg'))) return { description: 'no journal: DATABASE_URL needs pg (npm install pg)' };
    const { postgresJournal } = await import('huawei-iot-upgrade-router/postgres');
    // The spill: where pushes answered while Postgres is down wait for it, on this instance's disk.
    return { journal: postgresJournal({ connectionString: process.env.DATABASE_URL, spill: 'data/spill' }), description: 'journal in Postgres (DATABASE_URL), spill in data/spill' };
  }
  if (!(await optional('better-sqlite3'))) return { description: 'no journal: npm install better-sqlite3 for one (delivery is at most once without)' };
  const file = process.env.JOURNAL_FILE ?? 'data/upgrades.db';
  mkdirSync(dirname(file), { recursive: true });
  const { sqliteJournal } = await import('huawei-iot-upgrade-router/sqlite');
  return { journal: sqliteJournal({ path: file }), description: `journal in ${file}` };
}
const { journal, description } = await openJournal();

const app = express();
const upgrades = createUpgradeRouter({ allow, ...(logger && { logger }), ...(journal && { journal }) });
app.use(path, upgrades);
// The rollout at a glance: each upgrade task, live. It shows the fleet's device identifiers, so it is
// not on the callback port the platform (and anyone who finds the address) can reach: it has its own
// port, on localhost only (DASHBOARD_PORT, default PORT + 1; DASHBOARD_HOST to open it wider, behind
// your own authentication or the authorize option).
const dashboard = createUpgradeDashboard({ router: upgrades, ...(journal && { journal }), errorCodes: { '120006': 'low battery (an example of the errorCodes option)' } });
const dashboardApp = express();
dashboardApp.use('/upgrades', dashboard);
const dashboardPort = Number(process.env.DASHBOARD_PORT ?? port + 1);
const dashboardHost = process.env.DASHBOARD_HOST ?? '127.0.0.1';
// The counters as JSON, for a health check; cheap enough for every request.
app.get('/stats', (_req, res) => {
  res.json(upgrades.stats());
});
// The same counters as Prometheus reads them.
const prometheus = await optional('prom-client');
if (prometheus) {
  const { registerMetrics } = await import('huawei-iot-upgrade-router/prometheus');
  const registry = new prometheus.Registry();
  registerMetrics(upgrades, { registry });
  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
} else {
  app.get('/metrics', (_req, res) => void res.status(501).type('text').send('install prom-client for Prometheus metrics; JSON counters at /stats\n'));
}

const who = (n) => `device=${n.deviceId} subOperation=${n.subOperationId}`;
upgrades.on('upgradeResult', (n, context) => {
  log('upgradeResult', { notification: n, ip: context.ip },
    `upgradeResult ${n.swUpgradeResult} ${who(n)} ${n.sourceVersion} -> ${n.curVersion} (target ${n.targetVersion}) errorCode=${n.errorCode} from ${context.ip}`,
  );
});
upgrades.on('upgradeState', (n) => log('upgradeState', { notification: n }, `upgradeState ${n.swUpgradeState} ${who(n)}`));
upgrades.on('firmwareUpgradeResult', (n) => {
  log('firmwareUpgradeResult', { notification: n }, `firmwareUpgradeResult ${n.status} ${who(n)} ${n.sourceVersion} -> ${n.curVersion} (target ${n.targetVersion})`);
});
upgrades.on('firmwareUpgradeState', (n) => log('firmwareUpgradeState', { notification: n }, `firmwareUpgradeState step=${n.step} (${n.stepDesc}) ${who(n)}`));
upgrades.on('duplicate', (n) => log('duplicate', { notification: n }, `duplicate ${n.notifyType} ${who(n)} (the platform re-sent it)`));
upgrades.on('invalid', (rejection) => {
  log('invalid', { reason: rejection.reason, ip: rejection.context.ip }, `invalid ${rejection.reason}: ${rejection.message} from ${rejection.context.ip}`);
});
upgrades.on('reconciledResult', (r) => {
  log('reconciledResult', { result: r }, `reconciledResult ${r.result} device=${r.deviceId} subOperation=${r.subOperationId}: no push brought it, the platform's sub-tasks did (${r.detailInfo ?? ''})`);
});
upgrades.on('deadLetter', (n, { id, attempts, error }) => {
  log('deadLetter', { notification: n, id, attempts }, `deadLetter ${n.notifyType} ${who(n)} after ${attempts} attempts: ${error.message} (journal replay ${id})`);
});
upgrades.on('error', (error) => {
  if (logger) logger.error({ err: error }, 'a listener failed');
  else console.log(`error: ${error.message}`);
});

const server = app.listen(port, () => {
  console.log(`huawei-iot-upgrade-router demo receiver on http://localhost:${port}${path} (metrics at /metrics, counters at /stats; ${description})`);
});
const dashboardServer = dashboardApp.listen(dashboardPort, dashboardHost, () => {
  console.log(`dashboard at http://${dashboardHost === '127.0.0.1' ? 'localhost' : dashboardHost}:${dashboardPort}/upgrades/ (${dashboardHost === '127.0.0.1' ? 'this machine only' : dashboardHost})`);
});
// The receiver goes on without its dashboard: a port taken must not stop the platform's pushes.
dashboardServer.on('error', (error) => console.log(`dashboard not served on ${dashboardHost}:${dashboardPort}: ${error.message} (set DASHBOARD_PORT)`));
// A sender that stalls cannot hold a socket for minutes: the platform gives up after 15 s anyway.
server.headersTimeout = 10_000;
server.requestTimeout = 15_000;

// The whole loop against a local stand-in for the platform (PLATFORM=emulator).
async function playCampaign() {
  const emulatorModule = await import('huawei-iot-upgrade-router/emulator');
  const { createPlatformClient } = await import('huawei-iot-upgrade-router/platform');
  // The CA is what you would upload to the platform for your callback address; the certificate names 127.0.0.1.
  const certificates = await emulatorModule.createTestCertificates();
  const tls = await certificates.issue(['127.0.0.1', 'localhost']);
  const httpsPort = Number(process.env.HTTPS_PORT ?? 3443);
  const httpsServer = createHttpsServer(tls, app);
  await new Promise((resolve) => httpsServer.listen(httpsPort, resolve));
  // 30x: a device's two minutes take four seconds; the platform's 15 s push time-out is half a second.
  const emulator = await emulatorModule.startPlatformEmulator({ tls, receiverCa: certificates.ca, speed: 30, devices: { failureRatio: 0.1, silentRatio: 0.02 } });
  const platform = createPlatformClient({ url: emulator.url, appId: emulator.appId, secret: emulator.secret, ca: certificates.ca });
  const callbackUrl = `https://127.0.0.1:${httpsPort}${path}`;
  const { created } = await platform.ensureSubscriptions(callbackUrl);
  console.log(`platform emulator on ${emulator.url} (time 30x); subscribed ${created.length} upgrade pushes to ${callbackUrl}`);
  // 5 % of the result pushes are lost on the way; the reconciler finds them in the platform's sub-tasks
  // once the re-send window has passed (12 emulated minutes: 24 s here) and fills them in.
  emulator.inject({ kind: 'dropPushes', ratio: 0.05, notifyType: 'swUpgradeResultNotify' });
  const { createReconciler } = await import('huawei-iot-upgrade-router/reconcile');
  const minute = 60_000;
  const reconciler = createReconciler({ router: upgrades, client: platform, now: () => emulator.now(), intervalMs: 10_000, recheckMs: 15 * minute, stuckAfterMs: 30 * minute });
  let said = '';
  const watch = setInterval(() => {
    const { filledIn, stuck, missing } = reconciler.stats();
    const line = `reconciliation: ${filledIn} results filled in from the platform, ${missing} inside the re-send window, ${stuck} devices stuck`;
    if (line !== said) console.log((said = line));
  }, 10_000).unref();
  const devices = Array.from({ length: 300 }, (_, i) => `meter-${String(i).padStart(4, '0')}`);
  emulator.addDeviceGroup('demo-district', devices);
  const { software } = emulator.packages;
  const { operationId } = await platform.createSoftwareUpgradeTask({
    fileId: software.fileId,
    targets: { deviceGroups: ['demo-district'], deviceType: software.deviceType, model: software.model, manufacturerName: software.manufacturerName },
  });
  console.log(`campaign ${operationId}: ${devices.length} devices to ${software.version}, watch it at http://localhost:${dashboardPort}/upgrades/`);
  emulator.settled().then(async () => {
    const { staResult } = await platform.getTask(operationId);
    const pushes = emulator.pushSummary({ operationId });
    console.log(`campaign ${operationId} as the platform sees it: ${staResult.success} SUCCESS, ${staResult.fail} FAIL, ${staResult.processing} never answered; ${pushes.delivered} of ${pushes.total} pushes delivered`);
  }, (error) => console.log(`campaign: ${error.message}`));
  return async () => {
    clearInterval(watch);
    await reconciler.close();
    await platform.close();
    await emulator.close();
    httpsServer.close();
  };
}
const stopCampaign = process.env.PLATFORM === 'emulator' ? await playCampaign() : undefined;

// Graceful shutdown: stop accepting, let requests in progress finish, let listeners settle, then exit.
async function shutDown(signal) {
  console.log(`${signal}: closing`);
  const closed = new Promise((resolve) => server.close(resolve));
  server.closeIdleConnections();
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
  await stopCampaign?.();
  dashboard.close();
  dashboardServer.close();
  const { drained, pending } = await upgrades.drain(10_000);
  // What did not finish stays in the journal and is delivered after the next start.
  await upgrades.close(0);
  console.log(drained ? 'drained, exiting' : `exiting with ${pending} listener(s) still pending`);
  process.exit(drained ? 0 : 1);
}
process.once('SIGTERM', shutDown);
process.once('SIGINT', shutDown);
