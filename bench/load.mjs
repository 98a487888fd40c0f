// The load generator: autocannon against one server, sending realistic notifications, each with its
// own subOperationId so that every one is new to duplicate suppression.
import autocannon from 'autocannon';

export const PATH = '/v1.0.0/messageReceiver';

/** A realistic swUpgradeResultNotify; subOperationId is filled in per request. */
export const notification = {
  notifyType: 'swUpgradeResultNotify',
  deviceId: '92d3f8da-200a-4143-8d0d-591a7e11de6c',
  appId: 'Q7wuDY3n0Wx2TQnEmhArQ0JbUwYa',
  operationId: '5c0e1b2a8d3f4e6a9b7c1d2e',
  subOperationId: '',
  curVersion: 'V2.1.0',
  targetVersion: 'V2.1.0',
  sourceVersion: 'V2.0.3',
  swUpgradeResult: 'SUCCESS',
  upgradeTime: '186',
  resultDesc: 'upgrade success',
  errorCode: '0',
  description: '',
};
const template = JSON.stringify({ ...notification, subOperationId: '@SUB@' }, null, 4);
const [head, tail] = template.split('@SUB@');
let counter = 0;
const run = Date.now().toString(36);

/** A fresh notification body: the platform's formatting, a unique subOperationId. */
export function nextBody() {
  counter += 1;
  return `${head}${run}-${counter}${tail}`;
}

// Each connection cycles through its own bodies, built once: autocannon then reuses the request
// buffers, and the load generator (a per-request setupRequest costs it about 40 %) stays well ahead
// of the server. A body comes round again only after PER_CONNECTION x connections requests, long
// after duplicate suppression (10 000 entries) has forgotten it, so every request is a new notification.
const PER_CONNECTION = 2000;
function setupClient(client) {
  client.setRequests(Array.from({ length: PER_CONNECTION }, () => ({ method: 'POST', path: PATH, body: nextBody() })));
}

/**
 * Runs autocannon and returns req/s, latency percentiles and error counts. `options` may set
 * duration (s), amount (requests), connections, overallRate (req/s), body (a fixed body).
 */
export async function load(port, { duration = 5, amount, connections = 50, overallRate, body } = {}) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}${PATH}`,
    method: 'POST',
    headers: { 'content-type': 'application/json;charset=UTF-8' },
    connections,
    ...(amount ? { amount } : { duration }),
    ...(overallRate ? { overallRate } : {}),
    ...(body === undefined ? { setupClient } : { body }),
  });
  return {
    rps: result.requests.average,
    total: result.requests.total,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}
