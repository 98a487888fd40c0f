#!/usr/bin/env node
// The package's bin: `huawei-iot-upgrade-router simulate …` plays the platform against a receiver.
import { parseArgs } from 'node:util';
import { notifyTypes, type NotifyType } from '../notification-types';
import { referenceExample, samples } from './samples';

const DEFAULT_URL = 'http://localhost:3000/v1.0.0/messageReceiver';

const help = `Usage: huawei-iot-upgrade-router simulate [options]

Sends what the Huawei IoT platform sends: a realistic notification (fresh IDs each run) POSTed as
JSON to a receiver. Prints each answer's status and time; exits 1 unless every answer is 200.

Options:
  --url URL                  the receiver's callback URL (default: $RECEIVER_URL, else ${DEFAULT_URL})
  --type NOTIFY_TYPE         ${notifyTypes.join(' | ')}
                             (default swUpgradeResultNotify)
  --result SUCCESS|FAIL      the outcome, for swUpgradeResultNotify and fwUpgradeResultNotify (default SUCCESS)
  --repeat N                 send the same body N times, as the platform's retry does (default 1)
  --reference                send the API reference's own swUpgradeResultNotify example instead
  --demo                     the reference's example, one notification of each type (results FAIL),
                             then the last one again (a duplicate): what \`npm run simulate\` sends
  -h, --help                 this text
`;

class UsageError extends Error {}

interface Send {
  label: string;
  body: object;
}

interface Values {
  type?: string | undefined;
  result?: string | undefined;
  repeat?: string | undefined;
  reference?: boolean | undefined;
  demo?: boolean | undefined;
}

function plan(values: Values): Send[] {
  if (values.demo === true) {
    const each: Send[] = notifyTypes.map((type) => ({ label: type, body: samples[type]('FAIL') }));
    const last = each[each.length - 1] as Send;
    return [{ label: 'reference example', body: referenceExample }, ...each, { label: `${last.label} again`, body: last.body }];
  }
  const type = (values.type ?? 'swUpgradeResultNotify') as NotifyType;
  if (!notifyTypes.includes(type)) throw new UsageError(`--type must be one of ${notifyTypes.join(', ')}`);
  const result = (values.result ?? 'SUCCESS').toUpperCase();
  if (result !== 'SUCCESS' && result !== 'FAIL') throw new UsageError('--result must be SUCCESS or FAIL');
  if (values.result !== undefined && !type.endsWith('ResultNotify')) throw new UsageError(`--result does not apply to ${type}`);
  const repeat = Number(values.repeat ?? 1);
  if (!Number.isInteger(repeat) || repeat < 1) throw new UsageError('--repeat must be a whole number of at least 1');
  const body = values.reference === true ? referenceExample : samples[type](result);
  const label = values.reference === true ? 'reference example' : type.endsWith('ResultNotify') ? `${type} ${result}` : type;
  return Array.from({ length: repeat }, (_, i) => ({ label: repeat > 1 ? `${label} #${i + 1}` : label, body }));
}

async function send(url: string, { label, body }: Send): Promise<boolean> {
  const started = performance.now();
  try {
    // As the platform does: JSON, UTF-8, pretty-printed.
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json;charset=UTF-8' },
      body: JSON.stringify(body, null, 4),
    });
    await response.arrayBuffer();
    console.log(`${label}: ${response.status} in ${(performance.now() - started).toFixed(1)} ms`);
    return response.status === 200;
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    console.log(`${label}: no answer from ${url} (${cause})`);
    return false;
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      type: { type: 'string' },
      result: { type: 'string' },
      repeat: { type: 'string' },
      reference: { type: 'boolean' },
      demo: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    console.log(help);
    return 0;
  }
  if (positionals.length !== 1 || positionals[0] !== 'simulate') throw new UsageError('the one command is `simulate`');
  const url = values.url ?? process.env['RECEIVER_URL'] ?? DEFAULT_URL;
  let ok = true;
  for (const item of plan(values)) ok = (await send(url, item)) && ok;
  return ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    console.error(`huawei-iot-upgrade-router: ${(error as Error).message}\n\n${help}`);
    process.exitCode = 2;
  },
);
