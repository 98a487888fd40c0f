// The demo receiver behind `npm start`: the router mounted at the path Huawei's own SDKs use, logging
// one line per event, with a metrics endpoint and a graceful shutdown. Feed it with `npm run simulate`
// or point a platform subscription at it. ALLOW_IPS (comma-separated addresses or CIDR ranges) and
// ALLOW_TOKEN turn on access control.
import express from 'express';
import { createUpgradeRouter } from 'huawei-iot-upgrade-router';

const port = Number(process.env.PORT ?? 3000);
const path = '/v1.0.0/messageReceiver';
const allow = {
  ...(process.env.ALLOW_IPS ? { ips: process.env.ALLOW_IPS.split(',') } : {}),
  ...(process.env.ALLOW_TOKEN ? { token: process.env.ALLOW_TOKEN } : {}),
};

const app = express();
const upgrades = createUpgradeRouter({ allow });
app.use(path, upgrades);
// Counters for a health check or a metrics scraper; cheap enough for every scrape.
app.get('/metrics', (_req, res) => {
  res.json(upgrades.stats());
});

const who = (n) => `device=${n.deviceId} subOperation=${n.subOperationId}`;
upgrades.on('upgradeResult', (n, context) => {
  console.log(
    `upgradeResult ${n.swUpgradeResult} ${who(n)} ${n.sourceVersion} -> ${n.curVersion} (target ${n.targetVersion}) errorCode=${n.errorCode} from ${context.ip}`,
  );
});
upgrades.on('upgradeState', (n) => console.log(`upgradeState ${n.swUpgradeState} ${who(n)}`));
upgrades.on('firmwareUpgradeResult', (n) => {
  console.log(`firmwareUpgradeResult ${n.status} ${who(n)} ${n.sourceVersion} -> ${n.curVersion} (target ${n.targetVersion})`);
});
upgrades.on('firmwareUpgradeState', (n) => console.log(`firmwareUpgradeState step=${n.step} (${n.stepDesc}) ${who(n)}`));
upgrades.on('duplicate', (n) => console.log(`duplicate ${n.notifyType} ${who(n)} (the platform re-sent it)`));
upgrades.on('invalid', (rejection) => {
  console.log(`invalid ${rejection.reason}: ${rejection.message} from ${rejection.context.ip}`);
});
upgrades.on('error', (error) => {
  console.log(`error: ${error.message}`);
});

const server = app.listen(port, () => {
  console.log(`huawei-iot-upgrade-router demo receiver on http://localhost:${port}${path} (metrics at /metrics)`);
});
// A sender that stalls cannot hold a socket for minutes: the platform gives up after 15 s anyway.
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
