// IoTDA's (API v5) batch task pushes over HTTP, on the same router as the legacy pushes: both forms
// (the rule engine's envelope and the older subscription's flat one) checked by their schemas, one
// typed event each, always 200, journaled before the answer, a re-send a duplicate.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import request from 'supertest';
import { createUpgradeDashboard, isDeviceNotification, type IotdaBatchTaskUpdate, type IotdaBatchTaskStatusUpdate, type Rejection, type UpgradeRouter } from 'huawei-iot-upgrade-router';
import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import { CALLBACK_PATH, allFixtures, fresh, mountedApp } from './helpers';
import { runBin, tempFolder } from './support/journal';
import { until } from './support/wait';

const ruleEngine = (status: IotdaBatchTaskUpdate['notify_data']['body']['status'], taskId = 'task-1'): IotdaBatchTaskUpdate => ({
  resource: 'batchtask',
  event: 'update',
  event_time: '20261207T080000Z',
  event_time_ms: '2026-12-07T08:00:00.000Z',
  request_id: `${taskId}-${status}`,
  notify_data: { body: { app_id: 'app-1', task_id: taskId, task_type: 'firmwareUpgrade', status, status_desc: `task ${status}` } },
});
const subscription = (status: IotdaBatchTaskStatusUpdate['notify_data']['status']): IotdaBatchTaskStatusUpdate => ({
  resource: 'batchtask.status',
  event: 'update',
  notify_data: { app_id: 'app-1', task_id: 'task-2', task_type: 'softwareUpgrade', status, status_desc: '' },
});

describe('IoTDA batch task pushes over HTTP', () => {
  const invalid = (upgrades: UpgradeRouter): Rejection[] => {
    const seen: Rejection[] = [];
    upgrades.on('invalid', (rejection) => void seen.push(rejection));
    return seen;
  };

  it('the rule engine form: 200 and batchTaskUpdate with the body as sent, typed', async () => {
    const { app, upgrades } = mountedApp();
    const seen: string[] = [];
    upgrades.on('batchTaskUpdate', (push, context) => {
      // Typed: a misspelt field is a compile error.
      seen.push(`${push.notify_data.body.task_id} ${push.notify_data.body.status} ${push.request_id ?? ''} ${context.ip === undefined ? 'no ip' : 'ip'}`);
    });
    await request(app).post(CALLBACK_PATH).send(ruleEngine('Processing')).expect(200, '');
    assert.deepEqual(seen, ['task-1 Processing task-1-Processing ip']);
  });

  it('the older subscription form: 200 and batchTaskStatusUpdate', async () => {
    const { app, upgrades } = mountedApp();
    const seen: IotdaBatchTaskStatusUpdate[] = [];
    upgrades.on('batchTaskStatusUpdate', (push) => void seen.push(push));
    await request(app).post(CALLBACK_PATH).send(subscription('Success')).expect(200, '');
    assert.deepEqual(seen, [subscription('Success')]);
  });

  it("'notification' hears them too; isDeviceNotification tells them from the legacy pushes", async () => {
    const { app, upgrades } = mountedApp();
    const kinds: string[] = [];
    upgrades.on('notification', (push) => void kinds.push(isDeviceNotification(push) ? `device ${push.deviceId}` : `task ${push.resource}`));
    await request(app).post(CALLBACK_PATH).send(ruleEngine('Success')).expect(200, '');
    await request(app).post(CALLBACK_PATH).send({ ...fresh('success'), deviceId: 'meter-1' }).expect(200, '');
    assert.deepEqual(kinds, ['task batchtask', 'device meter-1']);
  });

  it('the reference examples (every fixture) pass their schemas', () => {
    const { upgrades } = mountedApp();
    const rejections = invalid(upgrades);
    const iotda = allFixtures.filter((fixture) => fixture.name.startsWith('iotda-'));
    assert.equal(iotda.length, 3);
    for (const fixture of iotda) assert.equal(upgrades.receive(fixture.text), fixture.type === 'batchtask' ? 'batchTaskUpdate' : 'batchTaskStatusUpdate', fixture.name);
    assert.deepEqual(rejections, []);
  });

  for (const [what, body, message] of [
    ['a status that is not documented', { ...ruleEngine('Success'), notify_data: { body: { ...ruleEngine('Success').notify_data.body, status: 'Done' } } }, /batchtask fails its schema: \/notify_data\/body\/status must be equal to one of the allowed values/],
    ['no task_id', { ...ruleEngine('Success'), notify_data: { body: { app_id: 'a', task_type: 'firmwareUpgrade', status: 'Success', status_desc: '' } } }, /must have required property 'task_id'/],
    ['an event time in another format', { ...ruleEngine('Success'), event_time: '2026-12-07T08:00:00Z' }, /\/event_time must match pattern/],
    ['another event of the resource', { ...ruleEngine('Success'), event: 'create' }, /\/event must be equal to constant/],
    ['the flat form under the rule engine resource', { ...subscription('Success'), resource: 'batchtask' }, /required property 'event_time'/],
  ] as const) {
    it(`${what}: 200, and invalid with reason schema`, async () => {
      const { app, upgrades } = mountedApp();
      const rejections = invalid(upgrades);
      await request(app).post(CALLBACK_PATH).send(body).expect(200, '');
      const [rejection] = rejections;
      assert.equal(rejections.length, 1);
      assert.equal(rejection?.reason, 'schema');
      assert.match(rejection.message, message);
    });
  }

  it('a resource this router does not handle: 200, and invalid unknown_type naming the resource', async () => {
    const { app, upgrades } = mountedApp();
    const rejections = invalid(upgrades);
    await request(app).post(CALLBACK_PATH).send({ resource: 'device.status', event: 'update', event_time: '20261207T080000Z', notify_data: { body: {} } }).expect(200, '');
    await request(app).post(CALLBACK_PATH).send({ event: 'update' }).expect(200, '');
    assert.deepEqual(
      rejections.map((rejection) => `${rejection.reason}: ${rejection.message}`),
      ['unknown_type: resource "device.status" is not handled by this router', 'unknown_type: body has no notifyType (nor an IoTDA resource)'],
    );
  });

  it("types: ['swUpgradeResultNotify'] leaves IoTDA's pushes out (invalid unknown_type); types: ['batchtask'] takes only the rule engine form", async () => {
    const legacy = mountedApp({ types: ['swUpgradeResultNotify'] });
    const legacyRejections = invalid(legacy.upgrades);
    await request(legacy.app).post(CALLBACK_PATH).send(ruleEngine('Success')).expect(200, '');
    assert.equal(legacyRejections[0]?.reason, 'unknown_type');
    const iotda = mountedApp({ types: ['batchtask'] });
    const iotdaRejections = invalid(iotda.upgrades);
    const heard: string[] = [];
    iotda.upgrades.on('batchTaskUpdate', (push) => void heard.push(push.notify_data.body.status));
    await request(iotda.app).post(CALLBACK_PATH).send(ruleEngine('Fail')).expect(200, '');
    await request(iotda.app).post(CALLBACK_PATH).send(subscription('Fail')).expect(200, '');
    assert.deepEqual(heard, ['Fail']);
    assert.deepEqual(
      iotdaRejections.map((rejection) => rejection.reason),
      ['unknown_type'],
    );
  });

  it('a re-send of the same push is a duplicate; another status of the same task is not', async () => {
    const { app, upgrades } = mountedApp();
    const events: string[] = [];
    upgrades.on('batchTaskUpdate', (push) => void events.push(`update ${push.notify_data.body.status}`));
    upgrades.on('duplicate', () => void events.push('duplicate'));
    for (const body of [ruleEngine('Processing'), ruleEngine('Processing'), ruleEngine('Success')]) await request(app).post(CALLBACK_PATH).send(body).expect(200, '');
    assert.deepEqual(events, ['update Processing', 'duplicate', 'update Success']);
  });

  describe('with a SQLite journal', () => {
    let folder: ReturnType<typeof tempFolder>;
    const routers: UpgradeRouter[] = [];
    beforeEach(() => (folder = tempFolder()));
    afterEach(async () => {
      for (const router of routers.splice(0)) await router.close(1000);
      folder.remove();
    });

    it('the push is committed before the 200, delivered after it, and a re-send after a restart is a duplicate', async () => {
      const path = join(folder.dir, 'upgrades.db');
      const first = mountedApp({ journal: sqliteJournal({ path }) });
      routers.push(first.upgrades);
      const rows = (): Array<{ state: string; notify_type: string; device_id: string | null; event: string }> => {
        const db = new Database(path, { readonly: true });
        try {
          return db.prepare('SELECT state, notify_type, device_id, event FROM huawei_iot_upgrade_journal ORDER BY id').all() as never;
        } finally {
          db.close();
        }
      };
      const atAnswer: number[] = [];
      const response = await request(first.app)
        .post(CALLBACK_PATH)
        .send(ruleEngine('PartialSuccess'))
        .expect(200, '')
        .then((answer) => (atAnswer.push(rows().length), answer));
      assert.equal(response.status, 200);
      assert.deepEqual(atAnswer, [1], 'committed by the time the answer arrived');
      assert.deepEqual(rows()[0], { ...rows()[0], notify_type: 'batchtask', device_id: null, event: 'batchTaskUpdate' });
      // No listener yet: it waits in the journal, then is delivered to the first one attached.
      const heard: string[] = [];
      first.upgrades.on('batchTaskUpdate', (push, context) => void heard.push(`${push.notify_data.body.status} attempt ${context.attempt}`));
      await until(() => heard.length === 1, 'the journaled push delivered to the listener attached later');
      assert.deepEqual(heard, ['PartialSuccess attempt 1']);
      await first.upgrades.close(1000);
      routers.splice(0);

      const second = mountedApp({ journal: sqliteJournal({ path }) });
      routers.push(second.upgrades);
      const duplicates: string[] = [];
      second.upgrades.on('duplicate', (push) => void duplicates.push(isDeviceNotification(push) ? push.deviceId : push.resource));
      second.upgrades.on('batchTaskUpdate', () => assert.fail('a re-send is delivered again'));
      await request(second.app).post(CALLBACK_PATH).send(ruleEngine('PartialSuccess')).expect(200, '');
      assert.deepEqual(duplicates, ['batchtask']);
      assert.equal(rows().length, 1);
    });

    it('a push refused by a wrong token is kept as invalid; `journal replay` makes it a batchTaskUpdate', async () => {
      const path = join(folder.dir, 'upgrades.db');
      const { app, upgrades } = mountedApp({ journal: sqliteJournal({ path }), allow: { token: 'right' } });
      routers.push(upgrades);
      upgrades.on('invalid', () => {});
      const heard: string[] = [];
      upgrades.on('batchTaskUpdate', (push) => void heard.push(push.notify_data.body.status));
      await request(app).post(`${CALLBACK_PATH}?token=wrong`).send(ruleEngine('Fail')).expect(200, '');
      const listed = await runBin(['journal', '--db', path, 'invalid']);
      const id = listed.stdout.split('\t')[0] ?? '';
      assert.match(listed.stdout, /\tforbidden\t/);
      const replayed = await runBin(['journal', '--db', path, 'replay', id]);
      assert.equal(replayed.code, 0, replayed.stderr);
      assert.match(replayed.stdout, /a valid batchtask now/);
      await until(() => heard.length === 1, 'the replayed push delivered');
      assert.deepEqual(heard, ['Fail']);
      const notPush = await runBin(['journal', '--db', path, 'replay', id, '--again']);
      assert.equal(notPush.code, 0, notPush.stderr);
      await until(() => heard.length === 2, 'the push delivered again');
    });

    it('the dashboard beside it folds the devices and leaves task pushes out', async () => {
      const path = join(folder.dir, 'upgrades.db');
      const { app, upgrades } = mountedApp({ journal: sqliteJournal({ path }) });
      routers.push(upgrades);
      upgrades.on('batchTaskUpdate', () => {});
      upgrades.on('upgradeResult', () => {});
      const dashboard = createUpgradeDashboard({ router: upgrades });
      try {
        await request(app).post(CALLBACK_PATH).send(ruleEngine('Success')).expect(200, '');
        await request(app).post(CALLBACK_PATH).send({ ...fresh('success'), deviceId: 'meter-9', operationId: 'op-9' }).expect(200, '');
        await until(() => dashboard.tasks().length === 1, 'the legacy task on the dashboard');
        assert.deepEqual(
          dashboard.tasks().map((task) => task.operationId),
          ['op-9'],
        );
      } finally {
        dashboard.close();
      }
    });
  });
});
