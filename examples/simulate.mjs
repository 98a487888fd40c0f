// `npm run simulate [-- --url URL]`: plays the platform. POSTs the API reference's own example and a
// realistic FAIL result to a running receiver, as the platform does (JSON, UTF-8, pretty-printed),
// prints each answer's status and time, and exits non-zero unless every answer is 200.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { url: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help) {
  console.log('usage: npm run simulate -- [--url URL]   (default http://localhost:3000/v1.0.0/messageReceiver, or $RECEIVER_URL)');
  process.exit(0);
}
const url = values.url ?? process.env.RECEIVER_URL ?? 'http://localhost:3000/v1.0.0/messageReceiver';

// The reference's example, placeholders masked by Huawei as published.
const referenceExample = {
  notifyType: 'swUpgradeResultNotify',
  deviceId: '******',
  appId: '***********',
  operationId: '***********',
  subOperationId: '***********',
  curVersion: '1.3',
  targetVersion: '1.5',
  sourceVersion: '1.0',
  swUpgradeResult: 'SUCCESS',
  upgradeTime: '***',
  resultDesc: '***',
  errorCode: '***',
  description: '***',
};

const failedUpgrade = {
  notifyType: 'swUpgradeResultNotify',
  deviceId: randomUUID(),
  appId: 'Q7wuDY3n0Wx2TQnEmhArQ0JbUwYa',
  operationId: randomUUID().replaceAll('-', ''),
  subOperationId: randomUUID().replaceAll('-', ''),
  curVersion: 'V2.0.3',
  targetVersion: 'V2.1.0',
  sourceVersion: 'V2.0.3',
  swUpgradeResult: 'FAIL',
  upgradeTime: '600',
  resultDesc: 'upgrade failed',
  errorCode: '120006',
  description: 'download package timeout',
};

let failures = 0;
for (const [name, body] of [
  ['reference example (SUCCESS)', referenceExample],
  ['realistic FAIL result', failedUpgrade],
]) {
  const started = performance.now();
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json;charset=UTF-8' },
      body: JSON.stringify(body, null, 4),
    });
    const ms = (performance.now() - started).toFixed(1);
    console.log(`${name}: ${response.status} in ${ms} ms`);
    if (response.status !== 200) failures += 1;
  } catch (error) {
    console.log(`${name}: no answer from ${url} (${error.cause?.code ?? error.message})`);
    failures += 1;
  }
}
process.exit(failures === 0 ? 0 : 1);
