// `huawei-iot-upgrade-router emulator`: the platform emulator as a process, for a demo or for tests
// in any language (its control surface is HTTP). Prints where it listens and the credentials of its
// application; runs until SIGINT or SIGTERM.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createTestCertificates } from '../emulator/certificates';
import { EMULATOR_VERSION, startPlatformEmulator, type PlatformEmulatorOptions } from '../emulator/emulator';
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
  --failure-ratio R     share of devices that fail (default 0.1)
  --silent-ratio R      share of devices that start and never answer again (default 0)
  --app-id ID --secret S  the application's credentials (default: random)
  -h, --help            this text
`;

function number(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${name} must be a number of at least 0`);
  return n;
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
      'app-id': { type: 'string' },
      secret: { type: 'string' },
    },
  });
  if ((values.cert === undefined) !== (values.key === undefined)) throw new UsageError('--cert and --key go together');
  if (values.tls === true && values.cert !== undefined) throw new UsageError('--tls makes its own certificate: leave out --cert and --key');
  if ((values['app-id'] === undefined) !== (values.secret === undefined)) throw new UsageError('--app-id and --secret go together');
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
  };
  if (values['app-id'] !== undefined && values.secret !== undefined) options.app = { appId: values['app-id'], secret: values.secret };
  const started = await startPlatformEmulator(options);
  const { software, firmware } = started.packages;
  console.log(`platform emulator ${EMULATOR_VERSION} on ${started.url} (time ${options.speed ?? 1}x)`);
  console.log(`  appId    ${started.appId}`);
  console.log(`  secret   ${started.secret}`);
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
