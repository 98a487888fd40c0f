// A receiver with a reconciler in its own process, for the kill spec: a SQLite journal at DB, a
// `reconciledResult` listener that writes "<subOperationId> <journal file>#<entry id>" to OUT_FILE after DELAY_MS,
// and one reconciliation of TASK against the platform at URL (the emulator). The emulator's clock runs
// fast in the parent: the reconciler reads the platform's times against the emulator's time at start
// (its control surface says it); no push is in flight there (none is subscribed).
import { appendFileSync } from 'node:fs';
import { basename } from 'node:path';
import { createUpgradeRouter } from 'huawei-iot-upgrade-router';
import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import { createPlatformClient } from 'huawei-iot-upgrade-router/platform';
import { createReconciler } from 'huawei-iot-upgrade-router/reconcile';

const { DB, OUT_FILE, URL, APP_ID, SECRET, TASK, DELAY_MS = '0' } = process.env;
const upgrades = createUpgradeRouter({ logger: { error: () => {}, warn: () => {} }, journal: sqliteJournal({ path: DB, spill: false }) });
upgrades.on('reconciledResult', async (result, context) => {
  await new Promise((resolve) => setTimeout(resolve, Number(DELAY_MS)));
  appendFileSync(OUT_FILE, `${result.subOperationId} ${basename(DB)}#${context.id}\n`);
});
upgrades.on('error', (error) => console.error(error.message));
const client = createPlatformClient({ url: URL, appId: APP_ID, secret: SECRET });
const emulated = Date.parse((await (await fetch(`${URL}/_emulator`)).json()).now);
const reconciler = createReconciler({ router: upgrades, client, schedule: false, resendWindowMs: 1000, now: () => emulated });
const report = await reconciler.reconcile(TASK);
process.send?.({ filledNow: report.filledNow, filledIn: report.filledIn });
