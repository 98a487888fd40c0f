// A receiver in its own process, so the flood spec can measure the server's memory apart from the
// client's. Reports its port, then on each 'report' message its stats and resident set size.
import { createUpgradeRouter } from 'huawei-iot-upgrade-router';

const { default: express } = await import(process.env.EXPRESS_MAJOR === '4' ? 'express4' : 'express');
const app = express();
const upgrades = createUpgradeRouter();
app.use('/v1.0.0/messageReceiver', upgrades);

let peakRss = process.memoryUsage().rss;
setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 5).unref();

const server = app.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', (message) => {
  if (message === 'reset-peak') peakRss = process.memoryUsage().rss;
  process.send({ stats: upgrades.stats(), rss: process.memoryUsage().rss, peakRss });
});
process.on('disconnect', () => process.exit(0));
