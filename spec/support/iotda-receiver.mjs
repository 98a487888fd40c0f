// An IoTDA receiver in its own process, for the kill spec: the router with a SQLite journal at DB, the
// AMQP consumer of the rule engine's queue (a real broker), and the results reader of the platform
// at ENDPOINT (the emulator over HTTPS). Each device's outcome is written to OUT_FILE as
// "<deviceId> <status> <journal file>#<entry id>" by its listener; each task push heard is printed.
import { appendFileSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { createUpgradeRouter } from 'huawei-iot-upgrade-router';
import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import { createIotdaAmqpConsumer, createIotdaClient, createIotdaResults } from 'huawei-iot-upgrade-router/iotda';

const { DB, OUT_FILE, ENDPOINT, PROJECT_ID, AK, SK, CA_FILE, AMQP_PORT, QUEUE } = process.env;
const upgrades = createUpgradeRouter({ journal: sqliteJournal({ path: DB, spill: false }), logger: { warn: () => {}, error: (...args) => console.error(...args) } });
upgrades.on('iotdaDeviceResult', (result, context) => appendFileSync(OUT_FILE, `${result.deviceId} ${result.status} ${basename(DB)}#${context.id}\n`));
upgrades.on('batchTaskUpdate', (push) => console.log(`task ${push.notify_data.body.status}`));
upgrades.on('error', (error) => console.error(error.message));
const client = createIotdaClient({ endpoint: ENDPOINT, projectId: PROJECT_ID, ak: AK, sk: SK, ca: readFileSync(CA_FILE), retryDelayMs: 50 });
// At start it looks for the tasks of the last two days (the default): the one under way is read again.
createIotdaResults({ router: upgrades, client, intervalMs: 1_000 });
const consumer = createIotdaAmqpConsumer({ router: upgrades, host: '127.0.0.1', port: Number(AMQP_PORT), tls: false, queue: QUEUE, username: 'guest', password: 'guest', durable: true });
await consumer.ready;
console.log('ready');
