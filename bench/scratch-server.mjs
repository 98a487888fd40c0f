import { createServer } from 'node:http';
import express from 'express';
import { createUpgradeRouter } from 'huawei-iot-upgrade-router';
import { readBody } from '../dist/transport/read-body.js';
const PATH = '/v1.0.0/messageReceiver';
let parsed = 0;
function readAndParse(req, done) {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => { JSON.parse(Buffer.concat(chunks).toString()); parsed += 1; done(); });
}
const app = express();
const kind = process.argv[2];
if (kind === 'floor') app.use(PATH, (req, res) => readAndParse(req, () => res.end()));
if (kind === 'floor-ip') app.use(PATH, (req, res) => { const ip = req.ip; readAndParse(req, () => { res.end(); }); });
if (kind === 'floor-readbody') app.use(PATH, (req, res) => readBody(req, 1e6, (r) => { JSON.parse(r.bytes.toString()); parsed += 1; res.end(); }));
if (kind === 'floor-status') app.use(PATH, (req, res) => readAndParse(req, () => { if (!res.headersSent) { res.statusCode = 200; res.end(); } }));
let upgrades;
if (kind === 'router') { upgrades = createUpgradeRouter({ dedupe: false }); upgrades.on('upgradeResult', () => {}); app.use(PATH, upgrades); }
if (kind === 'router-nonext') { upgrades = createUpgradeRouter({ dedupe: false }); upgrades.on('upgradeResult', () => {}); app.use(PATH, (req, res) => upgrades(req, res)); }
if (kind === 'floor-receive') { upgrades = createUpgradeRouter({ dedupe: false }); upgrades.on('upgradeResult', () => {}); app.use(PATH, (req, res) => readBody(req, 1e6, (r) => { res.end(); upgrades.receive(r.bytes); })); }
if (kind === 'node-router') { upgrades = createUpgradeRouter({ dedupe: false }); upgrades.on('upgradeResult', () => {}); }
if (kind === 'router-plainreq-x') { upgrades = createUpgradeRouter({ dedupe: false }); upgrades.on('upgradeResult', () => {}); app.use(PATH, (req, res, next) => { Object.setPrototypeOf(req, Object.getPrototypeOf(Object.getPrototypeOf(req))); upgrades(req, res, next); }); }
const server = createServer(kind === 'node-router' ? upgrades : app).listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', () => { const { user, system } = process.cpuUsage(); process.send({ parsed: upgrades ? upgrades.stats().events.upgradeResult : parsed, cpuMicros: user + system }); });
process.on('SIGINT', () => process.exit(0));
