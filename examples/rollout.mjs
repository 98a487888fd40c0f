// A firmware rollout from start to finish, against the local platform emulator: DEVICES meters
// (default 10 000), a firmware that fails on FAILURE_RATIO of them (default 0.01; try 0.4), waves
// WAVES (default 1%,10%,50%,100%) with SOAK_MINUTES after each (default 10). Everything runs as in
// production: the platform on HTTPS, the receiver on HTTPS with a SQLite journal, the reconciler and
// the rollouts on the same router; only the emulator's clock runs SPEED times real time (default
// 30). It prints each wave's gate, and at the end the devices targeted, the tasks, the outcomes and
// the platform calls spent.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { createUpgradeRouter } from 'huawei-iot-upgrade-router';
import { createTestCertificates, startPlatformEmulator } from 'huawei-iot-upgrade-router/emulator';
import { createPlatformClient } from 'huawei-iot-upgrade-router/platform';
import { createReconciler } from 'huawei-iot-upgrade-router/reconcile';
import { createRollouts } from 'huawei-iot-upgrade-router/rollout';
import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';

const DEVICES = Number(process.env.DEVICES ?? 10_000);
const FAILURE_RATIO = Number(process.env.FAILURE_RATIO ?? 0.01);
const WAVES = (process.env.WAVES ?? '1%,10%,50%,100%').split(',').map((wave) => (wave.endsWith('%') ? wave : Number(wave)));
const SPEED = Number(process.env.SPEED ?? 30);
const SOAK_MINUTES = Number(process.env.SOAK_MINUTES ?? 10);
const MINUTE = 60_000;
const began = performance.now();

// The platform: an emulator on HTTPS, with a firmware package that fails on a share of devices.
const certificates = await createTestCertificates();
const tls = await certificates.issue(['127.0.0.1']);
const emulator = await startPlatformEmulator({ tls, receiverCa: certificates.ca, speed: SPEED, devices: { durationMs: 2 * MINUTE } });
const firmware = emulator.addPackage({ fileType: 'firmwarePackage', version: 'FW_2.1.0', failureRatio: FAILURE_RATIO });

// The receiver: the router with a durable journal, behind HTTPS, its URL subscribed on the platform.
const folder = mkdtempSync(join(tmpdir(), 'rollout-example-'));
const upgrades = createUpgradeRouter({ journal: sqliteJournal({ path: join(folder, 'upgrades.db') }) });
const results = new Map();
const heard = (source) => (result) => results.set(result.deviceId, [...(results.get(result.deviceId) ?? []), source]);
upgrades.on('firmwareUpgradeResult', heard('pushed'));
upgrades.on('reconciledResult', heard('reconciled'));
let states = 0;
upgrades.on('firmwareUpgradeState', () => void (states += 1));
upgrades.on('error', (error) => console.error(`receiver: ${error.message}`));
const app = express();
app.use('/v1.0.0/messageReceiver', upgrades);
const server = createServer(tls, app).listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));

// The platform's budget is 100 calls a minute of its clock: in real time, a minute / SPEED.
const client = createPlatformClient({ url: emulator.url, appId: emulator.appId, secret: emulator.secret, ca: certificates.ca, rateLimit: { calls: 100, windowMs: MINUTE / SPEED } });
await client.ensureSubscriptions(`https://127.0.0.1:${server.address().port}/v1.0.0/messageReceiver`);
const now = () => emulator.now();
// Their own shares of it (callsPerMinute, 50 each by default) are counted in real minutes: scaled too.
const reconciler = createReconciler({ router: upgrades, client, now, intervalMs: (5 * MINUTE) / SPEED, callsPerMinute: 50 * SPEED });
const rollouts = createRollouts({ router: upgrades, client, reconciler, now, tickMs: 500 });

const rate = (share) => `${Math.round(share * 1000) / 10} %`;
rollouts.on('waveStarted', ({ wave }) => console.log(`wave ${wave} started`));
rollouts.on('gatePassed', ({ wave, figures }) => console.log(`wave ${wave} passed: ${figures.succeeded} succeeded, ${figures.failed} failed (${rate(figures.failureRate)})`));
rollouts.on('halted', ({ wave, why }) => console.log(`halted at wave ${wave}: ${why}`));
rollouts.on('completed', () => console.log('completed'));

const devices = Array.from({ length: DEVICES }, (_, i) => `meter-${String(i).padStart(5, '0')}`);
await rollouts.start({ id: 'fw-2.1', fileId: firmware.fileId, devices, waves: WAVES, soakMs: SOAK_MINUTES * MINUTE, gate: { maxFailureRate: 0.05, minSuccessRate: 0.9, minFinished: 50 }, callsPerMinute: 50 * SPEED });
let view;
do {
  await new Promise((resolve) => setTimeout(resolve, 500));
  view = await rollouts.get('fw-2.1');
} while (view.status === 'running');

// The figures: what the platform was sent, what came back, what it cost.
const sent = emulator.tasks().flatMap((task) => task.targets.devices);
const total = (name) => view.waves.reduce((sum, wave) => sum + (wave.figures?.[name] ?? 0), 0);
const top = view.waves.find((wave) => wave.status === 'breached')?.figures?.reasons[0];
console.log(`status: ${view.status}${view.halt ? ` (${view.halt.why}; top reason: ${top?.reason})` : ''}`);
console.log(`devices targeted: ${sent.length} of ${DEVICES}, each once: ${new Set(sent).size === sent.length}; tasks: ${emulator.tasks().length}, the largest ${Math.max(...emulator.tasks().map((task) => task.targets.devices.length))} devices`);
console.log(`outcomes judged: ${total('succeeded')} succeeded, ${total('unverified')} unverified, ${total('failed')} failed, ${total('timedOut')} timed out`);
const pushed = [...results.values()].filter((sources) => sources[0] === 'pushed').length;
console.log(`state pushes: ${states}; results at the listener: ${results.size} (pushed ${pushed}, reconciled ${results.size - pushed}), one each: ${[...results.values()].every((sources) => sources.length === 1)}`);
console.log(`platform calls: ${client.stats().calls} (logins ${client.stats().logins}); took ${Math.round((performance.now() - began) / 1000)} s`);

await rollouts.close();
await reconciler.close();
server.close();
await upgrades.close(5_000);
await client.close();
await emulator.close();
rmSync(folder, { recursive: true, force: true });
