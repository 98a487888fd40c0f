import assert from 'node:assert/strict';
import request from 'supertest';
import { createUpgradeRouter, schemas, type NotifyType, type Rejection, type UpgradeEventName } from 'huawei-iot-upgrade-router';
import { CALLBACK_PATH, allFixtures, mountedApp, recordEvents } from './helpers';

const eventOf: Record<NotifyType, UpgradeEventName> = {
  swUpgradeResultNotify: 'upgradeResult',
  swUpgradeStateChangeNotify: 'upgradeState',
  fwUpgradeResultNotify: 'firmwareUpgradeResult',
  fwUpgradeStateChangeNotify: 'firmwareUpgradeState',
  batchtask: 'batchTaskUpdate',
  'batchtask.status': 'batchTaskStatusUpdate',
};
const types = Object.keys(eventOf) as NotifyType[];
const deviceTypes = types.filter((type) => !type.startsWith('batchtask'));

describe('the upgrade family: one router, one event per notifyType', () => {
  it('has a fixture of every type', () => {
    assert.deepEqual([...new Set(allFixtures.map((f) => f.type))].sort(), [...types].sort());
  });

  for (const { type, name, text, body } of allFixtures) {
    it(`${name}: 200 and ${eventOf[type]} with the values as sent`, async () => {
      const { app, upgrades } = mountedApp();
      const seen = recordEvents(upgrades);
      await request(app).post(CALLBACK_PATH).set('Content-Type', 'application/json').send(text).expect(200, '');
      assert.deepEqual(
        seen.map((e) => e.event),
        [eventOf[type]],
      );
      assert.deepEqual(seen[0]?.args[0], body);
    });
  }

  for (const type of deviceTypes) {
    const schema = schemas[type] as { required: string[]; properties: Record<string, { enum?: unknown[] }> };
    const sample = allFixtures.find((f) => f.type === type)?.body as unknown as Record<string, unknown>;

    it(`${type}: its schema requires and describes every documented field, English and Chinese`, () => {
      assert.deepEqual([...schema.required].sort(), Object.keys(schema.properties).sort());
      for (const [field, property] of Object.entries(schema.properties as Record<string, { description: string }>)) {
        assert.match(property.description, /[\u4e00-\u9fff]/, `${field} has the reference's Chinese term`);
        assert.match(property.description, /[A-Za-z]{3}/, `${field} has an English description`);
      }
    });

    it(`${type}: every documented field is required`, () => {
      for (const field of schema.required.filter((f) => f !== 'notifyType')) {
        const upgrades = createUpgradeRouter({ dedupe: false });
        const rejections: Rejection[] = [];
        upgrades.on('invalid', (r) => void rejections.push(r));
        upgrades.receive(Object.fromEntries(Object.entries(sample).filter(([key]) => key !== field)));
        assert.equal(rejections[0]?.reason, 'schema', field);
      }
    });

    it(`${type}: enumerated fields refuse other values`, () => {
      for (const [field, property] of Object.entries(schema.properties)) {
        if (property.enum === undefined) continue;
        const upgrades = createUpgradeRouter({ dedupe: false });
        const rejections: Rejection[] = [];
        upgrades.on('invalid', (r) => void rejections.push(r));
        upgrades.receive({ ...sample, [field]: 'NOT_A_VALUE' });
        assert.equal(rejections[0]?.reason, 'schema', field);
        for (const value of property.enum) assert.notEqual(upgrades.receive({ ...sample, [field]: value }), 'invalid', `${field}=${String(value)}`);
      }
    });
  }

  it('accepts every swUpgradeState a reference lists, otacreated and RequestDownload included', () => {
    const upgrades = createUpgradeRouter({ dedupe: false });
    const sample = allFixtures.find((f) => f.type === 'swUpgradeStateChangeNotify')?.body;
    for (const state of ['downloading', 'downloaded', 'updating', 'idle', 'otacreated', 'RequestDownload']) {
      assert.equal(upgrades.receive({ ...sample, swUpgradeState: state }), 'upgradeState', state);
    }
  });

  it('firmware step is a string "0" to "3", not a number', () => {
    const upgrades = createUpgradeRouter({ dedupe: false });
    const sample = allFixtures.find((f) => f.type === 'fwUpgradeStateChangeNotify')?.body;
    assert.equal(upgrades.receive({ ...sample, step: '3' }), 'firmwareUpgradeState');
    assert.equal(upgrades.receive({ ...sample, step: 3 }), 'invalid');
    assert.equal(upgrades.receive({ ...sample, step: '4' }), 'invalid');
  });

  describe('option types', () => {
    it('restricts what the router handles: the rest are unknown_type', async () => {
      const { app, upgrades } = mountedApp({ types: ['swUpgradeResultNotify', 'fwUpgradeResultNotify'] });
      const seen = recordEvents(upgrades);
      for (const { text } of allFixtures) await request(app).post(CALLBACK_PATH).send(text).expect(200, '');
      const outcome = (e: (typeof seen)[number]): string => (e.event === 'invalid' ? `invalid:${(e.args[0] as Rejection).reason}` : e.event);
      const expected = allFixtures.map(({ type }) =>
        type === 'swUpgradeResultNotify' || type === 'fwUpgradeResultNotify' ? eventOf[type] : 'invalid:unknown_type',
      );
      assert.deepEqual(seen.map(outcome), expected);
    });

    it('refuses a notifyType it does not know', () => {
      assert.throws(() => createUpgradeRouter({ types: ['deviceAdded' as NotifyType] }), /types\[0\] must be "swUpgradeResultNotify" or .*, got the string "deviceAdded"/);
    });
  });
});
