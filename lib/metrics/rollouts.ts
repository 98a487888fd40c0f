// The rollouts' metrics, read from the journal when Prometheus scrapes (through the rollouts attached
// to the router, on any instance): how many rollouts are in each status, and each rollout's devices
// by outcome, so that an alert can watch a halt or a failure rate.
import { Gauge, type Registry } from 'prom-client';
import { extensionOf } from '../router/extension';
import type { UpgradeRouter } from '../router/router';
import { ROLLOUTS } from '../rollout/attached';
import { figuresOfWave, type RolloutView } from '../rollout/state';

type DeviceState = 'succeeded' | 'unverified' | 'failed' | 'timedOut' | 'pending' | 'notStarted';

/** A rollout's devices by state: the judged waves' figures, the live ones of the wave under way, and the devices no wave has reached. */
function devicesOf(view: RolloutView): Record<DeviceState, number> {
  const counts = { succeeded: 0, unverified: 0, failed: 0, timedOut: 0, pending: 0, notStarted: 0 };
  const reached = new Set<string>();
  for (const wave of view.waves) {
    if (wave.status === 'planned' || wave.status === 'awaiting-approval') continue;
    const figures = figuresOfWave(view, wave);
    for (const device of wave.devices) reached.add(device);
    if (figures === undefined) {
      counts.pending += wave.devices.length;
      continue;
    }
    for (const state of ['succeeded', 'unverified', 'failed', 'timedOut', 'pending'] as const) counts[state] += figures[state];
  }
  counts.notStarted = new Set(view.spec.devices).size - reached.size;
  return counts;
}

export function registerRolloutMetrics(router: UpgradeRouter, prefix: string, registers: Registry[]): void {
  const views = async (): Promise<RolloutView[]> => (await extensionOf(router)?.attached(ROLLOUTS)?.list()) ?? [];
  new Gauge({
    name: `${prefix}rollouts`,
    help: 'Rollouts by status (running, awaiting-approval, paused, halted, completed, aborted).',
    labelNames: ['status'],
    registers,
    async collect() {
      this.reset();
      for (const view of await views()) this.inc({ status: view.status });
    },
  });
  new Gauge({
    name: `${prefix}rollout_devices`,
    help: "Each rollout's devices by state: the judged waves' outcomes, the wave under way as last judged, and those no wave has reached (notStarted).",
    labelNames: ['rollout', 'state'],
    registers,
    async collect() {
      this.reset();
      for (const view of await views()) {
        if (view.status === 'completed' || view.status === 'aborted') continue;
        for (const [state, count] of Object.entries(devicesOf(view))) this.set({ rollout: view.id, state }, count);
      }
    },
  });
}
