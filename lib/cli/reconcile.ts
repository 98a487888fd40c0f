// `reconcile --task ID`: one task's report, the platform's view beside the journal's, on demand. It
// only reads: results are filled in by the receiver's own reconciler (createReconciler), which holds
// the journal and its lock. Its login replaces the receivers' token once (they log in again).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Agent, fetch } from 'undici';
import { checkTask, finalsFrom, type TaskReport } from '../reconcile/check';
import { createPlatformClient } from '../platform/client';
import { openJournalAdmin } from './journal';
import { UsageError } from './usage';
import { codedError } from '../core/errors';

export const reconcileHelp = `Usage: huawei-iot-upgrade-router reconcile --task ID --url URL --app-id ID [options]

Asks the platform what became of each device of an upgrade task and compares it with what the
journal holds: expected, received, filled in, missing, still waiting, stuck. Reads only.

  --task ID                  the task's operationId
  --url URL                  the platform's northbound address, e.g. https://iot.example.com:8743
  --app-id ID                the application; its secret comes from $HUAWEI_IOT_SECRET
  --ca FILE                  the CA that signed the platform's certificate
  --db FILE | --postgres URL the receiver's journal (default: $DATABASE_URL); without one, nothing counts as received
  --resend-window MS         a device finished less than this ago may still be pushed (default 720000)
  --stuck-after MS           waiting or in progress this long is stuck: the task's "silent for"
                             threshold (default 86400000)
  --clock-offset MS          the platform's clock minus this machine's, when they differ (default 0)
  --emulator-clock           read the platform's clock from the emulator (GET /_emulator): its time
                             runs --speed times faster than this machine's
  --json                     the report as JSON (with waitingDevices)

Exits 0 only when every device of the task has a final outcome here; 1 while any is missing, waiting
or stuck (the waiting ones are listed, the first 1 000); 2 on a usage error; 3 when the platform or
the journal cannot be reached.
`;

/** Devices listed as waiting, at most: the count says how many there are in all. */
const WAITING_LISTED = 1000;

const number = (value: string | undefined, name: string, fallback: number): number => {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new UsageError(`--${name} takes milliseconds, got ${JSON.stringify(value)}`);
  return parsed;
};

const hours = (ms: number): string => (ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms} ms`);

/** The report as an operator reads it. */
export function describeReport(report: TaskReport, stuckAfterMs: number): string {
  const { platform } = report;
  const lines = [
    `task ${report.operationId} (${report.operateType}, ${report.status} on the platform${report.stopTime === undefined ? '' : `, ended ${report.stopTime}`})`,
    `  expected     ${report.expected}  (platform: ${platform.success} success, ${platform.fail} fail, ${platform.wait} wait, ${platform.processing} processing, ${platform.stop} stopped)`,
    `  received     ${report.received}  (result pushes)`,
    `  filled in    ${report.filledIn}  (by reconciliation)`,
    `  missing      ${report.missing.length}  (finished on the platform, no result here)`,
    `  waiting      ${report.waiting}`,
    `  stuck        ${report.stuck.length}  (waiting or in progress for over ${hours(stuckAfterMs)}: --stuck-after)`,
  ];
  for (const device of report.missing) lines.push(`  missing ${device.deviceId} ${device.subOperationId} ${device.result}${device.stopTime === undefined ? '' : ` ${device.stopTime}`}`);
  for (const device of report.stuck) lines.push(`  stuck   ${device.deviceId} ${device.subOperationId} ${device.status} since ${device.since ?? 'unknown'}`);
  return lines.join('\n');
}

export async function reconcile(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      task: { type: 'string' },
      url: { type: 'string' },
      'app-id': { type: 'string' },
      ca: { type: 'string' },
      db: { type: 'string' },
      postgres: { type: 'string' },
      'resend-window': { type: 'string' },
      'stuck-after': { type: 'string' },
      'clock-offset': { type: 'string' },
      'emulator-clock': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const secret = process.env['HUAWEI_IOT_SECRET'];
  if (values.task === undefined || values.url === undefined || values['app-id'] === undefined) throw new UsageError('--task, --url and --app-id are needed');
  if (secret === undefined || secret === '') throw new UsageError("the application's secret goes in $HUAWEI_IOT_SECRET (not on the command line, where ps shows it)");
  const resendWindowMs = number(values['resend-window'], 'resend-window', 12 * 60_000);
  const stuckAfterMs = number(values['stuck-after'], 'stuck-after', 24 * 60 * 60_000);
  const offset = values['clock-offset'] === undefined ? 0 : Number(values['clock-offset']);
  if (!Number.isInteger(offset)) throw new UsageError(`--clock-offset takes milliseconds (negative when the platform's clock is behind), got ${JSON.stringify(values['clock-offset'])}`);
  if (values['emulator-clock'] && values['clock-offset'] !== undefined) throw new UsageError('--emulator-clock reads the clock itself: leave out --clock-offset');
  const ca = values.ca === undefined ? undefined : readFileSync(values.ca);
  const journal = values.db !== undefined || values.postgres !== undefined || process.env['DATABASE_URL'] ? await openJournalAdmin(values) : undefined;
  const client = createPlatformClient({ url: values.url, appId: values['app-id'], secret, ...(ca !== undefined && { ca }) });
  try {
    // The re-send window and the stuck threshold are compared with the platform's times.
    const now = values['emulator-clock'] ? await emulatorNow(values.url, ca) : Date.now() + offset;
    const finals = finalsFrom(journal === undefined ? [] : await journal.finalResults(values.task));
    const task = await client.getTask(values.task);
    const report = await checkTask({ client, call: (work) => work(), finals, fill: undefined, now, resendWindowMs, stuckAfterMs, recheckMs: 0, state: { seenFinished: new Map() } }, task);
    // A device with no final outcome yet is not done, whatever its age: a script waiting on this
    // command must not take a rollout with silent devices for finished.
    const waitingDevices: Array<{ deviceId: string; subOperationId: string; status: 'wait' | 'processing' }> = [];
    for (const status of ['wait', 'processing'] as const) {
      if (report.waiting === 0) break;
      for await (const sub of client.subTasks(values.task, { status })) {
        if (waitingDevices.length >= WAITING_LISTED) break;
        waitingDevices.push({ deviceId: sub.deviceId, subOperationId: sub.subOperationId, status });
      }
    }
    console.log(
      values.json
        ? JSON.stringify({ ...report, waitingDevices }, null, 2)
        : [describeReport(report, stuckAfterMs), ...waitingDevices.map((device) => `  waiting ${device.deviceId} ${device.status}`)].join('\n'),
    );
    return report.missing.length > 0 || report.stuck.length > 0 || report.waiting > 0 ? 1 : 0;
  } finally {
    await client.close();
    await journal?.close();
  }
}

/** The emulator's clock, from its control surface. */
async function emulatorNow(url: string, ca: Buffer | undefined): Promise<number> {
  const dispatcher = new Agent(ca === undefined ? {} : { connect: { ca } });
  try {
    const answer = await fetch(new URL('/_emulator', url), { dispatcher, signal: AbortSignal.timeout(10_000) });
    const body = (await answer.json().catch(() => ({}))) as { now?: unknown };
    const now = typeof body.now === 'string' ? Date.parse(body.now) : Number.NaN;
    if (!answer.ok || Number.isNaN(now)) throw codedError('ERR_NOT_AN_EMULATOR', `GET /_emulator answered ${answer.status} without its clock: is ${url} the emulator?`);
    return now;
  } finally {
    await dispatcher.close();
  }
}
