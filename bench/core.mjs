// The transport-free core on one core: classify, validate, deduplicate and dispatch to one listener,
// for already-parsed notifications (each one new, so none is a duplicate). Prints ops/s as JSON.
import { Bench } from 'tinybench';
import { createUpgradeRouter } from 'huawei-iot-upgrade-router';
import { notification as template } from './load.mjs';

const variants = {
  off: { dedupe: false },
  // The key is built and a store called, but nothing is remembered: isolates the LRU's cost.
  forgetful: { dedupe: { store: { seen: () => false } } },
};
const upgrades = createUpgradeRouter(variants[process.env.CORE_DEDUPE] ?? {});
let emitted = 0;
upgrades.on('upgradeResult', () => {
  emitted += 1;
});
// A batch per task iteration, so tinybench's own bookkeeping (a few hundred ns a sample) is spread
// over a thousand notifications instead of weighing on each.
const BATCH = 1000;
let i = 0;
const bench = new Bench({ time: Number(process.env.CORE_MS ?? 3000), warmupTime: 1000 });
bench.add('receive(object)', () => {
  for (let j = 0; j < BATCH; j += 1) {
    i += 1;
    upgrades.receive({ ...template, subOperationId: `sub-${i}` });
  }
});
await bench.run();
const { result } = bench.tasks[0];
const stats = upgrades.stats();
console.log(
  JSON.stringify({
    opsPerSecond: result.throughput.p50 * BATCH,
    rme: result.throughput.rme,
    emitted,
    calls: i,
    duplicates: stats.events.duplicate,
  }),
);
