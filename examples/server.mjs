// The demo receiver behind `npm start`: the router mounted at the path Huawei's own SDKs use, logging
// one line per event, with a metrics endpoint and a graceful shutdown. Point a platform subscription
// (or `npm run simulate`) at it.
import express from 'express';
import { createUpgradeRouter } from 'huawei-iot-upgrade-router';

const port = Number(process.env.PORT ?? 3000);
const path = '/v1.0.0/messageReceiver';

const app = express();
const upgrades = createUpgradeRouter();
app.use(path, upgrades);
// Counters for a health check or a metrics scraper; cheap enough for every scrape.
app.get('/metrics', (_req, res) => {
  res.json(upgrades.stats());
});

upgrades.on('upgradeResult', (result, context) => {
  console.log(
    `upgradeResult ${result.swUpgradeResult} device=${result.deviceId} subOperation=${result.subOperationId} ` +
      `${result.sourceVersion} -> ${result.curVersion} (target ${result.targetVersion}) errorCode=${result.errorCode} from ${context.ip}`,
  );
});
upgrades.on('invalid', (rejection) => {
  console.log(`invalid ${rejection.reason}: ${rejection.message} from ${rejection.context.ip}`);
});
upgrades.on('error', (error) => {
  console.log(`error in a listener: ${error.message}`);
});

const server = app.listen(port, () => {
  console.log(`huawei-iot-upgrade-router demo receiver on http://localhost:${port}${path} (metrics at /metrics)`);
});
// A sender that stalls cannot hold a socket for minutes: the platform answers within seconds or not at all.
server.headersTimeout = 10_000;
server.requestTimeout = 15_000;

// Graceful shutdown: stop accepting, let requests in progress finish, let listeners settle, then exit.
async function shutDown(signal) {
  console.log(`${signal}: closing`);
  const closed = new Promise((resolve) => server.close(resolve));
  server.closeIdleConnections();
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
  const { drained, pending } = await upgrades.drain(10_000);
  console.log(drained ? 'drained, exiting' : `exiting with ${pending} listener(s) still pending`);
  process.exit(drained ? 0 : 1);
}
process.once('SIGTERM', shutDown);
process.once('SIGINT', shutDown);
