// The receiver for bench/dashboard-tabs.mjs: the router and the dashboard on one Express app, a
// 200 000-device task folded before it listens. Prints its port; answers 'cpu' on stdin with its CPU
// time so far (µs), so the driver can report CPU per push beside the latencies.
import express from 'express';
import { createUpgradeDashboard, createUpgradeRouter } from 'huawei-iot-upgrade-router';

const DEVICES = Number(process.env.TABS_DEVICES ?? 200_000);
const router = createUpgradeRouter({ dedupe: false });
router.on('notification', () => {});
const dashboard = createUpgradeDashboard({ router });
for (let i = 0; i < DEVICES; i += 1) {
  const ids = { deviceId: `meter-${i}`, appId: 'app', operationId: 'campaign', subOperationId: `sub-${i}` };
  router.receive(
    i % 10 === 1
      ? { notifyType: 'swUpgradeStateChangeNotify', ...ids, swUpgradeState: 'downloading' }
      : { notifyType: 'swUpgradeResultNotify', ...ids, curVersion: 'V2', targetVersion: 'V2', sourceVersion: 'V1', swUpgradeResult: i % 50 === 7 ? 'FAIL' : 'SUCCESS', upgradeTime: '180', resultDesc: '', errorCode: i % 50 === 7 ? '120006' : '0', description: '' },
  );
}
await router.drain();
const app = express();
app.use('/v1.0.0/messageReceiver', router);
app.use('/upgrades', dashboard);
const server = app.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
process.stdin.setEncoding('utf8');
process.stdin.on('data', () => {
  const { user, system } = process.cpuUsage();
  console.log(JSON.stringify({ cpu: user + system }));
});
