// An instance that receives pushes and drives rollouts, in its own process, for the kill specs: a
// journal (SQLite at DB, or Postgres at PG), the router behind HTTP on PORT, a reconciler, and
// createRollouts; it starts the rollout ROLLOUT (JSON options) unless the journal has it. The
// emulator's clock runs fast in the parent: the instance reads it once and runs it on at its speed.
import { createServer } from 'node:http';
import express from 'express';
import { createUpgradeRouter } from 'huawei-iot-upgrade-router';
import { createPlatformClient } from 'huawei-iot-upgrade-router/platform';
import { createReconciler } from 'huawei-iot-upgrade-router/reconcile';
import { createRollouts } from 'huawei-iot-upgrade-router/rollout';

const { DB, PG, PORT, URL, APP_ID, SECRET, ROLLOUT, RESEND_WINDOW_MS } = process.env;
const journal = DB !== undefined ? (await import('huawei-iot-upgrade-router/sqlite')).sqliteJournal({ path: DB, spill: false }) : (await import('huawei-iot-upgrade-router/postgres')).postgresJournal({ connectionString: PG, spill: false });
const upgrades = createUpgradeRouter({ logger: { error: () => {}, warn: () => {} }, journal });
upgrades.on('firmwareUpgradeResult', () => {});
upgrades.on('reconciledResult', () => {});
upgrades.on('error', () => {});
const app = express();
app.use('/cb', upgrades);
await new Promise((resolve) => createServer(app).listen(Number(PORT), '127.0.0.1', resolve));

const { now: emulatedAt, speed, rateLimit } = await (await fetch(`${URL}/_emulator`)).json();
const startedAt = performance.now();
const now = () => Date.parse(emulatedAt) + (performance.now() - startedAt) * speed;
const client = createPlatformClient({ url: URL, appId: APP_ID, secret: SECRET, rateLimit: { calls: rateLimit.calls, windowMs: rateLimit.windowMs / speed } });
const reconciler = createReconciler({ router: upgrades, client, intervalMs: 200, callsPerMinute: 6_000, now, ...(RESEND_WINDOW_MS !== undefined && { resendWindowMs: Number(RESEND_WINDOW_MS) }) });
const rollouts = createRollouts({ router: upgrades, client, reconciler, tickMs: 20, now });
rollouts.on('error', (error) => console.error(`rollout tick: ${error.message}`));
const options = JSON.parse(ROLLOUT);
if ((await rollouts.get(options.id)) === undefined) {
  try {
    await rollouts.start(options);
  } catch (error) {
    // Another instance started it a moment earlier.
    if (error.code !== 'ERR_ROLLOUT_EXISTS') throw error;
  }
}
process.send?.('ready');
