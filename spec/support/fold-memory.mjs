// `node --expose-gc fold-memory.mjs MODE COUNT BYTES`: COUNT crafted pushes whose every text field is
// 57 000 characters (valid: no schema field has a maximum length), received by a router with the
// dashboard attached (MODE dashboard, limits.bytes = BYTES) or by a listener that keeps each push
// whole (MODE keep: the control, what holding them costs). Prints the heap's growth as JSON.
import { createUpgradeDashboard, createUpgradeRouter } from 'huawei-iot-upgrade-router';

const [mode, count, bytes] = process.argv.slice(2);
const router = createUpgradeRouter({ logger: { error: () => {}, warn: () => {} } });
const kept = [];
router.on('notification', (notification) => {
  if (mode === 'keep') kept.push(notification);
});
globalThis.gc();
const before = process.memoryUsage().heapUsed;
const dashboard = mode === 'dashboard' ? createUpgradeDashboard({ router, limits: { bytes: Number(bytes) } }) : undefined;
// A fresh string per field and push: nothing is shared between devices unless the receiver shares it.
const big = (i, name) => `${name}-${i}-`.padEnd(57_000, 'x');
for (let i = 0; i < Number(count); i += 1) {
  router.receive({
    notifyType: 'swUpgradeResultNotify',
    deviceId: big(i, 'device'),
    appId: big(i, 'app'),
    operationId: `task-${i % 3}`,
    subOperationId: big(i, 'sub'),
    curVersion: big(i, 'cur'),
    targetVersion: big(i, 'target'),
    sourceVersion: big(i, 'source'),
    swUpgradeResult: 'FAIL',
    upgradeTime: big(i, 'time'),
    resultDesc: big(i, 'result'),
    errorCode: big(i, 'code'),
    description: big(i, 'description'),
  });
  if (i % 100 === 99) await router.drain();
}
await router.drain();
globalThis.gc();
const growth = process.memoryUsage().heapUsed - before;
console.log(JSON.stringify({ growth, kept: kept.length, stats: dashboard?.stats() }));
dashboard?.close();
await router.close(1000);
