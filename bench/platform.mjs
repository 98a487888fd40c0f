// `node bench/platform.mjs`: the emulator pushes a campaign's results into a receiver (the router in
// Express with a SQLite journal, in a process of its own) over HTTP and over HTTPS, side by side:
// pushes per second and the receiver's CPU time per push. Prints one JSON line. Used by bench/run.mjs.
import { fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestCertificates, startPlatformEmulator } from 'huawei-iot-upgrade-router/emulator';
import { createPlatformClient } from 'huawei-iot-upgrade-router/platform';

const here = dirname(fileURLToPath(import.meta.url));
const DEVICES = Number(process.env.PLATFORM_DEVICES ?? 4_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const summary0 = (emulator) => emulator.pushSummary();

if (process.argv[2] === 'receiver') {
  // The receiver: the README's mounting, a journal with full durability, HTTP or HTTPS.
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { createServer: createHttps } = await import('node:https');
  const { default: express } = await import('express');
  const { createUpgradeRouter } = await import('huawei-iot-upgrade-router');
  const { sqliteJournal } = await import('huawei-iot-upgrade-router/sqlite');
  const tls = process.env.RECEIVER_TLS ? JSON.parse(process.env.RECEIVER_TLS) : undefined;
  const upgrades = createUpgradeRouter({ journal: sqliteJournal({ path: join(mkdtempSync(join(tmpdir(), 'bench-platform-')), 'upgrades.db') }) });
  let received = 0;
  upgrades.on('upgradeResult', () => (received += 1));
  const app = express();
  app.use('/v1.0.0/messageReceiver', upgrades);
  const server = tls ? createHttps(tls, app) : app;
  const listening = server.listen(0, '127.0.0.1');
  await once(listening, 'listening');
  let cpu = process.cpuUsage();
  process.on('message', (message) => {
    if (message === 'reset') cpu = process.cpuUsage();
    const used = process.cpuUsage(cpu);
    process.send({ received, cpuMicros: used.user + used.system });
  });
  process.send({ port: listening.address().port });
} else {
  const certificates = await createTestCertificates();
  const tls = await certificates.issue(['127.0.0.1']);
  const results = {};
  for (const scheme of ['http', 'https']) results[scheme] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const scheme of ['http', 'https']) {
      // Under `npm run bench` this process (the emulator, the load) is on core 1; the receiver goes to core 0.
      const env = { ...process.env, ...(scheme === 'https' && { RECEIVER_TLS: JSON.stringify(tls) }) };
      const child =
        process.env.BENCH_PINNED === '1'
          ? spawn('taskset', ['-c', '0', process.execPath, join(here, 'platform.mjs'), 'receiver'], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
          : fork(join(here, 'platform.mjs'), ['receiver'], { env });
      const [{ port }] = await once(child, 'message');
      const ask = async (message) => {
        child.send(message);
        const [reply] = await once(child, 'message');
        return reply;
      };
      // Every device answers within one emulated second, a hundred times faster than the wall clock:
      // the campaign's results arrive as fast as the emulator can push them (16 at a time, as configured).
      const emulator = await startPlatformEmulator({ speed: 100, receiverCa: certificates.ca, devices: { durationMs: 1_000, failureRatio: 0.1 }, rateLimit: { calls: 1e9, windowMs: 1 } });
      const platform = createPlatformClient({ url: emulator.url, appId: emulator.appId, secret: emulator.secret, rateLimit: false });
      await platform.subscribe('swUpgradeResultNotify', `${scheme}://127.0.0.1:${port}/v1.0.0/messageReceiver`);
      emulator.addDeviceGroup('bench', Array.from({ length: DEVICES }, (_, i) => `meter-${i}`));
      await ask('reset');
      const started = performance.now();
      const software = emulator.packages.software;
      await platform.createSoftwareUpgradeTask({ fileId: software.fileId, targets: { deviceGroups: ['bench'], deviceType: software.deviceType, model: software.model, manufacturerName: software.manufacturerName } });
      await emulator.settled(5);
      const seconds = (performance.now() - started) / 1000;
      // Listeners run after the 200 (and after the journal's commit): give the last ones a moment.
      let report = await ask('report');
      for (let wait = 0; report.received < summary0(emulator).delivered && wait < 100; wait += 1) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        report = await ask('report');
      }
      const { received, cpuMicros } = report;
      const summary = emulator.pushSummary();
      results[scheme].push({ pushesPerSecond: summary.delivered / seconds, cpuPerPush: cpuMicros / summary.delivered, delivered: summary.delivered, failed: summary.failed, received });
      process.stderr.write(`  round ${round} ${scheme}: ${summary.delivered} pushes in ${seconds.toFixed(2)} s, ${(cpuMicros / summary.delivered).toFixed(0)} µs receiver CPU/push, ${summary.failed} failed, ${received} heard\n`);
      await platform.close();
      await emulator.close();
      child.kill();
    }
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const pick = (scheme) => ({
    pushesPerSecond: median(results[scheme].map((r) => r.pushesPerSecond)),
    cpuPerPush: median(results[scheme].map((r) => r.cpuPerPush)),
    failed: results[scheme].reduce((n, r) => n + r.failed, 0),
    lost: results[scheme].reduce((n, r) => n + (r.delivered - r.received), 0),
  });
  console.log(JSON.stringify({ devices: DEVICES, http: pick('http'), https: pick('https') }));
}
