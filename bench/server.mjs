// One benchmark server in its own process: `node bench/server.mjs KIND`. It reports its port over IPC
// and answers 'report' with what it counted and its memory. KINDs are the references (what any router
// pays) and the router in its configurations; see bench/run.mjs.
import { createServer } from 'node:http';
import express from 'express';
import { createUpgradeRouter } from 'huawei-iot-upgrade-router';

const PATH = '/v1.0.0/messageReceiver';
const kind = process.argv[2];
let parsed = 0;

// The floors read the body and JSON.parse it, nothing else: the least any receiver must do.
function readAndParse(req, done) {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    JSON.parse(Buffer.concat(chunks).toString());
    parsed += 1;
    done();
  });
}

function listen(upgrades, listeners) {
  upgrades.removeAllListeners('upgradeResult');
  const slowMs = Number(process.env.BENCH_SLOW_MS ?? 100);
  if (listeners === 'slow') upgrades.on('upgradeResult', () => new Promise((resolve) => setTimeout(resolve, slowMs)));
  else for (let i = 0; i < listeners; i += 1) upgrades.on('upgradeResult', () => {});
}

function router(listeners, options = {}) {
  const upgrades = createUpgradeRouter(options);
  listen(upgrades, listeners);
  return upgrades;
}

function inExpress(router) {
  const app = express();
  app.use(PATH, router);
  return app;
}

let handler;
let upgrades;
switch (kind) {
  case 'node-floor':
    handler = (req, res) => readAndParse(req, () => res.end());
    break;
  case 'express-floor':
    handler = inExpress((req, res) => readAndParse(req, () => res.end()));
    break;
  case 'express-json': {
    const app = express();
    app.post(PATH, express.json(), (_req, res) => {
      parsed += 1;
      res.sendStatus(200);
    });
    handler = app;
    break;
  }
  case 'router-node':
    upgrades = router(1);
    handler = upgrades;
    break;
  case 'router-node-nodedupe':
    upgrades = router(1, { dedupe: false });
    handler = upgrades;
    break;
  case 'router-express-nodedupe':
    upgrades = router(1, { dedupe: false });
    handler = inExpress(upgrades);
    break;
  case 'router-express-metrics': {
    // The README's Prometheus set-up, scraped every second as a Prometheus server would.
    const { Registry } = await import('prom-client');
    const { registerMetrics } = await import('huawei-iot-upgrade-router/prometheus');
    upgrades = router(1);
    const registry = new Registry();
    registerMetrics(upgrades, { registry });
    const app = inExpress(upgrades);
    app.get('/metrics', async (_req, res) => res.type(registry.contentType).send(await registry.metrics()));
    setInterval(() => void registry.metrics(), 1000).unref();
    handler = app;
    break;
  }
  case 'router-express-sqlite':
  case 'router-express-sqlite-normal': {
    // The journal as the README sets it up; BENCH_DB is a fresh file per run. BENCH_SLOW_MS makes the
    // listener await that long (deliveries slower than arrivals: the backlog waits in the journal).
    const { sqliteJournal } = await import('huawei-iot-upgrade-router/sqlite');
    const durability = kind.endsWith('normal') ? 'normal' : 'full';
    upgrades = router(process.env.BENCH_SLOW_MS ? 'slow' : 1, { journal: sqliteJournal({ path: process.env.BENCH_DB, durability }) });
    handler = inExpress(upgrades);
    break;
  }
  case 'router-express-dashboard': {
    // The README's set-up with the dashboard attached (folding every push), nobody looking at it.
    const { createUpgradeDashboard } = await import('huawei-iot-upgrade-router');
    upgrades = router(1);
    const app = inExpress(upgrades);
    app.use('/upgrades', createUpgradeDashboard({ router: upgrades }));
    handler = app;
    break;
  }
  case 'router-express-postgres': {
    const { postgresJournal } = await import('huawei-iot-upgrade-router/postgres');
    upgrades = router(1, { journal: postgresJournal({ connectionString: process.env.BENCH_PG_URL }) });
    handler = inExpress(upgrades);
    break;
  }
  default:
    // router-express-N (N listeners) and router-express-slow (one that awaits 100 ms)
    upgrades = router(kind.endsWith('slow') ? 'slow' : Number(kind.split('-').pop()));
    handler = inExpress(upgrades);
}

let peakRss = process.memoryUsage().rss;
setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20).unref();

const server = createServer(handler).listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', (message) => {
  if (message === 'reset-peak') peakRss = process.memoryUsage().rss;
  // { listeners: 0 | 10 | 'slow' }: the latency comparison swaps listeners in one warm process.
  if (typeof message === 'object' && upgrades) listen(upgrades, message.listeners);
  const stats = upgrades?.stats();
  const { user, system } = process.cpuUsage();
  // With --expose-gc (the memory row), heap used is read after a full collection: what is retained.
  globalThis.gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  process.send({ parsed, stats, rss, heapUsed, peakRss, cpuMicros: user + system });
});
process.on('disconnect', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
