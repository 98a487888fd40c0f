// A receiver in its own process, for the crash specs: its listener writes each upgrade result's
// deviceId to OUT_FILE, DELAY_MS after it started (so that a kill can fall between the 200 and the
// work). JOURNAL=sqlite:<path> | postgres:<url> | none. A deviceId of "poison" kills the process
// from inside the listener; a dead letter is written as "dead <deviceId>". Each start of a delivery is
// written to START_FILE, when set, as "<deviceId> <attempt>"; FAIL_FIRST=1 fails every first attempt.
// HOLD=1 holds every listener until the spec sends 'release' (ReceiverProcess.release()).
import { appendFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { createUpgradeRouter } from 'huawei-iot-upgrade-router';

const { JOURNAL = 'none', OUT_FILE, DELAY_MS = '0', ATTEMPTS = '8', LEASE_MS = '60000', PORT = '0', SPILL = '' } = process.env;
// The spill folder: SPILL, or none (the specs that do not test it must not write into the checkout).
const spill = SPILL === '' ? false : SPILL;

async function openJournal() {
  const [kind, ...rest] = JOURNAL.split(':');
  const where = rest.join(':');
  if (kind === 'sqlite') return (await import('huawei-iot-upgrade-router/sqlite')).sqliteJournal({ path: where, leaseMs: Number(LEASE_MS), spill });
  if (kind === 'postgres') return (await import('huawei-iot-upgrade-router/postgres')).postgresJournal({ connectionString: where, leaseMs: Number(LEASE_MS), spill });
  return undefined;
}

const released = new Promise((resolve) => process.on('message', (message) => message === 'release' && resolve()));
const journal = await openJournal();
const upgrades = createUpgradeRouter({
  logger: { error: () => {}, warn: () => {} },
  ...(journal === undefined ? {} : { journal, delivery: { attempts: Number(ATTEMPTS), backoffMs: 50 } }),
});
upgrades.on('upgradeResult', async (notification, context) => {
  if (notification.deviceId === 'poison') process.kill(process.pid, 'SIGKILL');
  if (process.env.START_FILE) appendFileSync(process.env.START_FILE, `${notification.deviceId} ${context.attempt}\n`);
  if (process.env.FAIL_FIRST === '1' && context.attempt === 1) throw new Error('the first attempt fails');
  if (process.env.HOLD === '1') await released;
  await new Promise((resolve) => setTimeout(resolve, Number(DELAY_MS)));
  appendFileSync(OUT_FILE, `${notification.deviceId}\n`);
});
upgrades.on('deadLetter', (notification) => appendFileSync(OUT_FILE, `dead ${notification.deviceId}\n`));
upgrades.on('error', () => {});
const server = createServer(upgrades);
server.listen(Number(PORT), '127.0.0.1');
await once(server, 'listening');
process.send?.({ port: server.address().port });
