// A receiver whose listener blocks the event loop for BLOCK_MS before it returns: it writes
// "listener done" to stdout when it ends. The spec checks that the 200 reached the sender first.
import { once } from 'node:events';
import { createServer } from 'node:http';
import express from 'express';
import { createUpgradeRouter } from 'huawei-iot-upgrade-router';

const block = Number(process.env.BLOCK_MS ?? 1000);
const upgrades = createUpgradeRouter();
upgrades.on('upgradeResult', () => {
  const until = Date.now() + block;
  while (Date.now() < until); // a synchronous listener at its worst: nothing else runs meanwhile
  process.stdout.write('listener done\n');
});
const app = express();
app.use('/v1.0.0/messageReceiver', upgrades);
const server = process.env.TRANSPORT === 'node' ? createServer(upgrades) : createServer(app);
server.listen(0, '127.0.0.1');
await once(server, 'listening');
process.send?.({ port: server.address().port });
