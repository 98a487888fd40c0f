import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import request from 'supertest';
import winston from 'winston';
import type { Logger } from 'huawei-iot-upgrade-router';
import { CALLBACK_PATH, fresh, mountedApp } from './helpers';
import { until } from './support/wait';

/** A stream that keeps each JSON line written to it, parsed. */
function jsonLines(): { stream: Writable; records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') records.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { stream, records };
}

/** A listener that fails on the notification, no error listener, and one warning (no listener for upgradeState). */
async function failAndWarn(logger: Logger): Promise<{ deviceId: string }> {
  const { app, upgrades } = mountedApp({ logger });
  upgrades.on('upgradeResult', () => {
    throw new Error('database down');
  });
  const notification = fresh('fail');
  await request(app).post(CALLBACK_PATH).send(notification).expect(200, '');
  await request(app)
    .post(CALLBACK_PATH)
    .send({ notifyType: 'swUpgradeStateChangeNotify', deviceId: 'd', appId: 'a', operationId: 'o', subOperationId: `s-${Date.now()}`, swUpgradeState: 'idle' })
    .expect(200, '');
  await new Promise((resolve) => setImmediate(resolve));
  return notification;
}

// The logger option as people use it: pino and winston instances get structured records,
// the failure and the notification as fields a JSON pipeline can query, not flattened into a string.
describe('loggers people use', () => {
  it('pino: the listener failure as a record with err and notification fields; warnings at warn level', async () => {
    const { stream, records } = jsonLines();
    const notification = await failAndWarn(pino({ level: 'info' }, stream));
    await new Promise((resolve) => setImmediate(resolve));
    const failure = records.find((r) => r['level'] === 50);
    assert.ok(failure, JSON.stringify(records));
    assert.equal(failure['msg'], 'huawei-iot-upgrade-router: no error listener is attached for this failure');
    assert.equal((failure['err'] as { message: string; type: string; stack: string }).message, 'database down');
    assert.match((failure['err'] as { stack: string }).stack, /database down/);
    assert.equal((failure['notification'] as { deviceId: string }).deviceId, notification.deviceId);
    const warning = records.find((r) => r['level'] === 40);
    assert.match(String(warning?.['msg']), /'upgradeState' was emitted with no listener/);
  });

  it('winston: the same as fields of the record (error as name, message and stack)', async () => {
    const { stream, records } = jsonLines();
    // winston's Stream transport is typed from its own copy of winston-transport.
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
    const logger = winston.createLogger({ format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
    const notification = await failAndWarn(logger);
    await until(() => records.some((r) => r['level'] === 'error'), () => `winston to write the error record; it wrote ${JSON.stringify(records)}`);
    const failure = records.find((r) => r['level'] === 'error');
    assert.ok(failure, JSON.stringify(records));
    assert.equal(failure['message'], 'huawei-iot-upgrade-router: no error listener is attached for this failure');
    assert.deepEqual(Object.keys(failure['error'] as object).sort(), ['message', 'name', 'stack']);
    assert.equal((failure['error'] as { message: string }).message, 'database down');
    assert.equal((failure['notification'] as { deviceId: string }).deviceId, notification.deviceId);
    assert.match(String(records.find((r) => r['level'] === 'warn')?.['message']), /'upgradeState' was emitted with no listener/);
  });

  it('an error listener that fails: the new failure and the one it was handling, both as fields', async () => {
    const { stream, records } = jsonLines();
    const { app, upgrades } = mountedApp({ logger: pino(stream) });
    upgrades.on('upgradeResult', () => {
      throw new Error('first');
    });
    upgrades.on('error', () => {
      throw new Error('second');
    });
    await request(app).post(CALLBACK_PATH).send(fresh('success')).expect(200, '');
    await new Promise((resolve) => setImmediate(resolve));
    const record = records.find((r) => r['level'] === 50);
    assert.equal((record?.['err'] as { message: string }).message, 'second');
    assert.equal((record?.['handling'] as { message: string }).message, 'first');
  });

  it('console, or any object with error(): the message, then the values', async () => {
    const lines: unknown[][] = [];
    const notification = await failAndWarn({ error: (...args: unknown[]) => void lines.push(args) });
    const failure = lines.find((args) => String(args[0]).includes('no error listener'));
    assert.equal((failure?.[1] as Error).message, 'database down');
    assert.equal((failure?.[2] as { deviceId: string }).deviceId, notification.deviceId);
  });
});
