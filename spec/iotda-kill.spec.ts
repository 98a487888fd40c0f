// IoTDA end to end under a crash: a task of 10 000 devices on the emulator's v5 mode (over HTTPS), its
// task pushes forwarded over AMQP 1.0 through a real broker (RabbitMQ), a receiver process (router,
// SQLite journal, AMQP consumer, results reader) killed with SIGKILL while the devices finish, the
// broker killed and restarted, the receiver started again: every device reaches the listener with
// its final outcome, through exactly one journal entry (a re-delivery of that entry is at least
// once, not a second outcome). The control (2 000 devices) restarts on an empty journal: the devices delivered
// before the kill then come through a second entry, which this count catches.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createIotdaClient, type IotdaClient } from 'huawei-iot-upgrade-router/iotda';
import { startPlatformEmulator, type PlatformEmulator } from 'huawei-iot-upgrade-router/emulator';
import { RabbitMq } from './support/rabbitmq';
import { tempFolder } from './support/journal';
import { testTls } from './support/platform';
import { until } from './support/wait';

const DEVICES = 10_000;
const CONTROL_DEVICES = 2_000;
const script = join(__dirname, 'support', 'iotda-receiver.mjs');

describe('IoTDA end to end: 10 000 devices, the receiver killed (SIGKILL) and the broker restarted', function () {
  this.timeout(240_000);
  let broker: RabbitMq;
  let emulator: PlatformEmulator;
  let client: IotdaClient;
  let folder: ReturnType<typeof tempFolder>;
  let caFile: string;
  let taskId: string;
  let taskAtKill: string | undefined;
  const children: ChildProcess[] = [];
  /** What every receiver process printed (the task pushes its listener heard). */
  const printedByAll: string[] = [];

  before(async () => {
    broker = await RabbitMq.start();
  });
  after(async () => {
    await broker.stop();
  });

  beforeEach(async () => {
    folder = tempFolder('iotda-kill-');
    printedByAll.length = 0;
    const { tls, certificates } = await testTls();
    caFile = join(folder.dir, 'ca.pem');
    writeFileSync(caFile, certificates.ca);
    // Devices take a emulated minute each and start over an emulated hour: about 6 s of real time.
    emulator = await startPlatformEmulator({ tls, speed: 600, devices: { durationMs: 60_000, startSpread: 60, failureRatio: 0.2 } });
    const { projectId, ak, sk } = emulator.iotda;
    client = createIotdaClient({ endpoint: emulator.url, projectId, ak, sk, ca: certificates.ca });
  });
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await client.close();
    await emulator.close();
    folder.remove();
  });

  const out = (): string => join(folder.dir, 'outcomes.txt');
  /** [deviceId, status, entry] for each outcome the listeners heard. */
  const lines = (): string[][] => (existsSync(out()) ? readFileSync(out(), 'utf8').split('\n').filter((line) => line !== '').map((line) => line.split(' ')) : []);
  /** Entries each device came through, and the status each said. */
  const byDevice = (): Map<string, { statuses: Set<string>; entries: Set<string> }> => {
    const devices = new Map<string, { statuses: Set<string>; entries: Set<string> }>();
    for (const [deviceId = '', status = '', entry = ''] of lines()) {
      const seen = devices.get(deviceId) ?? { statuses: new Set(), entries: new Set() };
      devices.set(deviceId, seen);
      seen.statuses.add(status);
      seen.entries.add(entry);
    }
    return devices;
  };

  function receiver(db: string, queue: string): { child: ChildProcess; printed: string[] } {
    const { projectId, ak, sk } = emulator.iotda;
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, DB: join(folder.dir, db), OUT_FILE: out(), ENDPOINT: emulator.url, PROJECT_ID: projectId, AK: ak, SK: sk, CA_FILE: caFile, AMQP_PORT: String(broker.port), QUEUE: queue },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    const printed: string[] = [];
    child.stdout.on('data', (data: Buffer) => {
      const said = data.toString().trim().split('\n');
      printed.push(...said);
      printedByAll.push(...said);
    });
    return { child, printed };
  }

  /** Starts a task of `count` devices and a receiver, kills the receiver (SIGKILL) once a fifth reached its listener, then kills and restarts the broker. */
  async function killMidWay(queue: string, count: number): Promise<number> {
    emulator.iotda.forwardTo({ amqp: { host: '127.0.0.1', port: broker.port, queue, username: 'guest', password: 'guest' } });
    const first = receiver('upgrades.db', queue);
    await until(() => first.printed.includes('ready'), 'the first receiver');
    const pkg = emulator.iotda.addPackage({ version: '4.0.0' });
    const devices = Array.from({ length: count }, (_, i) => `meter-${String(i).padStart(5, '0')}`);
    taskId = (await client.createBatchTask({ taskName: 'district', taskType: 'firmwareUpgrade', targets: devices, packageId: pkg.package_id })).task_id;
    await until(() => lines().length >= count / 5, () => `${count / 5} outcomes at the listener (${lines().length})`);
    const exited = once(first.child, 'exit');
    first.child.kill('SIGKILL');
    await exited;
    const heard = lines().length;
    assert.ok(heard < count, `the kill came mid-way (${heard} heard)`);
    taskAtKill = emulator.iotda.tasks().find((task) => task.task_id === taskId)?.status;
    await broker.kill();
    await broker.restart();
    return heard;
  }

  /** The device statuses the platform ends with. */
  async function finalStatuses(): Promise<Map<string, string>> {
    const task = () => emulator.iotda.tasks().find((candidate) => candidate.task_id === taskId);
    await until(() => ['Success', 'Fail', 'PartialSuccess'].includes(task()?.status ?? ''), () => `the task to finish on the platform (${task()?.status})`, 120_000);
    return new Map(task()?.details.map((detail) => [detail.target, detail.status]));
  }

  it('restarted on the same journal: every device one final outcome at the listener, through exactly one entry', async () => {
    const queue = '/queue/upgrades';
    const atKill = await killMidWay(queue, DEVICES);
    receiver('upgrades.db', queue);
    const expected = await finalStatuses();
    // 10 000 devices read again page by page by a receiver just started, on a loaded machine: a ceiling to match.
    await until(() => byDevice().size === DEVICES, () => `every device at the listener (${byDevice().size})`, 180_000);
    for (const [deviceId, seen] of byDevice()) {
      assert.equal(seen.entries.size, 1, `${deviceId} came through ${[...seen.entries].join(', ')}`);
      assert.deepEqual([...seen.statuses], [expected.get(deviceId)], deviceId);
    }
    // The task pushes went through the broker, the last one after its restart.
    await until(() => emulator.iotda.pushes().every((push) => push.status === 'delivered'), 'every task push taken by the broker');
    assert.ok(emulator.iotda.pushes().every((push) => push.via === 'amqp'));
    // Heard by the first receiver when the task ended before the kill, else by the second.
    await until(() => printedByAll.includes('task PartialSuccess'), () => `the final task push over AMQP (heard: ${printedByAll.join(', ')})`);
    console.log(`      killed with ${atKill} of ${DEVICES} heard (the task ${taskAtKill} on the platform), broker restarted: ${DEVICES} at the listener, each through one entry (${lines().length} deliveries)`);
  });

  it('control: restarted on an empty journal, the devices heard before the kill come through a second entry', async () => {
    // Smaller: it only has to show that the count above can fail.
    const atKill = await killMidWay('/queue/control', CONTROL_DEVICES);
    receiver('empty.db', '/queue/control');
    await finalStatuses();
    await until(() => lines().length >= atKill + CONTROL_DEVICES, () => `the second run to deliver every device (${lines().length - atKill})`, 120_000);
    const doubled = [...byDevice().values()].filter((seen) => seen.entries.size > 1).length;
    assert.ok(doubled >= atKill, `only ${doubled} devices came through two entries: the count above could not fail`);
  });
});
