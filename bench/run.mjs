// `npm run bench`: the router against Express's and Node's own floors on this machine, and the rest of
// the performance targets (core throughput, latency with listeners, memory, start-up). Prints one table.
// Servers run in their own processes on core 0, the load generator on core 1 (taskset), rounds
// alternate between kinds, and each figure is the median of the rounds. Not part of `npm test`.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { latency } from './latency.mjs';
import { load, PATH } from './load.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const CONNECTIONS = 50;
// Decided before pinning: once pinned to one core, this process sees one core.
const canPin = process.env.BENCH_PINNED === '1' || (spawnSync('taskset', ['-V']).status === 0 && availableParallelism() >= 2);
const hasWrk = spawnSync('wrk', ['-v']).error === undefined;

// The load generator takes core 1; re-run this script there once.
if (canPin && process.env.BENCH_PINNED === undefined) {
  const child = spawn('taskset', ['-c', '1', process.execPath, fileURLToPath(import.meta.url)], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_PINNED: '1' },
  });
  const [code] = await once(child, 'exit');
  process.exit(code ?? 1);
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const mb = (bytes) => `${(bytes / 1048576).toFixed(1)} MB`;
const fmt = (n, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function startServer(kind, nodeArgs = [], env = {}) {
  const command = canPin ? 'taskset' : process.execPath;
  const args = [...(canPin ? ['-c', '0', process.execPath] : []), ...nodeArgs, join(here, 'server.mjs'), kind];
  const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...env } });
  const [{ port }] = await once(child, 'message');
  const report = async (message = 'report') => {
    child.send(message);
    const [reply] = await once(child, 'message');
    return reply;
  };
  return { port, report, stop: () => child.kill() };
}

/** Saturating load: wrk (C, one thread) where installed, else autocannon. */
function saturate(port, seconds = SECONDS, script = 'notifications.lua', connections = CONNECTIONS) {
  if (!hasWrk) return load(port, { duration: seconds, connections });
  const out = execFileSync('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '-s', join(here, script), `http://127.0.0.1:${port}${PATH}`], {
    encoding: 'utf8',
  });
  const summary = out.split('WRK_JSON ')[1];
  if (summary === undefined) return { rps: NaN, non2xx: NaN, errors: NaN, p50: NaN, p99: NaN, raw: out };
  const r = JSON.parse(summary);
  return { rps: r.requests / r.seconds, total: r.requests, non2xx: r.non2xx, errors: r.errors, p50: r.p50, p99: r.p99 };
}

async function throughputSection() {
  const kinds = ['node-floor', 'router-node', 'router-node-nodedupe', 'express-floor', 'router-express-1', 'router-express-nodedupe', 'router-express-metrics', 'router-express-dashboard', 'express-json'];
  const runs = Object.fromEntries(kinds.map((kind) => [kind, []]));
  for (let round = 1; round <= ROUNDS; round += 1) {
    for (const kind of round % 2 ? kinds : [...kinds].reverse()) {
      const server = await startServer(kind);
      const { cpuMicros: cpuBefore } = await server.report();
      const result = await saturate(server.port);
      const { stats, parsed, cpuMicros } = await server.report();
      server.stop();
      const emitted = stats ? stats.events.upgradeResult : parsed;
      // CPU time the server spent per request: steadier than req/s on a machine whose speed drifts.
      const cpuPerRequest = (cpuMicros - cpuBefore) / emitted;
      runs[kind].push({ ...result, emitted, cpuPerRequest, duplicates: stats?.events.duplicate ?? 0, invalid: stats?.events.invalid ?? 0 });
      process.stderr.write(`  round ${round} ${kind}: ${fmt(result.rps)} req/s, ${cpuPerRequest.toFixed(1)} µs CPU/request\n`);
    }
  }
  // A ratio is taken within each round (the two ran a few seconds apart), then the median of those:
  // this machine's speed drifts between rounds more than the router differs from its floor.
  const ratioTo = (kind, floor) => median(runs[kind].map((r, i) => r.rps / runs[floor][i].rps));
  // Capacity from CPU time: how many requests a core serves, relative to the floor's.
  const cpuRatioTo = (kind, floor) => median(runs[floor].map((r) => r.cpuPerRequest)) / median(runs[kind].map((r) => r.cpuPerRequest));
  return Object.fromEntries(
    kinds.map((kind) => {
      const list = runs[kind];
      const floor = kind.startsWith('router-node') ? 'node-floor' : 'express-floor';
      return [
        kind,
        {
          ratio: ratioTo(kind, floor),
          cpuPerRequest: median(list.map((r) => r.cpuPerRequest)),
          cpuRatio: cpuRatioTo(kind, floor),
          rps: median(list.map((r) => r.rps)),
          p50: median(list.map((r) => r.p50)),
          p99: median(list.map((r) => r.p99)),
          non2xx: list.reduce((n, r) => n + r.non2xx + r.errors, 0),
          // Every answered request became exactly one event (a few more may have been in flight when the load stopped).
          exactlyOnce: list.every((r) => r.emitted >= r.total && r.emitted - r.total <= CONNECTIONS && r.duplicates === 0 && r.invalid === 0),
        },
      ];
    }),
  );
}

// The journal's cost: the README's router without a journal, with SQLite (durability full, a fresh
// file each run) and with Postgres (a real one, started here as the specs start theirs), at 32
// connections, alternated. The time to the 200 is wrk's latency; commits against pushes show the grouping.
async function journalSection() {
  const { tsImport } = await import('tsx/esm/api');
  const { PostgresServer } = await tsImport('../spec/support/postgres-server.ts', import.meta.url);
  const folder = mkdtempSync(join(tmpdir(), 'bench-journal-'));
  const postgres = await PostgresServer.start(folder);
  const kinds = ['router-express-1', 'router-express-sqlite', 'router-express-postgres'];
  const runs = Object.fromEntries(kinds.map((kind) => [kind, []]));
  try {
    for (let round = 1; round <= ROUNDS; round += 1) {
      for (const kind of round % 2 ? kinds : [...kinds].reverse()) {
        const db = join(folder, `round-${round}.db`);
        await postgres.query('DROP TABLE IF EXISTS huawei_iot_upgrade_journal');
        const server = await startServer(kind, [], { BENCH_DB: db, BENCH_PG_URL: postgres.url });
        // One push first, so that the table exists and the worker is up before the clock starts.
        await fetch(`http://127.0.0.1:${server.port}${PATH}`, { method: 'POST', body: '{}' });
        const { cpuMicros: cpuBefore, stats: before } = await server.report();
        const result = await saturate(server.port, SECONDS, 'notifications.lua', 32);
        const { stats, cpuMicros } = await server.report();
        server.stop();
        const pushes = stats.events.upgradeResult;
        const commits = stats.journal ? stats.journal.commits - before.journal.commits : 0;
        runs[kind].push({ ...result, cpuPerRequest: (cpuMicros - cpuBefore) / pushes, commitsPerSecond: commits / SECONDS, pushesPerSecond: (stats.journal ? stats.journal.committed - before.journal.committed : pushes) / SECONDS });
        process.stderr.write(`  round ${round} ${kind}: ${fmt(result.rps)} req/s, ${((cpuMicros - cpuBefore) / pushes).toFixed(1)} µs CPU/request, ${fmt(commits / SECONDS)} commits/s\n`);
      }
    }
  } finally {
    await postgres.stop();
    rmSync(folder, { recursive: true, force: true });
  }
  const base = runs['router-express-1'];
  return Object.fromEntries(
    kinds.map((kind) => {
      const list = runs[kind];
      return [
        kind,
        {
          ratio: median(list.map((r, i) => r.rps / base[i].rps)),
          rps: median(list.map((r) => r.rps)),
          cpuPerRequest: median(list.map((r) => r.cpuPerRequest)),
          cpuRatio: median(base.map((r) => r.cpuPerRequest)) / median(list.map((r) => r.cpuPerRequest)),
          p50: median(list.map((r) => r.p50)),
          p99: median(list.map((r) => r.p99)),
          commitsPerSecond: median(list.map((r) => r.commitsPerSecond)),
          pushesPerSecond: median(list.map((r) => r.pushesPerSecond)),
          non2xx: list.reduce((n, r) => n + r.non2xx + r.errors, 0),
        },
      ];
    }),
  );
}

// Listeners far slower than arrivals (each awaits 1 s; 100 run at once): the backlog must wait in the
// journal, not in memory. Saturating load for 20 s; RSS sampled every half second.
async function journalMemorySection() {
  const folder = mkdtempSync(join(tmpdir(), 'bench-journal-memory-'));
  const server = await startServer('router-express-sqlite', [], { BENCH_DB: join(folder, 'backlog.db'), BENCH_SLOW_MS: '1000' });
  try {
    const samples = [];
    const started = Date.now();
    const generator = hasWrk
      ? spawn('wrk', ['-t1', '-c32', '-d20s', '-s', join(here, 'notifications.lua'), `http://127.0.0.1:${server.port}${PATH}`], { stdio: 'ignore' })
      : undefined;
    // Listened for now: wrk may be gone before the sampling below ends.
    const generatorExit = generator ? once(generator, 'exit') : undefined;
    const autocannonRun = hasWrk ? undefined : load(server.port, { duration: 20, connections: 32 });
    while (Date.now() - started < 20_000) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      samples.push(await server.report());
    }
    await generatorExit;
    await autocannonRun;
    const last = await server.report();
    const result = { rps: last.stats.received / 20 };
    const rss = samples.map((s) => s.rss);
    const settled = samples.filter((s) => s.stats.received >= 20_000).map((s) => s.rss);
    return { received: last.stats.received, pending: last.stats.journal.pending, rps: result.rps, startRss: rss[0], maxRss: Math.max(...rss), settledSpread: settled.length ? Math.max(...settled) - Math.min(...settled) : NaN };
  } finally {
    server.stop();
    rmSync(folder, { recursive: true, force: true });
  }
}

// One warm server; the listeners are swapped between rounds, so the three setups share a process,
// a heap and a JIT state, and only the listeners differ.
async function latencySection() {
  const setups = { 'router-express-0': 0, 'router-express-10': 10, 'router-express-slow': 'slow' };
  const kinds = Object.keys(setups);
  const runs = Object.fromEntries(kinds.map((kind) => [kind, []]));
  const server = await startServer('router-express-0');
  await latency(server.port, { rate: 1000, seconds: 2 }); // warm-up
  for (let round = 1; round <= ROUNDS; round += 1) {
    for (const kind of round % 2 ? kinds : [...kinds].reverse()) {
      await server.report({ listeners: setups[kind] });
      const result = await latency(server.port, { rate: 1000, seconds: SECONDS });
      runs[kind].push(result);
      process.stderr.write(`  round ${round} ${kind}: p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms\n`);
    }
  }
  server.stop();
  return Object.fromEntries(kinds.map((kind) => [kind, { p50: median(runs[kind].map((r) => r.p50)), p99: median(runs[kind].map((r) => r.p99)), failed: runs[kind].reduce((n, r) => n + r.failed + r.nonOk, 0) }]));
}

// GET /api/tasks with 100 tasks of 10 000 devices each: median of 20 over HTTP, three fresh processes.
function dashboardSection() {
  const run = () => {
    const args = [...(canPin ? ['-c', '0', process.execPath] : []), join(here, 'dashboard.mjs')];
    return JSON.parse(execFileSync(canPin ? 'taskset' : process.execPath, args, { encoding: 'utf8' }));
  };
  const runs = [run(), run(), run()];
  return { devices: runs[0].devices, tasks: runs[0].tasks, medianMs: median(runs.map((r) => r.medianMs)), maxMs: Math.max(...runs.map((r) => r.maxMs)), rss: median(runs.map((r) => r.rss)), foldSeconds: median(runs.map((r) => r.foldSeconds)) };
}

// Pushes at 500/s into a receiver with a 200 000-device task, with no tab and with three tabs open (bench/dashboard-tabs.mjs).
function dashboardTabsSection() {
  return JSON.parse(execFileSync(process.execPath, [join(here, 'dashboard-tabs.mjs')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
}

// The emulator pushing a campaign's results into the router with a SQLite journal, HTTP and HTTPS side by side.
function reconcileSection() {
  return JSON.parse(execFileSync(process.execPath, [join(here, 'reconcile.mjs')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
}

// The emulator is the load: it stays on this process's core; bench/platform.mjs puts the receiver on core 0.
function platformSection() {
  return JSON.parse(execFileSync(process.execPath, [join(here, 'platform.mjs')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
}

function coreSection() {
  const run = (variant) => {
    const args = [...(canPin ? ['-c', '0', process.execPath] : []), join(here, 'core.mjs')];
    const out = execFileSync(canPin ? 'taskset' : process.execPath, args, { encoding: 'utf8', env: { ...process.env, CORE_DEDUPE: variant } });
    return JSON.parse(out);
  };
  // Five alternated rounds, as the throughput rows.
  const dedupe = [];
  const noDedupe = [];
  for (let round = 0; round < Math.max(ROUNDS, 5); round += 1) {
    dedupe.push(run('default').opsPerSecond);
    noDedupe.push(run('off').opsPerSecond);
  }
  return { dedupe: median(dedupe), noDedupe: median(noDedupe) };
}

async function memorySection() {
  const TARGET = Number(process.env.BENCH_MEMORY_NOTIFICATIONS ?? 1_000_000);
  const server = await startServer('router-node', ['--expose-gc']);
  const generator = hasWrk
    ? spawn('wrk', ['-t1', `-c${CONNECTIONS}`, '-d600s', '-s', join(here, 'notifications.lua'), `http://127.0.0.1:${server.port}${PATH}`], { stdio: 'ignore' })
    : undefined;
  const autocannonRun = hasWrk ? undefined : load(server.port, { amount: TARGET, connections: CONNECTIONS });
  const samples = [];
  const { cpuMicros: cpuBefore } = await server.report();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const { stats, rss, heapUsed } = await server.report();
    samples.push({ received: stats.received, rss, heapUsed });
    if (stats.received >= TARGET) break;
  }
  generator?.kill();
  await autocannonRun;
  const { stats, rss, cpuMicros } = await server.report();
  server.stop();
  const start = samples.find((s) => s.received >= 20_000) ?? samples[0];
  const secondHalf = samples.filter((s) => s.received >= TARGET / 2);
  const halfRss = secondHalf.map((s) => s.rss);
  return {
    notifications: stats.received,
    upgradeResult: stats.events.upgradeResult,
    startRss: start.rss,
    endRss: rss,
    maxRss: Math.max(...samples.map((s) => s.rss)),
    secondHalfSpread: Math.max(...halfRss) - Math.min(...halfRss),
    secondHalfDrift: halfRss[halfRss.length - 1] - halfRss[0],
    cpuPerNotification: (cpuMicros - cpuBefore) / stats.received,
    // What the process retains (heap used after a full collection), apart from V8's young generation,
    // which V8 enlarges under a high allocation rate whatever is retained (RSS then steps up once, and
    // stays): medians of the first and last three samples of the second half.
    heapDrift: median(secondHalf.slice(-3).map((s) => s.heapUsed)) - median(secondHalf.slice(0, 3).map((s) => s.heapUsed)),
  };
}

async function floodSection() {
  const server = await startServer('router-node');
  const before = await server.report('reset-peak');
  const result = hasWrk
    ? await saturate(server.port, SECONDS, 'flood.lua', 100)
    : await load(server.port, { duration: SECONDS, connections: 100, body: `{"pad":"${'a'.repeat(1024 * 1024)}"}` });
  const after = await server.report();
  server.stop();
  return { baseline: before.rss, peak: after.peakRss, tooLarge: after.stats.invalid.too_large, offeredMB: (after.stats.invalid.too_large * 1) | 0, result };
}

function startupSection() {
  const script = `const t0 = performance.now(); const { createUpgradeRouter } = require('huawei-iot-upgrade-router');
    const t1 = performance.now(); createUpgradeRouter(); const t2 = performance.now();
    console.log(JSON.stringify({ load: t1 - t0, create: t2 - t1 }));`;
  const runs = Array.from({ length: 10 }, () => JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: join(here, '..') })));
  return { load: median(runs.map((r) => r.load)), create: median(runs.map((r) => r.create)) };
}

const require = createRequire(import.meta.url);
console.log(`huawei-iot-upgrade-router benchmark — ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${mb(totalmem())} RAM`);
console.log(
  `Node ${process.version}, express ${require('express/package.json').version}; load: ${hasWrk ? 'wrk (1 thread)' : 'autocannon (wrk not installed: the Node floor may be bound by the load generator)'}, ` +
    `${CONNECTIONS} connections, ${ROUNDS} alternated rounds of ${SECONDS} s, medians (ratios: median of per-round ratios); ${canPin ? 'servers on core 0, load on core 1' : 'not pinned (no taskset or one core)'}\n`,
);

// BENCH_ONLY=throughput,journal,journal-memory,dashboard,dashboard-tabs,platform,reconcile,latency,core,memory,flood,startup runs a part; the table shows what ran.
const only = new Set((process.env.BENCH_ONLY ?? 'throughput,journal,journal-memory,dashboard,dashboard-tabs,platform,reconcile,latency,core,memory,flood,startup').split(','));
const section = async (name, label, run) => {
  if (!only.has(name)) return undefined;
  process.stderr.write(`${label}…\n`);
  return run();
};
const t = await section('throughput', 'throughput', throughputSection);
const j = await section('journal', 'journal cost', journalSection);
const jm = await section('journal-memory', 'journal backlog with slow listeners', journalMemorySection);
const d = await section('dashboard', 'dashboard API with a million devices', dashboardSection);
const dt = await section('dashboard-tabs', 'pushes with three dashboard tabs on a 200 000-device task', dashboardTabsSection);
const p = await section('platform', 'emulator pushing a campaign into a journaled receiver', platformSection);
const r = await section('reconcile', 'reconciling a 20 000-device task nobody was told of', reconcileSection);
const l = await section('latency', 'latency with listeners', latencySection);
const c = await section('core', 'core', coreSection);
const m = await section('memory', 'memory over 1 000 000 notifications', memorySection);
const f = await section('flood', 'flood of oversized bodies', floodSection);
const s = await section('startup', 'start-up', startupSection);

const ratio = (a, b) => (a / b).toFixed(2);
const verdict = (ok) => (ok ? 'met' : 'NOT met');
const rows = [
  ...(t ? [
  ['Node floor: node:http, read body, JSON.parse, 200', `${fmt(t['node-floor'].rps)} req/s`, `${t['node-floor'].cpuPerRequest.toFixed(1)} µs CPU/req; p50 ${t['node-floor'].p50} ms`, 'reference'],
  ['router as node:http listener', `${fmt(t['router-node'].rps)} req/s`, `${t['router-node'].cpuPerRequest.toFixed(1)} µs CPU/req: ${t['router-node'].cpuRatio.toFixed(2)} x floor's capacity`, `${t['router-node'].ratio.toFixed(2)} x Node floor, ${t['router-node'].cpuRatio.toFixed(2)} x in CPU (target 0.85 on both): ${verdict(t['router-node'].ratio >= 0.85 && t['router-node'].cpuRatio >= 0.85)}`],
  ['… with dedupe: false', `${fmt(t['router-node-nodedupe'].rps)} req/s`, `${t['router-node-nodedupe'].cpuPerRequest.toFixed(1)} µs CPU/req: ${t['router-node-nodedupe'].cpuRatio.toFixed(2)} x floor's capacity`, `${t['router-node-nodedupe'].ratio.toFixed(2)} x Node floor`],
  ['Express floor: one middleware, read body, JSON.parse, 200', `${fmt(t['express-floor'].rps)} req/s`, `${t['express-floor'].cpuPerRequest.toFixed(1)} µs CPU/req; p50 ${t['express-floor'].p50} ms`, 'reference'],
  ['router mounted in Express (the quick start)', `${fmt(t['router-express-1'].rps)} req/s`, `${t['router-express-1'].cpuPerRequest.toFixed(1)} µs CPU/req: ${t['router-express-1'].cpuRatio.toFixed(2)} x floor's capacity`, `${t['router-express-1'].ratio.toFixed(2)} x Express floor, ${t['router-express-1'].cpuRatio.toFixed(2)} x in CPU (target 0.9 on both): ${verdict(t['router-express-1'].ratio >= 0.9 && t['router-express-1'].cpuRatio >= 0.9)}`],
  ['… with dedupe: false', `${fmt(t['router-express-nodedupe'].rps)} req/s`, `${t['router-express-nodedupe'].cpuPerRequest.toFixed(1)} µs CPU/req: ${t['router-express-nodedupe'].cpuRatio.toFixed(2)} x floor's capacity`, `${t['router-express-nodedupe'].ratio.toFixed(2)} x Express floor`],
  ['… with Prometheus metrics, scraped every second', `${fmt(t['router-express-metrics'].rps)} req/s`, `${t['router-express-metrics'].cpuPerRequest.toFixed(1)} µs CPU/req: ${(t['router-express-1'].cpuPerRequest / t['router-express-metrics'].cpuPerRequest).toFixed(2)} x the router's capacity`, `${(t['router-express-metrics'].ratio / t['router-express-1'].ratio).toFixed(2)} x the router without (target >= 0.97): ${verdict(t['router-express-metrics'].ratio / t['router-express-1'].ratio >= 0.97)}`],
  ['… with the dashboard attached (folding every push)', `${fmt(t['router-express-dashboard'].rps)} req/s`, `${t['router-express-dashboard'].cpuPerRequest.toFixed(1)} µs CPU/req: ${(t['router-express-1'].cpuPerRequest / t['router-express-dashboard'].cpuPerRequest).toFixed(2)} x the router's capacity`, `${(t['router-express-dashboard'].ratio / t['router-express-1'].ratio).toFixed(2)} x the router without (target >= 0.95): ${verdict(t['router-express-dashboard'].ratio / t['router-express-1'].ratio >= 0.95)}`],
  ['express.json() baseline', `${fmt(t['express-json'].rps)} req/s`, `${t['express-json'].cpuPerRequest.toFixed(1)} µs CPU/req: ${t['express-json'].cpuRatio.toFixed(2)} x floor's capacity`, `${t['express-json'].ratio.toFixed(2)} x Express floor`],
  ['answers not 200 / events not exactly once', `${t['router-node'].non2xx + t['router-express-1'].non2xx} / ${t['router-node'].exactlyOnce && t['router-express-1'].exactlyOnce ? 0 : 'SOME'}`, '', verdict(t['router-node'].non2xx + t['router-express-1'].non2xx === 0 && t['router-node'].exactlyOnce && t['router-express-1'].exactlyOnce)],
  ] : []),
  ...(j ? [
  ['router in Express, 32 connections, no journal', `${fmt(j['router-express-1'].rps)} req/s`, `${j['router-express-1'].cpuPerRequest.toFixed(1)} µs CPU/req; 200 after p50 ${j['router-express-1'].p50.toFixed(2)} ms, p99 ${j['router-express-1'].p99.toFixed(2)} ms`, 'reference'],
  ['… sqliteJournal, durability full', `${fmt(j['router-express-sqlite'].rps)} req/s`, `${j['router-express-sqlite'].cpuPerRequest.toFixed(1)} µs CPU/req (${j['router-express-sqlite'].cpuRatio.toFixed(2)} x capacity); 200 after p50 ${j['router-express-sqlite'].p50.toFixed(2)} ms, p99 ${j['router-express-sqlite'].p99.toFixed(2)} ms; ${fmt(j['router-express-sqlite'].commitsPerSecond)} commits/s for ${fmt(j['router-express-sqlite'].pushesPerSecond)} pushes/s`, `${j['router-express-sqlite'].ratio.toFixed(2)} x without (target 0.8): ${verdict(j['router-express-sqlite'].ratio >= 0.8)}`],
  ['… postgresJournal, same machine', `${fmt(j['router-express-postgres'].rps)} req/s`, `${j['router-express-postgres'].cpuPerRequest.toFixed(1)} µs CPU/req (${j['router-express-postgres'].cpuRatio.toFixed(2)} x capacity, server's own CPU only); 200 after p50 ${j['router-express-postgres'].p50.toFixed(2)} ms, p99 ${j['router-express-postgres'].p99.toFixed(2)} ms; ${fmt(j['router-express-postgres'].commitsPerSecond)} commits/s for ${fmt(j['router-express-postgres'].pushesPerSecond)} pushes/s`, `${j['router-express-postgres'].ratio.toFixed(2)} x without (target 0.5): ${verdict(j['router-express-postgres'].ratio >= 0.5)}`],
  ] : []),
  ...(jm ? [[`journal backlog: listeners of 1 s, 100 at once, 20 s of load`, `RSS ${mb(jm.startRss)} -> max ${mb(jm.maxRss)}`, `${fmt(jm.received)} pushes at ${fmt(jm.rps)} req/s, ${fmt(jm.pending)} left pending in the journal; spread after 20 000: ${mb(jm.settledSpread)}`, 'bounded: the backlog waits in the journal']] : []),
  ...(d ? [[`dashboard: GET /api/tasks, ${fmt(d.tasks)} tasks of ${fmt(d.devices / d.tasks)} devices`, `median ${d.medianMs.toFixed(1)} ms`, `max ${d.maxMs.toFixed(1)} ms; ${fmt(d.devices)} devices folded in ${d.foldSeconds.toFixed(1)} s, RSS ${mb(d.rss)}`, `target < 50 ms: ${verdict(d.medianMs < 50)}`]] : []),
  ...(dt ? [[`pushes at ${dt.rate}/s, ${fmt(dt.devices)}-device task, three dashboard tabs open`, `p99 ${dt.three.p99.toFixed(1)} ms (no tab: ${dt.none.p99.toFixed(1)} ms)`, `p50 ${dt.three.p50.toFixed(2)} ms (no tab ${dt.none.p50.toFixed(2)}); ${dt.three.cpuPerPush.toFixed(0)} µs receiver CPU/push (no tab ${dt.none.cpuPerPush.toFixed(0)}, tabs' reads included); ${fmt(dt.three.loads)} page loads`, `p99 within 2 x no tab: ${verdict(dt.three.p99 <= 2 * dt.none.p99)}`]] : []),
  ...(p ? [[`emulator -> router + sqliteJournal, ${fmt(p.devices)} results, HTTP`, `${fmt(p.http.pushesPerSecond)} pushes/s`, `${p.http.cpuPerPush.toFixed(0)} µs receiver CPU/push; ${p.http.failed} failed, ${p.http.lost} not heard`, 'reference'],
  [`… over HTTPS (the receiver verified with the uploaded CA)`, `${fmt(p.https.pushesPerSecond)} pushes/s`, `${p.https.cpuPerPush.toFixed(0)} µs receiver CPU/push; ${p.https.failed} failed, ${p.https.lost} not heard`, `${(p.https.cpuPerPush / p.http.cpuPerPush).toFixed(2)} x the CPU of HTTP`]] : []),
  ...(c ? [['core: classify, validate, dedupe, dispatch (1 core)', `${fmt(c.dedupe)} /s`, `${(1e6 / c.dedupe).toFixed(2)} µs CPU each; without dedupe ${fmt(c.noDedupe)} /s (${(1e6 / c.noDedupe).toFixed(2)} µs)`, `target 1 000 000: ${verdict(c.dedupe >= 1e6)}`]] : []),
  ...(l ? [['latency at 1 000 req/s, no listener', `p99 ${l['router-express-0'].p99.toFixed(2)} ms`, `p50 ${l['router-express-0'].p50.toFixed(2)} ms`, 'reference'],
  ['… ten listeners', `p99 ${l['router-express-10'].p99.toFixed(2)} ms`, `p50 ${l['router-express-10'].p50.toFixed(2)} ms`, `${ratio(l['router-express-10'].p99, l['router-express-0'].p99)} x (target <= 1.10): ${verdict(l['router-express-10'].p99 <= 1.1 * l['router-express-0'].p99)}`],
  ['… one listener awaiting 100 ms', `p99 ${l['router-express-slow'].p99.toFixed(2)} ms`, `p50 ${l['router-express-slow'].p50.toFixed(2)} ms`, `${ratio(l['router-express-slow'].p99, l['router-express-0'].p99)} x (target <= 1.10): ${verdict(l['router-express-slow'].p99 <= 1.1 * l['router-express-0'].p99)}`]] : []),
  ...(r ? [[`reconcile: ${fmt(r.devices)} results filled in (sqliteJournal), one pass`, `${(r.first.ms / 1000).toFixed(1)} s`, `${r.first.calls} platform calls (${Math.ceil(r.first.calls / 50)} min at the default 50 a minute); ${(r.first.cpuMs / r.devices).toFixed(2)} ms CPU/result with the emulator; ${fmt(r.delivered)} delivered`, 'reference'],
  [`… the next pass, nothing missing`, `${r.second.ms.toFixed(1)} ms`, `${r.second.calls} platform calls`, '']] : []),
  ...(m ? [[`memory: ${fmt(m.notifications)} notifications, dedupe on`, `RSS ${mb(m.startRss)} -> ${mb(m.endRss)} (max ${mb(m.maxRss)})`, `${m.cpuPerNotification.toFixed(1)} µs CPU/req; second half: RSS spread ${mb(m.secondHalfSpread)}, drift ${mb(m.secondHalfDrift)}; heap used drift ${mb(m.heapDrift)}`, `growth ${mb(m.maxRss - m.startRss)} (target < 30 MB, heap flat: drift < 5 MB): ${verdict(m.maxRss - m.startRss < 30 * 1048576 && Math.abs(m.heapDrift) < 5 * 1048576)}`]] : []),
  ...(f ? [[`memory: flood of 1 MB bodies, 100 connections, ${SECONDS} s`, `RSS ${mb(f.baseline)} -> peak ${mb(f.peak)}`, `${fmt(f.tooLarge)} bodies cut off at 64 KiB`, `growth ${mb(f.peak - f.baseline)}`]] : []),
  ...(s ? [['start-up: require, then createUpgradeRouter()', `${s.load.toFixed(1)} ms + ${s.create.toFixed(1)} ms`, 'median of 10 fresh processes', '']] : []),
];
const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length), 4));
const line = (r) => `| ${r.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
console.log(line(['measurement', 'result', 'detail', 'against the target']));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
