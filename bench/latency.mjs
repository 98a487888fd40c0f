// Latency at a fixed rate, open loop: requests go out on schedule whether or not earlier ones were
// answered, so a stalled server cannot slow the load down and hide its stall. Each request is timed
// from when it was written, so the probe's own timer jitter stays out of the figure. autocannon's
// rate mode records whole milliseconds and sends in bursts, and wrk has no rate mode: hence this probe.
import { Agent, request } from 'node:http';
import { nextBody, PATH } from './load.mjs';

/** Sends `rate` requests a second for `seconds` (bodies from `body`) and resolves with p50/p99/max in ms and the failures. */
export function latency(port, { rate = 1000, seconds = 5, sockets = 16, body: makeBody = nextBody } = {}) {
  const agent = new Agent({ keepAlive: true, maxSockets: sockets });
  const total = rate * seconds;
  const samples = [];
  let failed = 0;
  let nonOk = 0;
  const start = performance.now();
  return new Promise((resolve) => {
    let sent = 0;
    const finish = () => {
      if (samples.length + failed < total) return;
      agent.destroy();
      samples.sort((a, b) => a - b);
      const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? NaN;
      resolve({ p50: at(0.5), p99: at(0.99), max: samples[samples.length - 1], failed, nonOk, count: samples.length });
    };
    const tick = () => {
      const due = start + (sent * 1000) / rate;
      while (sent < total && start + (sent * 1000) / rate <= performance.now()) {
        sent += 1;
        const body = makeBody();
        const req = request(
          { port, host: '127.0.0.1', method: 'POST', path: PATH, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
          (res) => {
            res.resume();
            res.on('end', () => {
              if (res.statusCode !== 200) nonOk += 1;
              samples.push(performance.now() - written);
              finish();
            });
          },
        );
        const written = performance.now();
        req.on('error', () => {
          failed += 1;
          finish();
        });
        req.end(body);
      }
      if (sent < total) setTimeout(tick, Math.max(0, due + 1000 / rate - performance.now()));
    };
    tick();
  });
}
