// @runtime-seam: the router as a plain node:http listener
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import request from 'supertest';
import { createUpgradeRouter } from 'huawei-iot-upgrade-router';
import { fixture, nextOutcome, notificationOf } from './helpers';

describe('as a plain node:http request listener, without Express', () => {
  it('answers a POST on any path 200 and emits the notification', async () => {
    const upgrades = createUpgradeRouter();
    const server = createServer(upgrades);
    const outcome = nextOutcome(upgrades);
    await request(server).post('/anything').send(fixture('fail')).expect(200, '');
    assert.deepEqual(notificationOf(await outcome), fixture('fail'));
  });

  it('answers other methods 404', async () => {
    const server = createServer(createUpgradeRouter());
    await request(server).get('/').expect(404);
  });
});
