// `huawei-iot-upgrade-router emulator`: the platform emulator as a process, for a demo or for tests
// in any language (its control surface is HTTP). Prints where it listens and the credentials of its
// application; runs until SIGINT or SIGTERM.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createTestCertificates } from '../emulator/certificates';
import { EMULATOR_VERSION, type PlatformEmulator, type PlatformEmulatorOptions } from '../emulator/emulator';
import { startPlatformEmulator } from '../emulator/http';
import { UsageError } from './usage';

export const emulatorHelp = `Usage: huawei-iot-upgrade-router emulator [options]

A local, stateful stand-in for the Huawei IoT platform's northbound API (login, upgrade tasks and
sub-tasks, version packages, subscriptions) that pushes upgrade notifications to subscribed callback
URLs with the platform's rules (15 s time-out, re-sends for 10 minutes, invalid after 10 failures).
Control surface for tests: GET /_emulator, /_emulator/pushes, /_emulator/callbacks; POST
/_emulator/faults, /_emulator/clock, /_emulator/packages, /_emulator/groups; PUT /_emulator/devices.

Options:
  --port N              where to listen (default 8743, the platform's northbound port; 0: any free port)
  --host ADDRESS        the address to listen on (default 127.0.0.1: the control surface has no login)
  --tls                 serve HTTPS with a certificate from a new CA (needs @peculiar/x509); the CA
                        is written to --ca-out for clients to trust
  --cert FILE --key FILE  serve HTTPS with this certificate and key instead
  --ca-out FILE         where --tls writes its CA (default platform-emulator-ca.pem)
  --ca FILE             the CA that signed your receivers' certificates: pushes to https:// callback
                        URLs are verified against it (as the platform does once the CA is uploaded)
  --speed N             emulated time runs N times faster (default 1; 60: the 10-minute re-send
                        window lasts 10 s)
  --seed N              which devices fail, and when each answers (default 1)
  --duration S          seconds a device takes to upgrade (default 120, emulated time)
  --duration-spread R   each device takes the duration give or take this share of it (default 0.2)
  --start-spread R      devices start within this share of the duration after the task (default 0.1)
  --failure-ratio R     share of devices that fail (default 0.1)
  --silent-ratio R      share of devices that start and never answer again (default 0)
  --drop-ratio R        share of pushes lost on the platform's side (default 0)
  --drop-type TYPE      only pushes of this notifyType are dropped (e.g. swUpgradeResultNotify)
  --rate-limit N        northbound calls an application may make a window (default 100)
  --rate-window MS      that window (default 60000)
  --push-timeout MS     real time a receiver has to answer a push (default 15000)
  --resend-every MS     emulated time between two tries of a push (default 60000)
  --resend-for MS       emulated time a push is re-sent for (default 600000)
  --invalid-after N     failures in a row that mark a callback URL invalid (default 10)
  --app-id ID           the application's ID; its secret comes from $HUAWEI_IOT_SECRET (not on
                        the command line, where ps shows it). Default: random credentials
  -h, --help            this text
`;

function number(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${name} must be a number of at least 0`);
  return n;
}

function whole(value: string | undefined, name: string): number | undefined {
  const n = number(value, name);
  if (n !== undefined && !(Number.isInteger(n) && n > 0)) throw new UsageError(`${name} must be a whole number above 0`);
  return n;
}

/** The flags that become a group of options, each only when given. */
function given<T extends string>(entries: ReadonlyArray<readonly [T, number | undefined]>): Partial<Record<T, number>> {
  return Object.fromEntries(entries.filter((entry) => entry[1] !== undefined)) as Partial<Record<T, number>>;
}

export async function emulator(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      tls: { type: 'boolean' },
      cert: { type: 'string' },
      key: { type: 'string' },
      'ca-out': { type: 'string' },
      ca: { type: 'string' },
      speed: { type: 'string' },
      seed: { type: 'string' },
      duration: { type: 'string' },
      'failure-ratio': { type: 'string' },
      'silent-ratio': { type: 'string' },
      'duration-spread': { type: 'string' },
      'start-spread': { type: 'string' },
      'drop-ratio': { type: 'string' },
      'drop-type': { type: 'string' },
      'rate-limit': { type: 'string' },
      'rate-window': { type: 'string' },
      'push-timeout': { type: 'string' },
      'resend-every': { type: 'string' },
      'resend-for': { type: 'string' },
      'invalid-after': { type: 'string' },
      'app-id': { type: 'string' },
      secret: { type: 'string' },
    },
  });
  if (values.secret !== undefined) throw new UsageError("the application's secret goes in $HUAWEI_IOT_SECRET (not on the command line, where ps shows it), with --app-id");
  const secret = process.env['HUAWEI_IOT_SECRET'];
  if ((values.cert === undefined) !== (values.key === undefined)) throw new UsageError('--cert and --key go together');
  if (values.tls === true && values.cert !== undefined) throw new UsageError('--tls makes its own certificate: leave out --cert and --key');
  const options: PlatformEmulatorOptions = { port: number(values.port, '--port') ?? 8743, host: values.host ?? '127.0.0.1' };
  let caFile: string | undefined;
  if (values.cert !== undefined && values.key !== undefined) options.tls = { cert: readFileSync(values.cert), key: readFileSync(values.key) };
  if (values.tls === true) {
    const certificates = await createTestCertificates({ name: 'huawei-iot-upgrade-router platform emulator CA' });
    options.tls = await certificates.issue([options.host ?? '127.0.0.1', 'localhost']);
    caFile = values['ca-out'] ?? 'platform-emulator-ca.pem';
    writeFileSync(caFile, certificates.ca);
  }
  if (values.ca !== undefined) options.receiverCa = readFileSync(values.ca);
  const speed = number(values.speed, '--speed');
  if (speed !== undefined) options.speed = speed;
  const seed = number(values.seed, '--seed');
  if (seed !== undefined) options.seed = seed;
  const duration = number(values.duration, '--duration');
  const failureRatio = number(values['failure-ratio'], '--failure-ratio');
  const silentRatio = number(values['silent-ratio'], '--silent-ratio');
  options.devices = {
    ...(duration !== undefined && { durationMs: duration * 1000 }),
    ...(failureRatio !== undefined && { failureRatio }),
    ...(silentRatio !== undefined && { silentRatio }),
    ...given([
      ['durationSpread', number(values['duration-spread'], '--duration-spread')],
      ['startSpread', number(values['start-spread'], '--start-spread')],
    ]),
  };
  const calls = whole(values['rate-limit'], '--rate-limit');
  const windowMs = whole(values['rate-window'], '--rate-window');
  if (calls !== undefined || windowMs !== undefined) options.rateLimit = { calls: calls ?? 100, windowMs: windowMs ?? 60_000 };
  options.pushRules = given([
    ['timeoutMs', whole(values['push-timeout'], '--push-timeout')],
    ['resendMs', whole(values['resend-every'], '--resend-every')],
    ['keepMs', whole(values['resend-for'], '--resend-for')],
    ['invalidAfter', whole(values['invalid-after'], '--invalid-after')],
  ]);
  const dropRatio = number(values['drop-ratio'], '--drop-ratio');
  if (values['drop-type'] !== undefined && dropRatio === undefined) throw new UsageError('--drop-type says which pushes --drop-ratio drops: give --drop-ratio too');
  const appId = values['app-id'];
  if (appId !== undefined) {
    if (secret === undefined || secret === '') throw new UsageError('--app-id needs its secret in $HUAWEI_IOT_SECRET');
    options.app = { appId, secret };
  }
  let started: PlatformEmulator | undefined;
  try {
    started = await startPlatformEmulator(options);
    if (dropRatio !== undefined) started.inject({ kind: 'dropPushes', ratio: dropRatio, ...(values['drop-type'] !== undefined && { notifyType: values['drop-type'] }) });
  } catch (error) {
    // A value the emulator refuses (a ratio over 1) is a usage error, said in its words.
    await started?.close();
    if (error instanceof TypeError) throw new UsageError(error.message.replace(/^huawei-iot-upgrade-router: /, ''));
    throw error;
  }
  const { software, firmware } = started.packages;
  console.log(`platform emulator ${EMULATOR_VERSION} on ${started.url} (time ${options.speed ?? 1}x)`);
  console.log(`  appId    ${started.appId}`);
  // A secret it made up is printed for the clients to use; one it was given is not repeated.
  console.log(`  secret   ${options.app === undefined ? started.secret : '(from $HUAWEI_IOT_SECRET)'}`);
  if (dropRatio !== undefined) console.log(`  dropping ${dropRatio * 100} % of ${values['drop-type'] ?? 'all'} pushes`);
  if (caFile !== undefined) console.log(`  CA       ${caFile} (trust it: createPlatformClient({ ca }))`);
  console.log(`  packages software ${software.version} fileId=${software.fileId}, firmware ${firmware.version} fileId=${firmware.fileId}`);
  console.log(`  control  ${started.url}/_emulator`);
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  console.log(`${signal}: closing`);
  await started.close();
  return 0;
}
