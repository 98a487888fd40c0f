// `node bench/dashboard.mjs`: how long GET /api/tasks takes with 100 tasks of 10 000 devices each
// (a million devices folded), over HTTP, median of 20. Prints one JSON line. Used by bench/run.mjs.
import { once } from 'node:events';
import express from 'express';
import { createUpgradeDashboard, createUpgradeRouter } from 'huawei-iot-upgrade-router';

const TASKS = Number(process.env.DASHBOARD_TASKS ?? 100);
const DEVICES = Number(process.env.DASHBOARD_DEVICES ?? 10_000);
const router = createUpgradeRouter({ dedupe: false });
router.on('notification', () => {});
// The bytes limit raised too: this measures the API over a million devices, not the default budget.
const dashboard = createUpgradeDashboard({ router, limits: { devices: TASKS * DEVICES, bytes: 2 * 1024 ** 3 } });
const started = performance.now();
for (let task = 0; task < TASKS; task += 1) {
  for (let device = 0; device < DEVICES; device += 1) {
    const ids = { deviceId: `device-${device}`, appId: 'app', operationId: `task-${task}`, subOperationId: `${task}-${device}` };
    // Most devices done (a tenth failed), every twentieth still downloading.
    const body =
      device % 20 === 19
        ? { notifyType: 'swUpgradeStateChangeNotify', ...ids, swUpgradeState: 'downloading' }
        : { notifyType: 'swUpgradeResultNotify', ...ids, curVersion: 'V2', targetVersion: 'V2', sourceVersion: 'V1', swUpgradeResult: device % 10 === 3 ? 'FAIL' : 'SUCCESS', upgradeTime: '1', resultDesc: '', errorCode: device % 10 === 3 ? `12000${device % 3}` : '0', description: '' };
    router.receive(body);
  }
}
const foldSeconds = (performance.now() - started) / 1000;
const app = express();
app.use('/upgrades', dashboard);
const server = app.listen(0, '127.0.0.1');
await once(server, 'listening');
const url = `http://127.0.0.1:${server.address().port}/upgrades/api/tasks`;
const times = [];
let tasks;
for (let i = 0; i < 21; i += 1) {
  const t0 = performance.now();
  tasks = await (await fetch(url)).json();
  if (i > 0) times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
console.log(JSON.stringify({ tasks: tasks.length, devices: tasks.reduce((n, t) => n + t.devices, 0), foldSeconds, medianMs: times[10], maxMs: times[times.length - 1], rss: process.memoryUsage().rss }));
server.close();
dashboard.close();
