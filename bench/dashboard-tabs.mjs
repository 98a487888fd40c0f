// `node bench/dashboard-tabs.mjs`: do open dashboard tabs delay the platform's 200s? A receiver with a
// 200 000-device task (bench/dashboard-tabs-server.mjs, on core 0 when it can be pinned) takes 500
// pushes a second for that task, open loop (bench/latency.mjs), with no tab and with three tabs doing
// what the page does on every change (the task list, health, versions, the task, a page of 100
// devices). Rounds alternate; prints one JSON line. When the page downloaded whole tasks, one tab made pushes wait up to
// 9.3 s and three tabs 14.9 s (131 MB on every change).
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { latency } from './latency.mjs';

const RATE = 500;
const SECONDS = Number(process.env.TABS_SECONDS ?? 8);
const ROUNDS = Number(process.env.TABS_ROUNDS ?? 4);
const canPin = spawnSync('taskset', ['-V']).status === 0 && availableParallelism() >= 2;
const script = fileURLToPath(new URL('dashboard-tabs-server.mjs', import.meta.url));
const child = spawn(canPin ? 'taskset' : process.execPath, [...(canPin ? ['-c', '0', process.execPath] : []), ...(process.env.TABS_NODE_ARGS ?? '').split(' ').filter(Boolean), script], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: child.stdout });
const next = async () => {
  for (;;) {
    const [line] = await once(lines, 'line');
    if (line.startsWith('{')) return JSON.parse(line);
    if (process.env.TABS_NODE_ARGS) process.stderr.write(`${line}\n`);
  }
};
const { port } = await next();
const cpu = async () => {
  child.stdin.write('cpu\n');
  return (await next()).cpu;
};
const base = `http://127.0.0.1:${port}/upgrades/`;

let device = 0;
const body = () => {
  device = (device + 7919) % 200_000;
  return JSON.stringify({ notifyType: 'swUpgradeStateChangeNotify', deviceId: `meter-${device}`, appId: `app-${Date.now()}-${device}`, operationId: 'campaign', subOperationId: `sub-${device}`, swUpgradeState: 'updating' });
};

// A tab: follows the stream, and on each change reloads what the page reloads (one load at a time, one queued).
function openTab() {
  const controller = new AbortController();
  let loading = false;
  let again = false;
  let loads = 0;
  const load = async () => {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    try {
      const get = async (path) => (await fetch(base + path, { signal: controller.signal })).json();
      await Promise.all([get('api/tasks'), get('api/health'), get('api/versions')]);
      await Promise.all([get('api/tasks/campaign'), get('api/tasks/campaign/devices?sort=lastSeen&order=desc&offset=0&limit=100')]);
      loads += 1;
    } catch {
      // aborted at the end
    } finally {
      loading = false;
      if (again) {
        again = false;
        void load();
      }
    }
  };
  (async () => {
    const response = await fetch(`${base}api/stream`, { signal: controller.signal });
    const decoder = new TextDecoder();
    for await (const chunk of response.body) if (decoder.decode(chunk).includes('event: change')) setTimeout(load, Math.random() * 200); // as the page does
  })().catch(() => {});
  return { close: () => controller.abort(), loads: () => loads };
}

await latency(port, { rate: RATE, seconds: 2, body }); // warm-up
const runs = { none: [], three: [] };
for (let round = 0; round < ROUNDS; round += 1) {
  for (const kind of round % 2 ? ['three', 'none'] : ['none', 'three']) {
    const tabs = kind === 'three' ? [openTab(), openTab(), openTab()] : [];
    const before = await cpu();
    const result = await latency(port, { rate: RATE, seconds: SECONDS, body });
    const cpuPerPush = (await cpu()) - before;
    for (const tab of tabs) tab.close();
    runs[kind].push({ ...result, cpuPerPush: cpuPerPush / result.count, loads: tabs.reduce((n, tab) => n + tab.loads(), 0) });
    process.stderr.write(`  ${kind === 'three' ? 'three tabs' : 'no tab'}: p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms, max ${result.max.toFixed(1)} ms\n`);
  }
}
child.kill();
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const summary = (list) => ({ p50: median(list.map((r) => r.p50)), p99: median(list.map((r) => r.p99)), max: Math.max(...list.map((r) => r.max)), cpuPerPush: median(list.map((r) => r.cpuPerPush)), failed: list.reduce((n, r) => n + r.failed + r.nonOk, 0), loads: list.reduce((n, r) => n + r.loads, 0) });
console.log(JSON.stringify({ devices: 200_000, rate: RATE, none: summary(runs.none), three: summary(runs.three) }));
