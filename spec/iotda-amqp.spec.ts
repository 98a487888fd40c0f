// IoTDA's AMQP forwarding consumed against a real broker (RabbitMQ with its AMQP 1.0 plugin, started by
// the spec): each message accepted only after the journal committed it, so that a consumer killed
// with SIGKILL and a broker restarted lose nothing and journal nothing twice; the control, a consumer
// that accepts first as Huawei's sample does, loses what it had in hand. The emulator's forwarding
// through the same broker keeps what the broker could not take.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import rhea from 'rhea';
import { createUpgradeRouter, type Rejection, type UpgradeRouter } from 'huawei-iot-upgrade-router';
import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import { createIotdaAmqpConsumer, createIotdaClient, iotdaAmqpUsername, type IotdaAmqpConsumer } from 'huawei-iot-upgrade-router/iotda';
import { startPlatformEmulator } from 'huawei-iot-upgrade-router/emulator';
import { RabbitMq } from './support/rabbitmq';
import { fillUp, tempFolder } from './support/journal';
import { until } from './support/wait';

const push = (task: string) => ({
  resource: 'batchtask',
  event: 'update',
  event_time: '20261207T080000Z',
  notify_data: { body: { app_id: 'app-1', task_id: task, task_type: 'firmwareUpgrade', status: 'Success', status_desc: '' } },
});

describe('IoTDA AMQP consumer against a real broker (RabbitMQ, AMQP 1.0)', function () {
  let broker: RabbitMq;
  let folder: ReturnType<typeof tempFolder>;
  const children: ChildProcess[] = [];
  const closing: Array<() => Promise<unknown>> = [];

  before(async () => {
    broker = await RabbitMq.start();
  });
  after(async () => {
    await broker.stop();
  });
  beforeEach(() => (folder = tempFolder('amqp-')));
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const close of closing.splice(0).reverse()) await close();
    folder.remove();
  });

  /**
   * Sends the bodies to the queue as persistent messages, `chunk` at a time (each chunk taken by the
   * broker before the next is sent: a stream a consumer reads while it comes); resolves once the
   * broker took every one.
   */
  async function publish(queue: string, bodies: unknown[], chunk = bodies.length): Promise<void> {
    const connection = rhea.create_container().connect({ host: '127.0.0.1', port: broker.port, username: 'guest', password: 'guest', reconnect: false });
    // durable: 2 makes RabbitMQ declare the queue durable (IoTDA's queues are): it outlives a restart.
    connection.on('disconnected', () => {});
    const sender = connection.open_sender({ target: { address: queue, durable: 2 } });
    await once(sender, 'sendable');
    let accepted = 0;
    sender.on('accepted', () => (accepted += 1));
    for (let from = 0; from < bodies.length; from += chunk) {
      for (const body of bodies.slice(from, from + chunk)) {
        // Bytes go as a data section (as IoTDA sends JSON), text and objects as a string.
        // An object as an AMQP map when asked ({ map }), else as JSON text.
        const section: unknown = Buffer.isBuffer(body) ? rhea.message.data_section(body) : undefined;
        const map = (body as { map?: unknown }).map;
        sender.send({ body: section ?? map ?? (typeof body === 'string' ? body : JSON.stringify(body)), durable: true });
      }
      const sent = Math.min(from + chunk, bodies.length);
      await until(() => accepted === sent, `the broker to take ${sent} messages (took ${accepted})`);
    }
    connection.close();
    await once(connection, 'connection_close');
  }

  /** The task IDs of the batch task pushes journaled, one row each. */
  function journaledTasks(path: string): string[] {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare(`SELECT json_extract(body, '$.notify_data.body.task_id') AS task FROM huawei_iot_upgrade_journal WHERE notify_type = 'batchtask' ORDER BY id`).all() as Array<{ task: string }>).map((row) => row.task);
    } catch {
      return [];
    } finally {
      db.close();
    }
  }

  /** The receiver process, and the lines it printed. */
  function consumerProcess(db: string, queue: string, acceptFirst = false): { child: ChildProcess; lines: string[] } {
    const child = spawn(process.execPath, [join(__dirname, 'support', 'amqp-consumer.mjs')], {
      env: { ...process.env, DB: db, PORT: String(broker.port), QUEUE: queue, ACCEPT_FIRST: acceptFirst ? '1' : '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    const lines: string[] = [];
    child.stdout.on('data', (data: Buffer) => lines.push(...data.toString().trim().split('\n')));
    return { child, lines };
  }

  async function kill(child: ChildProcess): Promise<void> {
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  it('each message becomes one event, accepted after its commit: a re-send is a duplicate, a body that is no push is kept as invalid', async () => {
    const path = join(folder.dir, 'upgrades.db');
    const warnings: string[] = [];
    const upgrades: UpgradeRouter = createUpgradeRouter({ journal: sqliteJournal({ path }), logger: { warn: (message: string) => void warnings.push(message), error: () => {} } });
    const consumer: IotdaAmqpConsumer = createIotdaAmqpConsumer({ router: upgrades, host: '127.0.0.1', port: broker.port, tls: false, queue: '/queue/in-process', username: 'guest', password: 'guest', durable: true });
    closing.push(() => upgrades.close(1000), () => consumer.close());
    const heard: string[] = [];
    const rejected: Rejection[] = [];
    upgrades.on('batchTaskUpdate', (update) => void heard.push(update.notify_data.body.task_id));
    upgrades.on('duplicate', () => void heard.push('duplicate'));
    upgrades.on('invalid', (rejection) => void rejected.push(rejection));
    await consumer.ready;
    await publish('/queue/in-process', [push('t-1'), Buffer.from(JSON.stringify(push('t-2'))), push('t-1'), 'not json', { map: push('t-4') }]);
    await until(() => consumer.stats().accepted === 5, 'the five messages accepted');
    assert.deepEqual(heard, ['t-1', 't-2', 'duplicate', 't-4']);
    assert.equal(rejected[0]?.reason, 'malformed');
    assert.deepEqual(journaledTasks(path).sort(), ['t-1', 't-2', 't-4']);
    assert.deepEqual(consumer.stats(), { received: 5, accepted: 5, released: 0, connections: 1 });
    // The broker restarted: the consumer connects again by itself and goes on.
    await broker.kill();
    await broker.restart();
    await until(() => consumer.stats().connections === 2, 'the consumer connected again');
    await publish('/queue/in-process', [push('t-3')]);
    await until(() => heard.includes('t-3'), 'the push sent after the restart');
    assert.ok(warnings.some((warning) => /IoTDA AMQP: disconnected .*connecting again/.test(warning)), warnings.join('\n'));
    await consumer.close();
    await consumer.close();
  });

  it('the consumer killed mid-stream (SIGKILL) and the broker restarted: 600 pushes journaled, each once', async () => {
    const db = join(folder.dir, 'upgrades.db');
    const queue = '/queue/kill';
    const tasks = Array.from({ length: 600 }, (_, i) => `task-${i}`);
    await publish(queue, []);
    const first = consumerProcess(db, queue);
    await until(() => first.lines.includes('ready'), 'the first consumer');
    // Killed while the pushes stream in, with some in hand.
    const published = publish(queue, tasks.map(push), 20);
    await until(() => first.lines.includes('delivered 100'), 'a hundred pushes delivered by the first consumer');
    await kill(first.child);
    const atKill = journaledTasks(db).length;
    await published;
    await broker.kill();
    await broker.restart();
    const second = consumerProcess(db, queue);
    await until(() => new Set(journaledTasks(db)).size === 600, () => `all 600 journaled (${new Set(journaledTasks(db)).size})`);
    const journaled = journaledTasks(db);
    assert.equal(journaled.length, 600, 'none journaled twice');
    assert.ok(atKill < 600, `killed with ${atKill} of 600 journaled`);
    console.log(`      consumer killed with ${atKill} of 600 journaled, broker restarted: 600 journaled, none twice`);
    assert.deepEqual([...journaled].sort(), [...tasks].sort());
    const ended = once(second.child, 'exit');
    second.child.kill('SIGTERM');
    assert.deepEqual(await ended, [0, null], 'the consumer closed and exited 0 on SIGTERM');
  });

  it("control: a consumer that accepts on receipt (Huawei's sample), killed the same way, loses the pushes it had in hand", async () => {
    const db = join(folder.dir, 'upgrades.db');
    const queue = '/queue/control';
    const tasks = Array.from({ length: 600 }, (_, i) => `task-${i}`);
    await publish(queue, []);
    const first = consumerProcess(db, queue, true);
    await until(() => first.lines.includes('ready'), 'the first consumer');
    const published = publish(queue, tasks.map(push), 20);
    await until(() => first.lines.includes('delivered 100'), 'a hundred pushes delivered by the first consumer');
    await kill(first.child);
    await published;
    const second = consumerProcess(db, queue, true);
    // Sent last, after the restart: once it is journaled, the queue was read to its end.
    await publish(queue, [push('sentinel')]);
    await until(() => journaledTasks(db).includes('sentinel'), 'the queue read to its end');
    const journaled = new Set(journaledTasks(db));
    journaled.delete('sentinel');
    assert.ok(journaled.size < 600, `the control lost nothing (${journaled.size} of 600 journaled): the spec above could not fail`);
    console.log(`      control (accept on receipt): ${journaled.size} of 600 journaled after the same kill`);
    await kill(second.child);
  });

  it("the emulator's AMQP forwarding: pushes the broker could not take (it was down) are sent again, and reach the consumer once it is back", async () => {
    const emulator = await startPlatformEmulator({ speed: 600, devices: { durationMs: 60_000, failureRatio: 0 } });
    const { projectId, ak, sk } = emulator.iotda;
    const client = createIotdaClient({ endpoint: emulator.url, projectId, ak, sk });
    const upgrades = createUpgradeRouter({ journal: sqliteJournal({ path: join(folder.dir, 'forwarded.db') }), logger: { warn: () => {}, error: () => {} } });
    const queue = '/queue/forwarded';
    const consumer = createIotdaAmqpConsumer({ router: upgrades, host: '127.0.0.1', port: broker.port, tls: false, queue, username: 'guest', password: 'guest', durable: true });
    closing.push(
      () => emulator.close(),
      () => client.close(),
      () => upgrades.close(1000),
      () => consumer.close(),
    );
    const heard: string[] = [];
    upgrades.on('batchTaskUpdate', (update) => void heard.push(update.notify_data.body.status));
    await consumer.ready;
    const target = { amqp: { host: '127.0.0.1', port: broker.port, queue, username: 'guest', password: 'guest' } };
    emulator.iotda.forwardTo(target);
    await broker.kill();
    const pkg = emulator.iotda.addPackage({ version: '1.0.1' });
    await client.createBatchTask({ taskName: 'while the broker is down', taskType: 'firmwareUpgrade', targets: ['meter-1', 'meter-2'], packageId: pkg.package_id });
    await until(() => emulator.iotda.pushes().some((push) => push.body.notify_data.body.status === 'Success' && push.attempts >= 2), 'the final push tried again while the broker is down');
    assert.equal(heard.length, 0, 'nothing reached the consumer');
    // The forwarding set again meanwhile: the old connection, still trying, is closed; what waits goes the new way.
    emulator.iotda.forwardTo(target);
    await broker.restart();
    await until(() => heard.includes('Success'), () => `the final push through the broker (heard ${heard.join(', ')})`);
    await until(() => emulator.iotda.pushes().every((push) => push.status === 'delivered' && push.via === 'amqp'), 'every push taken by the broker');
    assert.deepEqual([...new Set(heard)].sort(), [...new Set(emulator.iotda.pushes().map((push) => push.body.notify_data.body.status))].sort());
  });

  it("a message the journal cannot keep (a full disk, onJournalError 'refuse') is released, not accepted: the broker delivers it again once there is room", async function () {
    const disk = join(folder.dir, 'small-disk');
    mkdirSync(disk);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', disk], { stdio: 'pipe' });
    } catch (error) {
      // Only root may mount; CI runs as root.
      console.log(`      skipped: cannot mount a tmpfs here (${String(error).split('\n')[0]})`);
      this.skip();
    }
    closing.push(() => Promise.resolve(execFileSync('umount', [disk])));
    const upgrades = createUpgradeRouter({ journal: sqliteJournal({ path: join(disk, 'upgrades.db'), spill: false }), onJournalError: 'refuse', logger: { warn: () => {}, error: () => {} } });
    upgrades.on('error', () => {});
    const heard: string[] = [];
    upgrades.on('batchTaskUpdate', (update) => void heard.push(update.notify_data.body.task_id));
    const consumer = createIotdaAmqpConsumer({ router: upgrades, host: '127.0.0.1', port: broker.port, tls: false, queue: '/queue/full-disk', username: 'guest', password: 'guest', durable: true, credit: 1 });
    closing.push(
      () => upgrades.close(1000),
      () => consumer.close(),
    );
    await consumer.ready;
    const filler = join(disk, 'filler');
    fillUp(filler);
    await publish('/queue/full-disk', [push('kept-later')]);
    await until(() => consumer.stats().released >= 1, () => `the message released (${JSON.stringify(consumer.stats())})`);
    assert.deepEqual([heard, consumer.stats().accepted], [[], 0]);
    rmSync(filler);
    await until(() => heard.includes('kept-later'), () => `the message delivered again and kept (${JSON.stringify(consumer.stats())})`);
    assert.equal(consumer.stats().accepted, 1);
  });

  it("builds IoTDA's SASL user from the access key, and refuses what it cannot use", () => {
    assert.equal(iotdaAmqpUsername('AK1', 1_765_000_000_000, 'inst-1'), 'accessKey=AK1|timestamp=1765000000000|instanceId=inst-1');
    assert.equal(iotdaAmqpUsername('AK1', 5), 'accessKey=AK1|timestamp=5');
    const withJournal = createUpgradeRouter({ journal: sqliteJournal({ path: join(folder.dir, 'o.db') }) });
    closing.push(() => withJournal.close(1000));
    const base = { router: withJournal, host: '127.0.0.1', queue: 'q' };
    assert.throws(() => createIotdaAmqpConsumer({ ...base, router: createUpgradeRouter(), accessKey: 'a', accessCode: 'c' }), (error: unknown) => (error as { code?: string }).code === 'ERR_NO_JOURNAL');
    assert.throws(() => createIotdaAmqpConsumer(base), /needs accessKey and accessCode/);
    assert.throws(() => createIotdaAmqpConsumer({ ...base, username: 'u' }), /needs accessKey and accessCode/);
    assert.throws(() => createIotdaAmqpConsumer({ ...base, accessKey: 'a', acessCode: 'c' } as never), /unknown option acessCode: did you mean accessCode\?/);
  });
});
