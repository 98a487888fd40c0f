// This subpath is the only module that loads prom-client: users who never import it need not install it.
import { Counter, Gauge, register as globalRegistry, type Metric, type Registry } from 'prom-client';
import type { UpgradeRouter } from '../router/router';
import { checkOptions, checks } from '../core/option-checks';
import { codedError } from '../core/errors';
import { registerRolloutMetrics } from './rollouts';

export interface RegisterMetricsOptions {
  /** Where the metrics are registered. Default: prom-client's global registry (`register`). */
  registry?: Registry;
  /** Prefix of every metric name, so that two routers can share a registry. Default 'huawei_iot_upgrade_'. */
  prefix?: string;
}

const DEFAULT_PREFIX = 'huawei_iot_upgrade_';

/**
 * Registers the router's metrics. Every value is read from `router.stats()` when Prometheus scrapes:
 * no second set of counters to drift from the first, and nothing added to the request path.
 */
export function registerMetrics(router: UpgradeRouter, options: RegisterMetricsOptions = {}): void {
  // A misspelt option (`prefx`) used to pass unchecked and the default applied.
  checkOptions(options, {
    registry: { check: checks.withMethod('registerMetric'), example: "registerMetrics(router, { registry: new Registry() }) (from 'prom-client')" },
    prefix: { check: checks.nonEmptyString, example: "registerMetrics(router, { prefix: 'receiver_a_' })" },
  });
  const registry = options.registry ?? globalRegistry;
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) throw codedError('ERR_INVALID_OPTION', `huawei-iot-upgrade-router: prefix ${JSON.stringify(prefix)} is not a Prometheus metric name prefix`, { kind: TypeError });
  const registers = [registry];

  // A counter whose value is the router's own, set at scrape time: reset, then add what stats() says.
  const counter = (name: string, help: string, read: (stats: ReturnType<UpgradeRouter['stats']>) => number): void => {
    new Counter({
      name: `${prefix}${name}`,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read(router.stats()));
      },
    });
  };
  const labelledCounter = (name: string, help: string, label: string, read: (stats: ReturnType<UpgradeRouter['stats']>) => Record<string, number>): void => {
    new Counter({
      name: `${prefix}${name}`,
      help,
      labelNames: [label],
      registers,
      collect() {
        this.reset();
        for (const [value, count] of Object.entries(read(router.stats()))) this.inc({ [label]: value }, count);
      },
    });
  };

  labelledCounter('notifications_total', 'Requests the router took in, by the outcome event each ended as.', 'event', (stats) => stats.events);
  labelledCounter('invalid_total', 'Invalid requests, by rejection reason.', 'reason', (stats) => stats.invalid);
  counter('listener_errors_total', 'Listener calls that threw or rejected.', (stats) => stats.listenerErrors);
  counter('store_errors_total', 'Duplicate-store lookups that failed (the notification was emitted as new).', (stats) => stats.storeErrors);
  // A gauge set from stats() at scrape time.
  const gauge = (name: string, help: string, read: (stats: ReturnType<UpgradeRouter['stats']>) => number): void => {
    new Gauge({
      name: `${prefix}${name}`,
      help,
      registers,
      collect() {
        this.set(read(router.stats()));
      },
    });
  };
  gauge('in_flight', 'Listener promises and duplicate-store lookups not yet settled.', (stats) => stats.inFlight);

  // With a journal: its backlog (what an alert watches: dead entries, the age of the oldest pending).
  if (router.stats().journal !== undefined) {
    const journal = (stats: ReturnType<UpgradeRouter['stats']>) => stats.journal as NonNullable<typeof stats.journal>;
    gauge('journal_pending', 'Journal entries waiting for delivery or being delivered (every instance; read every 2 s).', (stats) => journal(stats).pending);
    gauge('journal_retrying', 'Pending journal entries that failed and wait for their next attempt.', (stats) => journal(stats).retrying);
    gauge('journal_dead', 'Journal entries out of attempts, kept for replay.', (stats) => journal(stats).dead);
    gauge('journal_oldest_pending_seconds', 'Age of the oldest pending journal entry, in seconds.', (stats) => journal(stats).oldestPendingSeconds);
    counter('journal_errors_total', 'Journal operations that failed (pushes then delivered from memory, or refused).', (stats) => journal(stats).errors);
    counter('journal_commits_total', 'Group commits of the journal.', (stats) => journal(stats).commits);
    counter('journal_committed_total', 'Pushes committed to the journal (divided by commits: the grouping).', (stats) => journal(stats).committed);
    counter('journal_spilled_total', 'Pushes kept in the spill folder because the journal could not commit them.', (stats) => journal(stats).spilled);
    counter('journal_moved_total', 'Spilled pushes moved into the journal once it committed again.', (stats) => journal(stats).moved);
    counter('journal_timed_out_total', 'Deliveries that ran past delivery.timeoutMs (each counted as a failed attempt).', (stats) => journal(stats).timedOut);
  }

  // With a reconciler: results filled in, and devices still missing or stuck (what an alert watches).
  counter('reconciled_total', 'Final results filled in from the platform by reconciliation (no push brought them).', (stats) => stats.reconciled);
  if (router.stats().reconciliation !== undefined) {
    const figures = (stats: ReturnType<UpgradeRouter['stats']>) => stats.reconciliation as NonNullable<typeof stats.reconciliation>;
    gauge('reconcile_missing', 'Devices finished on the platform whose result is not here yet (latest pass).', (stats) => figures(stats).missing);
    gauge('reconcile_stuck', 'Devices waiting or in progress on the platform past stuckAfterMs (latest pass).', (stats) => figures(stats).stuck);
    gauge('reconcile_tasks', 'Upgrade tasks the reconciler follows.', (stats) => figures(stats).tasks);
    counter('reconcile_passes_total', 'Reconciliation passes made.', (stats) => figures(stats).passes);
    counter('reconcile_errors_total', 'Reconciliation calls or checks that failed.', (stats) => figures(stats).errors);
    counter('reconcile_calls_total', 'Platform calls made by the reconciler.', (stats) => figures(stats).calls);
  }

  // With rollouts attached (now or later): their statuses and devices, read from the journal.
  registerRolloutMetrics(router, prefix, registers);

  // The answer times are kept by the router in fixed buckets; prom-client's Histogram can only be fed
  // one observation at a time, so this metric hands the registry the buckets as they are.
  const histogramName = `${prefix}ack_duration_seconds`;
  const histogram = {
    name: histogramName,
    help: 'Time from the arrival of a request to its 200, in seconds.',
    type: 'histogram',
    aggregator: 'sum',
    get() {
      const { count, sum, buckets } = router.stats().ackSeconds;
      const bucket = (le: number | string, value: number) => ({ labels: { le }, value, metricName: `${histogramName}_bucket` });
      return {
        name: histogramName,
        help: histogram.help,
        type: 'histogram',
        aggregator: 'sum',
        values: [
          ...buckets.map(({ le, count: n }) => bucket(le, n)),
          bucket('+Inf', count),
          { labels: {}, value: sum, metricName: `${histogramName}_sum` },
          { labels: {}, value: count, metricName: `${histogramName}_count` },
        ],
      };
    },
    reset() {},
  };
  registry.registerMetric(histogram as unknown as Metric);
}
