// `huawei-iot-upgrade-router simulate …`: plays the platform against a receiver.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Agent, fetch } from 'undici';
import { deviceNotifyTypes, type DeviceNotifyType } from '../core/notification-types';
import { referenceExample, samples } from './samples';
import { taskPushes } from './task';
import { UsageError, wholeArg } from './usage';

const DEFAULT_URL = 'http://localhost:3000/v1.0.0/messageReceiver';

export const simulateHelp = `Usage: huawei-iot-upgrade-router simulate [options]

Sends what the Huawei IoT platform sends: a realistic notification (fresh IDs each run) POSTed as
JSON to a receiver. Prints each answer's status and time; exits 1 unless every answer is 200.

Options:
  --url URL                  the receiver's callback URL (default: $RECEIVER_URL, else ${DEFAULT_URL});
                             its token parameter and password are never printed
  --ca FILE                  for an https:// URL: the CA that signed the receiver's certificate (what
                             you upload to the platform); the receiver is verified against it
  --type NOTIFY_TYPE         ${deviceNotifyTypes.join(' | ')}
                             (default swUpgradeResultNotify)
  --result SUCCESS|FAIL      the outcome, for swUpgradeResultNotify and fwUpgradeResultNotify (default SUCCESS)
  --repeat N                 send the same body N times, as the platform's retry does (default 1)
  --device ID                the deviceId of the notification sent (default: a fresh UUID)
  --operation ID             the operationId, the upgrade task (default: fresh each run)
  --body FILE                send this file's JSON as it is instead of a sample (- for standard input)
  --concurrency N            how many requests may be in flight at once (default 1: one after another;
                             8 with --task)
  --task N                   a whole upgrade task for N devices: their state changes, then a mix of
                             SUCCESS and FAIL results, a few devices left mid-way (firmware with
                             --type fwUpgradeResultNotify); prints one summary line; replaces --demo
  --reference                send the API reference's own swUpgradeResultNotify example instead
  --demo                     the reference's example, one notification of each type (results FAIL),
                             then the last one again (a duplicate): what \`npm run simulate\` sends
  -h, --help                 this text
`;

interface Send {
  label: string;
  /** Printed only when it fails (a whole task prints one summary line instead). */
  quiet?: boolean;
  /** A notification to write as the platform does, or a file's text to send as it is. */
  body: object | string;
}

interface Values {
  type?: string | undefined;
  result?: string | undefined;
  repeat?: string | undefined;
  device?: string | undefined;
  operation?: string | undefined;
  task?: string | undefined;
  body?: string | undefined;
  concurrency?: string | undefined;
  reference?: boolean | undefined;
  demo?: boolean | undefined;
}

const wholeNumber = (value: string | undefined, name: string): number => wholeArg(value ?? '1', name, 1) ?? 1;

function plan(values: Values, readBody: (file: string) => string): Send[] {
  const repeat = wholeNumber(values.repeat, '--repeat');
  const copies = (label: string, body: Send['body']): Send[] =>
    Array.from({ length: repeat }, (_, i) => ({ label: repeat > 1 ? `${label} #${i + 1}` : label, body }));
  if (values.body !== undefined) {
    for (const other of ['type', 'result', 'reference', 'demo', 'device', 'operation', 'task'] as const) {
      if (values[other] !== undefined) throw new UsageError(`--body sends the file as it is: --${other} does not apply`);
    }
    return copies(values.body === '-' ? 'standard input' : values.body, readBody(values.body));
  }
  if (values.task !== undefined) {
    const devices = wholeNumber(values.task, '--task');
    // --demo is what `npm run simulate` passes: `npm run simulate -- --task 200` plays the task instead.
    for (const other of ['result', 'reference', 'device', 'repeat'] as const) {
      if (values[other] !== undefined) throw new UsageError(`--task plays a whole task: --${other} does not apply`);
    }
    const firmware = values.type !== undefined && values.type.startsWith('fw');
    return taskPushes(devices, firmware, values.operation).map((body) => ({ label: `${body.notifyType} ${body.deviceId}`, body, quiet: true }));
  }
  if (values.demo === true) {
    const each: Send[] = deviceNotifyTypes.map((type) => ({ label: type, body: samples[type]('FAIL') }));
    const last = each[each.length - 1] as Send;
    return [{ label: 'reference example', body: referenceExample }, ...each, { label: `${last.label} again`, body: last.body }];
  }
  const type = (values.type ?? 'swUpgradeResultNotify') as DeviceNotifyType;
  if (!deviceNotifyTypes.includes(type)) throw new UsageError(`--type must be one of ${deviceNotifyTypes.join(', ')}`);
  const result = (values.result ?? 'SUCCESS').toUpperCase();
  if (result !== 'SUCCESS' && result !== 'FAIL') throw new UsageError('--result must be SUCCESS or FAIL');
  if (values.result !== undefined && !type.endsWith('ResultNotify')) throw new UsageError(`--result does not apply to ${type}`);
  const overrides = {
    ...(values.device === undefined ? {} : { deviceId: values.device }),
    ...(values.operation === undefined ? {} : { operationId: values.operation }),
  };
  const body = { ...(values.reference === true ? referenceExample : samples[type](result)), ...overrides };
  const label = values.reference === true ? 'reference example' : type.endsWith('ResultNotify') ? `${type} ${result}` : type;
  return copies(label, body);
}

/** The URL as printed: a token parameter (allow.token) and a password are secrets. */
export function redacted(url: string): string {
  if (!URL.canParse(url)) return url;
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  if (parsed.searchParams.has('token')) parsed.searchParams.set('token', '***');
  return parsed.toString();
}

async function send(url: string, { label, body, quiet = false }: Send, dispatcher: Agent | undefined): Promise<boolean> {
  const started = performance.now();
  try {
    // As the platform does: JSON, UTF-8, pretty-printed.
    const response = await fetch(url, {
      method: 'POST',
      ...(dispatcher !== undefined && { dispatcher }),
      headers: { 'Content-Type': 'application/json;charset=UTF-8' },
      body: typeof body === 'string' ? body : JSON.stringify(body, null, 4),
    });
    await response.arrayBuffer();
    if (!quiet || response.status !== 200) console.log(`${label}: ${response.status} in ${(performance.now() - started).toFixed(1)} ms`);
    return response.status === 200;
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    console.log(`${label}: no answer from ${redacted(url)} (${cause.replaceAll(url, redacted(url))})`);
    return false;
  }
}

/** What a task's results will be, to compare with what the receiver reports. */
function expectedResults(queue: Send[]): { SUCCESS: number; FAIL: number } {
  const expected = { SUCCESS: 0, FAIL: 0 };
  for (const { body } of queue) {
    const { swUpgradeResult, status } = body as { swUpgradeResult?: string; status?: string };
    const result = swUpgradeResult ?? status;
    if (result === 'SUCCESS' || result === 'FAIL') expected[result] += 1;
  }
  return expected;
}

export async function simulate(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      ca: { type: 'string' },
      type: { type: 'string' },
      result: { type: 'string' },
      repeat: { type: 'string' },
      device: { type: 'string' },
      operation: { type: 'string' },
      task: { type: 'string' },
      body: { type: 'string' },
      concurrency: { type: 'string' },
      reference: { type: 'boolean' },
      demo: { type: 'boolean' },
    },
  });
  const url = values.url ?? process.env['RECEIVER_URL'] ?? DEFAULT_URL;
  const concurrency = wholeNumber(values.concurrency ?? (values.task === undefined ? undefined : '8'), '--concurrency');
  const queue = plan(values, (file) => readFileSync(file === '-' ? 0 : file, 'utf8'));
  const dispatcher = values.ca === undefined ? undefined : new Agent({ connect: { ca: readFileSync(values.ca) } });
  const total = queue.length;
  const first = queue[0]?.body;
  const expected = values.task === undefined ? undefined : expectedResults(queue);
  const started = performance.now();
  let failures = 0;
  // `concurrency` workers take the next item until none is left: at most that many in flight.
  const worker = async (): Promise<void> => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) if (!(await send(url, item, dispatcher))) failures += 1;
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  await dispatcher?.close();
  if (expected !== undefined && typeof first === 'object') {
    const operationId = (first as { operationId: string }).operationId;
    console.log(
      `task ${operationId}: ${values.task} devices, ${total} pushes, ${failures === 0 ? 'all answered 200' : `${failures} not answered 200`} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    const midway = Number(values.task) - expected.SUCCESS - expected.FAIL;
    console.log(`expected: ${expected.SUCCESS} SUCCESS, ${expected.FAIL} FAIL, ${midway} device${midway === 1 ? '' : 's'} mid-way (no result)`);
  }
  return failures === 0 ? 0 : 1;
}
