// A receiver process for the AMQP specs: the package's router with a SQLite journal, fed by the IoTDA
// AMQP consumer from a real broker. It prints `delivered N` every 50 pushes delivered (after their commit), so that a
// spec can kill it (SIGKILL) at a known point. With ACCEPT_FIRST=1 it does what Huawei's sample does
// instead (accept each message at once, hand it to the router a little later): the spec's control.
import { createUpgradeRouter } from 'huawei-iot-upgrade-router';
import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import { createIotdaAmqpConsumer } from 'huawei-iot-upgrade-router/iotda';
import rhea from 'rhea';

const { DB, PORT, QUEUE, ACCEPT_FIRST } = process.env;
const upgrades = createUpgradeRouter({ journal: sqliteJournal({ path: DB }), logger: { warn: () => {}, error: (...args) => console.error(...args) } });
// Delivered after the journal's commit: a count of what was kept.
let delivered = 0;
upgrades.on('batchTaskUpdate', () => {
  delivered += 1;
  if (delivered % 50 === 0) console.log(`delivered ${delivered}`);
});

if (ACCEPT_FIRST === '1') {
  const connection = rhea.create_container().connect({ host: '127.0.0.1', port: Number(PORT), username: 'guest', password: 'guest', reconnect: true });
  connection.on('disconnected', () => {});
  const receiver = connection.open_receiver({ source: { address: QUEUE, durable: 2 }, credit_window: 100 });
  receiver.on('message', ({ message }) => {
    // Accepted on receipt (rhea's autoaccept); the work comes after, as in Huawei's sample.
    setTimeout(() => upgrades.receive(message.body), 20);
  });
} else {
  // The spec's queues are durable RabbitMQ queues (as IoTDA's are durable): attached as such.
  const consumer = createIotdaAmqpConsumer({ router: upgrades, host: '127.0.0.1', port: Number(PORT), tls: false, queue: QUEUE, username: 'guest', password: 'guest', durable: true });
  await consumer.ready;
  // Ended with SIGTERM, it closes as a service would (and its coverage is written).
  process.on('SIGTERM', () => {
    void consumer
      .close()
      .then(() => upgrades.close(1000))
      .then(() => process.exit(0));
  });
}
console.log('ready');
