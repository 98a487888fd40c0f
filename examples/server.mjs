// The demo receiver behind `npm start`: the router mounted at the path Huawei's own SDKs use,
// logging one line per event. Point a platform subscription (or `npm run simulate`) at it.
import express from 'express';
import { createUpgradeRouter } from 'huawei-iot-upgrade-router';

const port = Number(process.env.PORT ?? 3000);
const path = '/v1.0.0/messageReceiver';

const app = express();
const upgrades = createUpgradeRouter();
app.use(path, upgrades);

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

app.listen(port, () => {
  console.log(`huawei-iot-upgrade-router demo receiver on http://localhost:${port}${path}`);
});
