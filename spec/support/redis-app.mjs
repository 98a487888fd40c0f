// A receiver in its own process sharing duplicate suppression through Redis, as one instance of
// several behind a load balancer. Reports its port, then every event it emits, over IPC.
import { createServer } from 'node:http';
import { createUpgradeRouter } from 'huawei-iot-upgrade-router';
import { redisDedupeStore } from 'huawei-iot-upgrade-router/redis';

// The spec's machine may be busy with other specs: a check must not give up (and fail open) on a
// slow answer, only on a Redis that is away, which fails at once (no offline queue).
const store = redisDedupeStore({ url: process.env.REDIS_URL, prefix: process.env.REDIS_PREFIX, timeoutMs: 10_000 });
const upgrades = createUpgradeRouter({ dedupe: { store }, logger: { error: () => {} } });
for (const event of ['upgradeResult', 'duplicate', 'invalid']) {
  upgrades.on(event, (notification) => process.send({ event, subOperationId: notification.subOperationId }));
}
upgrades.on('error', (error) => process.send({ event: 'error', message: error.message }));

const server = createServer(upgrades).listen(0, '127.0.0.1', () => process.send({ ready: true, port: server.address().port }));
process.on('disconnect', async () => {
  server.close();
  await store.close();
  process.exit(0);
});
