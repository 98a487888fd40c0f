import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { Registry, register as globalRegistry } from 'prom-client';
import request from 'supertest';
import { registerMetrics } from 'huawei-iot-upgrade-router/prometheus';
import express from './express';
import { join } from 'node:path';
import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import { CALLBACK_PATH, fixture, fresh, mountedApp } from './helpers';
import { tempFolder } from './support/journal';
import { until } from './support/wait';

/** The sample lines of a Prometheus text exposition, as name{labels} -> value. */
function samples(text: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    found.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return found;
}

describe('huawei-iot-upgrade-router/prometheus', () => {
  it('a scrape over HTTP after a known mix of pushes: every series has the exact value', async () => {
    const { app, upgrades } = mountedApp({ limit: '1kb', logger: { error: () => {}, warn: () => {} } });
    upgrades.on('upgradeResult', (n) => {
      if (n.swUpgradeResult === 'FAIL') throw new Error('listener failed');
    });
    const registry = new Registry();
    registerMetrics(upgrades, { registry });
    const metricsApp = express();
    metricsApp.get('/metrics', async (_req, res) => void res.type(registry.contentType).send(await registry.metrics()));

    const repeated = fresh('success');
    for (const body of [repeated, repeated, fresh('fail'), '{"notifyType":', '{"notifyType":"deviceAdded"}', '{"notifyType":"swUpgradeResultNotify"}']) {
      await request(app).post(CALLBACK_PATH).send(body).expect(200, '');
    }
    await request(app).post(CALLBACK_PATH).set('Content-Encoding', 'gzip').send(gzipSync(Buffer.alloc(10_000, 0x20))).expect(200, '');
    await upgrades.drain();

    const response = await request(metricsApp).get('/metrics').expect(200);
    assert.match(response.headers['content-type'] ?? '', /^text\/plain;.*version=0\.0\.4/);
    const got = samples(response.text);
    const expected: Record<string, number> = {
      'huawei_iot_upgrade_notifications_total{event="upgradeResult"}': 2,
      'huawei_iot_upgrade_notifications_total{event="upgradeState"}': 0,
      'huawei_iot_upgrade_notifications_total{event="firmwareUpgradeResult"}': 0,
      'huawei_iot_upgrade_notifications_total{event="firmwareUpgradeState"}': 0,
      'huawei_iot_upgrade_notifications_total{event="duplicate"}': 1,
      'huawei_iot_upgrade_notifications_total{event="invalid"}': 4,
      'huawei_iot_upgrade_invalid_total{reason="malformed"}': 1,
      'huawei_iot_upgrade_invalid_total{reason="too_large"}': 1,
      'huawei_iot_upgrade_invalid_total{reason="aborted"}': 0,
      'huawei_iot_upgrade_invalid_total{reason="forbidden"}': 0,
      'huawei_iot_upgrade_invalid_total{reason="unknown_type"}': 1,
      'huawei_iot_upgrade_invalid_total{reason="schema"}': 1,
      huawei_iot_upgrade_listener_errors_total: 1,
      huawei_iot_upgrade_store_errors_total: 0,
      huawei_iot_upgrade_in_flight: 0,
      'huawei_iot_upgrade_ack_duration_seconds_bucket{le="+Inf"}': 7,
      huawei_iot_upgrade_ack_duration_seconds_count: 7,
    };
    for (const [series, value] of Object.entries(expected)) assert.equal(got.get(series), value, series);
    // The buckets are cumulative and end at the count; the sum is the answers' total time.
    const buckets = [...got].filter(([series]) => series.startsWith('huawei_iot_upgrade_ack_duration_seconds_bucket'));
    assert.equal(buckets.length, 16);
    for (let i = 1; i < buckets.length; i += 1) assert.ok((buckets[i]?.[1] ?? 0) >= (buckets[i - 1]?.[1] ?? 0));
    const sum = got.get('huawei_iot_upgrade_ack_duration_seconds_sum') ?? -1;
    assert.ok(sum > 0 && sum < 7, `sum ${sum}`);
    assert.match(response.text, /# TYPE huawei_iot_upgrade_ack_duration_seconds histogram/);
    assert.match(response.text, /# TYPE huawei_iot_upgrade_notifications_total counter/);
  });

  it('with a journal: its backlog as gauges and its commits as counters; without one, none of them', async () => {
    const folder = tempFolder('metrics-');
    const journal = sqliteJournal({ path: join(folder.dir, 'upgrades.db') });
    const { app, upgrades } = mountedApp({ journal, delivery: { attempts: 1 }, logger: { error: () => {}, warn: () => {} } });
    try {
      upgrades.on('upgradeResult', (n) => {
        if (n.swUpgradeResult === 'FAIL') throw new Error('listener failed');
      });
      const registry = new Registry();
      registerMetrics(upgrades, { registry });
      const failed = fresh('fail');
      await request(app).post(CALLBACK_PATH).send(failed).expect(200);
      await request(app).post(CALLBACK_PATH).send(fresh('success')).expect(200);
      // The journal's figures are read every 2 s.
      await until(async () => samples(await registry.metrics()).get('huawei_iot_upgrade_journal_dead') === 1, 'the dead gauge');
      const got = samples(await registry.metrics());
      assert.equal(got.get('huawei_iot_upgrade_journal_pending'), 0);
      assert.equal(got.get('huawei_iot_upgrade_journal_retrying'), 0);
      assert.equal(got.get('huawei_iot_upgrade_journal_oldest_pending_seconds'), 0);
      assert.equal(got.get('huawei_iot_upgrade_journal_errors_total'), 0);
      assert.equal(got.get('huawei_iot_upgrade_journal_committed_total'), 2);
      assert.ok((got.get('huawei_iot_upgrade_journal_commits_total') ?? 0) >= 1);
      for (const name of ['spilled', 'moved', 'timed_out']) assert.equal(got.get(`huawei_iot_upgrade_journal_${name}_total`), 0, name);

      const plain = new Registry();
      registerMetrics(mountedApp().upgrades, { registry: plain });
      assert.doesNotMatch(await plain.metrics(), /journal/);
    } finally {
      await upgrades.close();
      folder.remove();
    }
  });

  it('the histogram counts the pushes answered: an aborted one has no answer and is not in it', async () => {
    const { upgrades } = mountedApp();
    const registry = new Registry();
    registerMetrics(upgrades, { registry });
    upgrades.receive(fixture('success')); // no HTTP, no answer
    const got = samples(await registry.metrics());
    assert.equal(got.get('huawei_iot_upgrade_ack_duration_seconds_count'), 0);
    assert.equal(got.get('huawei_iot_upgrade_notifications_total{event="upgradeResult"}'), 1);
  });

  it('a custom registry does not leak into the global one; two routers with different prefixes coexist', async () => {
    const before = (await globalRegistry.getMetricsAsJSON()).length;
    const registry = new Registry();
    const one = mountedApp();
    const two = mountedApp();
    registerMetrics(one.upgrades, { registry, prefix: 'one_' });
    registerMetrics(two.upgrades, { registry, prefix: 'two_' });
    await request(one.app).post(CALLBACK_PATH).send(fresh('success')).expect(200);
    const got = samples(await registry.metrics());
    assert.equal(got.get('one_notifications_total{event="upgradeResult"}'), 1);
    assert.equal(got.get('two_notifications_total{event="upgradeResult"}'), 0);
    assert.equal((await globalRegistry.getMetricsAsJSON()).length, before);
    assert.throws(() => registerMetrics(two.upgrades, { registry, prefix: 'two_' }), /already been registered/);
  });

  it("without a registry, prom-client's global one; a prefix that is no metric name is refused", async () => {
    const { upgrades } = mountedApp();
    try {
      registerMetrics(upgrades);
      assert.ok((await globalRegistry.metrics()).includes('huawei_iot_upgrade_notifications_total{event="upgradeResult"} 0'));
    } finally {
      globalRegistry.clear();
    }
    assert.throws(() => registerMetrics(upgrades, { registry: new Registry(), prefix: 'bad-prefix' }), /is not a Prometheus metric name prefix/);
  });
});
