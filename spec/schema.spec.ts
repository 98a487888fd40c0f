import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createUpgradeRouter, schemas, type Rejection } from 'huawei-iot-upgrade-router';
import { fixture, fixtureNames } from './helpers';

const requiredFields = [
  'notifyType',
  'deviceId',
  'appId',
  'operationId',
  'subOperationId',
  'curVersion',
  'targetVersion',
  'sourceVersion',
  'swUpgradeResult',
  'upgradeTime',
  'resultDesc',
  'errorCode',
  'description',
];

/** Runs one body through the router's own pipeline and returns what came out. */
function outcomeOf(body: unknown): { event: string; rejection?: Rejection } {
  const upgrades = createUpgradeRouter();
  let rejection: Rejection | undefined;
  upgrades.on('invalid', (r) => (rejection = r));
  const event = upgrades.receive(body);
  assert.equal(typeof event, 'string', 'the in-memory duplicate store answers at once');
  return { event: event as string, rejection };
}

describe('schema/sw-upgrade-result-notify.schema.json', () => {
  it('is what the package exports as schemas.swUpgradeResultNotify', () => {
    const onDisk = JSON.parse(readFileSync(join(__dirname, '..', 'schema', 'sw-upgrade-result-notify.schema.json'), 'utf8')) as unknown;
    assert.deepEqual(schemas.swUpgradeResultNotify, onDisk);
  });

  it('requires all 13 documented fields and describes each, English and Chinese', () => {
    const schema = schemas.swUpgradeResultNotify as { required: string[]; properties: Record<string, { description: string }> };
    assert.deepEqual([...schema.required].sort(), [...requiredFields].sort());
    assert.deepEqual(Object.keys(schema.properties).sort(), [...requiredFields].sort());
    for (const [field, property] of Object.entries(schema.properties)) {
      assert.match(property.description, /[\u4e00-\u9fff]/, `${field} has the reference's Chinese term`);
      assert.match(property.description, /[A-Za-z]{3}/, `${field} has an English description`);
    }
  });

  for (const name of fixtureNames) {
    it(`accepts spec/fixtures/${name}.json`, () => {
      assert.equal(outcomeOf(fixture(name)).event, 'upgradeResult');
    });
  }

  for (const field of requiredFields) {
    it(`refuses a notification without ${field}`, () => {
      const body = Object.fromEntries(Object.entries(fixture('success')).filter(([key]) => key !== field));
      const { rejection } = outcomeOf(body);
      // Without notifyType the router cannot tell the type: that is unknown_type, not schema.
      assert.equal(rejection?.reason, field === 'notifyType' ? 'unknown_type' : 'schema');
      if (rejection.reason === 'schema') assert.equal(rejection.errors[0]?.params['missingProperty'], field);
    });
  }

  const wrongValues: Array<[string, unknown]> = [
    ['swUpgradeResult', 'success'],
    ['swUpgradeResult', 'PARTIAL'],
    ['swUpgradeResult', null],
    ['deviceId', ''],
    ['appId', ''],
    ['operationId', ''],
    ['subOperationId', ''],
    ['deviceId', 42],
    ['curVersion', 1.5],
    ['upgradeTime', 1.5],
    ['upgradeTime', true],
    ['upgradeTime', null],
    ['errorCode', 0],
    ['description', { text: 'nested' }],
  ];
  for (const [field, value] of wrongValues) {
    it(`refuses ${field}: ${JSON.stringify(value)}`, () => {
      const { rejection } = outcomeOf({ ...fixture('fail'), [field]: value });
      assert.equal(rejection?.reason, 'schema');
      assert.equal(rejection.errors[0]?.instancePath, `/${field}`);
    });
  }

  it('accepts upgradeTime as an integer or a string, and empty strings where the reference allows them', () => {
    assert.equal(outcomeOf({ ...fixture('fail'), upgradeTime: 0 }).event, 'upgradeResult');
    assert.equal(outcomeOf({ ...fixture('fail'), upgradeTime: '' }).event, 'upgradeResult');
    assert.equal(outcomeOf({ ...fixture('fail'), description: '', resultDesc: '', errorCode: '' }).event, 'upgradeResult');
  });

  it('counts only own properties as present (an inherited field does not satisfy required)', () => {
    const body = Object.create({ description: 'inherited' }) as Record<string, unknown>;
    Object.assign(body, fixture('fail'));
    delete body['description'];
    assert.equal(outcomeOf(body).rejection?.reason, 'schema');
  });
});

describe('lib/generated/', () => {
  it('is exactly what scripts/generate.mjs makes from schema/ (run `npm run generate` after a schema change)', async () => {
    const generator = (await import('../scripts/generate.mjs')) as { generate(): Promise<Record<string, string>> };
    const files = await generator.generate();
    assert.ok(Object.keys(files).length >= 2);
    for (const [file, text] of Object.entries(files)) assert.equal(readFileSync(file, 'utf8'), text, file);
  });
});
