// The emulated platform's state: applications, tasks and their devices, pushes, faults and the
// clock, with the methods tests and the control surface use. Its HTTP server is http.ts's.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_RATE_LIMIT, PACKAGE_TYPES, paths, type PackageType, type Subscription, type UpgradeTask } from '../platform/contract';
import { Apps, EmulatorError, type App } from './apps';
import { EmulatedClock } from './clock';
import { Faults, type EmulatorFault } from './faults';
import { matching, northbound, type EmulatorAnswer, type EmulatorRequest } from './northbound';
import { DEFAULT_PUSH_RULES, Pusher, type CallbackState, type PushRecord, type PushRules, type PushStatus } from './pusher';
import { checkOptions, checks, kindOf, type OptionTable } from '../core/option-checks';
import { seeded } from '../core/random';
import { Tasks, type DeviceBehaviour, type EmulatedPackage } from './tasks';
import { firmwareFailures, softwareFailures } from './failures';
import { IotdaEmulation } from './iotda';
import { PushDrops } from './drops';
import { codedError } from '../core/errors';

type Pem = string | Buffer;

export interface PlatformEmulatorOptions {
  /** Default 0: a free port. The platform's own northbound port is 8743. */
  port?: number;
  /** Default 127.0.0.1: the control surface has no authentication. */
  host?: string;
  /** Serve HTTPS with this certificate and key (and, with `requestCert`, ask clients for theirs, verified against `ca`). */
  tls?: { cert: Pem; key: Pem; ca?: Pem; requestCert?: boolean };
  /** The CA that signed the receivers' certificates: pushes to https:// callback URLs are verified against it. */
  receiverCa?: Pem;
  /** Emulated time per real time (default 1): 60 makes a 10-minute re-send window last 10 s. */
  speed?: number;
  /** Seeds which devices fail or stay silent, and when each answers (default 1). */
  seed?: number;
  /** How the devices of new tasks behave (changeable later with `setBehaviour`). */
  devices?: Partial<DeviceBehaviour>;
  /** The application to create (default: random appId and secret). */
  app?: { appId: string; secret: string };
  /** `expiresIn` of an access token, in seconds (default 3600, as documented). */
  tokenLifetimeS?: number;
  /** Flow control per application (default 100 calls per 60 s, as documented). */
  rateLimit?: { calls: number; windowMs: number };
  /** The push rules' timings (default: the platform's). */
  pushRules?: Partial<PushRules>;
}

export interface PushFilter {
  status?: PushStatus;
  notifyType?: string;
  operationId?: string;
  deviceId?: string;
}

export interface PushSummary {
  total: number;
  pending: number;
  delivered: number;
  failed: number;
  dropped: number;
}

const { version } = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
export const EMULATOR_VERSION = version;

const port = (value: unknown): string | undefined => (Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 65_535 ? undefined : `must be a port from 0 to 65535, got ${kindOf(value)}`);
const share = (value: unknown): string | undefined => (typeof value === 'number' && value >= 0 && value <= 1 ? undefined : `must be a number from 0 to 1, got ${kindOf(value)}`);
const BEHAVIOUR_OPTIONS: OptionTable = {
  durationMs: { check: checks.wholeNumber, example: '{ "durationMs": 60000 } (emulated milliseconds)' },
  failureRatio: { check: share, example: '{ "failureRatio": 0.1 }' },
  silentRatio: { check: share, example: '{ "silentRatio": 0.02 }' },
  startSpread: { check: (value) => (typeof value === 'number' && value >= 0 && value <= 1000 ? undefined : `must be a number from 0 to 1000, got ${kindOf(value)}`), example: '{ "startSpread": 0.1 } (a share of durationMs)' },
  durationSpread: { check: (value) => (typeof value === 'number' && value >= 0 && value < 1 ? undefined : `must be a number from 0 to under 1, got ${kindOf(value)}`), example: '{ "durationSpread": 0.2 } (80 % to 120 % of durationMs)' },
};
export const EMULATOR_OPTIONS: OptionTable = {
  port: { check: port, example: 'startPlatformEmulator({ port: 8743 })' },
  host: { check: checks.nonEmptyString, example: "startPlatformEmulator({ host: '127.0.0.1' })" },
  tls: { check: checks.object, example: 'startPlatformEmulator({ tls: { cert, key } })', keys: { cert: { check: checks.pem, example: '{ cert, key }' }, key: { check: checks.pem, example: '{ cert, key }' }, ca: { check: checks.pem, example: '{ cert, key, ca }' }, requestCert: { check: checks.oneOf(true, false), example: '{ cert, key, requestCert: true }' } } },
  receiverCa: { check: checks.pem, example: 'startPlatformEmulator({ receiverCa: readFileSync(\'receiver-ca.pem\') })' },
  speed: { check: (value) => (typeof value === 'number' && value > 0 && Number.isFinite(value) ? undefined : `must be a positive number, got ${kindOf(value)}`), example: 'startPlatformEmulator({ speed: 60 })' },
  seed: { check: (value) => (typeof value === 'number' && Number.isFinite(value) ? undefined : `must be a number, got ${kindOf(value)}`), example: 'startPlatformEmulator({ seed: 7 })' },
  devices: { check: checks.object, example: 'startPlatformEmulator({ devices: { durationMs: 60_000, failureRatio: 0.1 } })', keys: BEHAVIOUR_OPTIONS },
  app: { check: checks.object, example: "startPlatformEmulator({ app: { appId: 'my-app', secret } })", keys: { appId: { check: checks.nonEmptyString, example: '{ appId, secret }' }, secret: { check: checks.nonEmptyString, example: '{ appId, secret }' } } },
  tokenLifetimeS: { check: checks.wholeNumber, example: 'startPlatformEmulator({ tokenLifetimeS: 3600 })' },
  rateLimit: { check: checks.object, example: 'startPlatformEmulator({ rateLimit: { calls: 100, windowMs: 60_000 } })', keys: { calls: { check: checks.wholeNumber, example: '{ calls: 100, windowMs: 60_000 }' }, windowMs: { check: checks.wholeNumber, example: '{ calls: 100, windowMs: 60_000 }' } } },
  pushRules: {
    check: checks.object,
    example: 'startPlatformEmulator({ pushRules: { timeoutMs: 15_000 } })',
    keys: Object.fromEntries((['timeoutMs', 'keepMs', 'resendMs', 'invalidAfter', 'concurrency'] as const).map((key) => [key, { check: checks.wholeNumber, example: `{ pushRules: { ${key}: ${DEFAULT_PUSH_RULES[key]} } }` }])),
  },
};

export class PlatformEmulator {
  /** The northbound base URL, e.g. `https://127.0.0.1:41234`. */
  readonly url: string;
  /** The application's credentials, for `createPlatformClient`. */
  readonly appId: string;
  readonly secret: string;
  /** The version packages the emulator starts with: one software, one firmware. */
  readonly packages: { software: EmulatedPackage; firmware: EmulatedPackage };
  /** Flow control per application, as started. */
  readonly rateLimit: Readonly<{ calls: number; windowMs: number }>;
  /** The push rules' timings, as started. */
  readonly pushRules: Readonly<PushRules>;
  readonly #server: ListeningServer;
  readonly #clock: EmulatedClock;
  readonly #seed: number;
  readonly #apps: Apps;
  readonly #app: App;
  readonly #tasks: Tasks;
  readonly #pusher: Pusher;
  readonly #drops = new PushDrops();
  readonly #faults = new Faults();
  readonly #subscriptions = new Map<string, Map<string, Subscription>>();
  /** IoTDA's (API v5) batch tasks on the same server: the project's credentials, packages, forwarding. */
  readonly iotda: IotdaEmulation;

  /** Use `startPlatformEmulator`. */
  constructor(server: ListeningServer, options: PlatformEmulatorOptions) {
    this.#server = server;
    this.url = server.url;
    this.#clock = new EmulatedClock(options.speed ?? 1);
    this.#seed = options.seed ?? 1;
    this.rateLimit = { ...(options.rateLimit ?? DEFAULT_RATE_LIMIT) };
    this.pushRules = { ...DEFAULT_PUSH_RULES, ...options.pushRules };
    this.#apps = new Apps(this.#clock, { tokenLifetimeS: options.tokenLifetimeS ?? 3600, refreshLifetimeS: 86_400, rateLimit: this.rateLimit });
    this.#app = this.#apps.create(options.app?.appId, options.app?.secret);
    this.appId = this.#app.appId;
    this.secret = this.#app.secret;
    this.#pusher = new Pusher(this.#clock, this.pushRules, options.receiverCa, this.#drops);
    this.#tasks = new Tasks(
      this.#clock,
      (appId, body) => {
        const subscription = this.#subscriptions.get(appId)?.get(body.notifyType);
        if (subscription !== undefined) this.#pusher.send(appId, subscription.callbackUrl, body);
      },
      { seed: this.#seed, behaviour: { durationMs: 120_000, failureRatio: 0.1, silentRatio: 0, startSpread: 0.1, durationSpread: 0.2 } },
    );
    this.setBehaviour(options.devices ?? {});
    this.iotda = new IotdaEmulation(this.#clock, () => this.#tasks.behaviour, { seed: this.#seed, drops: this.#drops, ...(options.receiverCa !== undefined && { receiverCa: options.receiverCa }) });
    this.packages = {
      software: this.#tasks.addPackage({ fileType: 'softwarePackage', version: 'V2.1.0', fromVersion: 'V2.0.3' }),
      firmware: this.#tasks.addPackage({ fileType: 'firmwarePackage', version: 'FW_1.1.0', fromVersion: 'FW_1.0.7' }),
    };
  }

  /** Emulated epoch milliseconds. */
  now(): number {
    return this.#clock.now();
  }

  /** Moves the emulated clock forward: tokens expire, devices answer, re-send windows close. */
  advance(ms: number): void {
    // Checked before the clock moves: a time past what a Date holds (the year 275760) would break
    // every later call.
    if (!(Number.isInteger(ms) && ms >= 0 && Number.isFinite(new Date(this.now() + ms).getTime()))) {
      throw codedError('ERR_INVALID_ARG_VALUE', `advanceMs must be a whole number of milliseconds, at least 0, that keeps the clock within what a date holds; got ${String(ms)}`, { kind: TypeError });
    }
    this.#clock.advance(ms);
  }

  /** How many emulated milliseconds pass in one real millisecond. */
  get speed(): number {
    return this.#clock.speed;
  }

  /** How the devices of the next tasks behave. */
  get behaviour(): DeviceBehaviour {
    return { ...this.#tasks.behaviour };
  }

  /** Changes how the devices of the next tasks behave. */
  setBehaviour(behaviour: Partial<DeviceBehaviour>): DeviceBehaviour {
    // The control API hands over whatever JSON it was sent: a misspelt key must not pass unnoticed.
    checkOptions(behaviour, BEHAVIOUR_OPTIONS);
    const next = { ...this.#tasks.behaviour, ...behaviour };
    this.#tasks.behaviour = next;
    return next;
  }

  /** Adds a version package (the platform takes uploads in its console only, not by API). */
  addPackage(fields: Partial<EmulatedPackage> & { fileType: PackageType; version: string }): EmulatedPackage {
    // Checked here: the control API hands over whatever JSON it was sent.
    const { fileType, version } = fields as { fileType?: unknown; version?: unknown };
    if (!PACKAGE_TYPES.some((type) => type === fileType) || typeof version !== 'string' || version === '') {
      throw codedError('ERR_INVALID_ARG_VALUE', `a package needs fileType (${PACKAGE_TYPES.join(' or ')}) and version, a non-empty string, e.g. { "fileType": "softwarePackage", "version": "V2.2.0" }`, { kind: TypeError });
    }
    const { failureRatio, unverifiedRatio, modelFailureRatios, failWith } = fields as Record<string, unknown>;
    for (const [name, value] of Object.entries({ failureRatio, unverifiedRatio })) {
      if (value !== undefined && !(typeof value === 'number' && value >= 0 && value <= 1)) throw codedError('ERR_INVALID_ARG_VALUE', `a package's ${name} is a share from 0 to 1, got ${JSON.stringify(value)}`, { kind: TypeError });
    }
    if (modelFailureRatios !== undefined && !(typeof modelFailureRatios === 'object' && modelFailureRatios !== null && Object.values(modelFailureRatios).every((value) => typeof value === 'number' && value >= 0 && value <= 1))) {
      throw codedError('ERR_INVALID_ARG_VALUE', 'a package\'s modelFailureRatios maps a model to a share from 0 to 1, e.g. { "NB-2": 0.9 }', { kind: TypeError });
    }
    const known: readonly string[] = fileType === 'softwarePackage' ? softwareFailures.map((entry) => entry.errorCode) : firmwareFailures;
    if (failWith !== undefined && !known.includes(failWith as string)) throw codedError('ERR_INVALID_ARG_VALUE', `a package's failWith is one of ${known.map((entry) => JSON.stringify(entry)).join(', ')}, got ${JSON.stringify(failWith)}`, { kind: TypeError });
    return this.#tasks.addPackage(fields);
  }

  /** Gives devices a model (by device ID): a package's modelFailureRatios fail some models only. */
  setDeviceModels(models: Record<string, string>): void {
    // The control API hands over whatever JSON it was sent.
    const given: unknown = models;
    if (typeof given !== 'object' || given === null || !Object.values(given).every((model) => typeof model === 'string' && model !== '')) {
      throw codedError('ERR_INVALID_ARG_VALUE', 'device models map a device ID to a model, e.g. { "meter-1": "NB-2" }', { kind: TypeError });
    }
    this.#tasks.setModels(models);
  }

  /**
   * Makes a device group (the platform's groups are made in its console): a task that targets
   * `deviceGroups` upgrades every device of its groups, beyond the 256 IDs one task can list.
   */
  addDeviceGroup(name: string, deviceIds: string[]): void {
    if (typeof name !== 'string' || name === '' || !Array.isArray(deviceIds) || !deviceIds.every((id) => typeof id === 'string' && id !== '')) {
      throw codedError('ERR_INVALID_ARG_VALUE', 'a device group has a name and a list of device IDs', { kind: TypeError });
    }
    this.#tasks.groups.set(name, [...deviceIds]);
  }

  /** The next northbound calls (or pushes) fail as the fault says. */
  inject(fault: EmulatorFault): void {
    if (typeof fault !== 'object' || (fault as unknown) === null) throw codedError('ERR_INVALID_ARG_VALUE', 'a fault is an object with a kind, e.g. { "kind": "throttle" }', { kind: TypeError });
    if (fault.kind !== 'dropPushes') return this.#faults.add(fault);
    if (fault.ratio === undefined) return this.#drops.drop(fault.times ?? 1);
    if (!(fault.ratio >= 0 && fault.ratio <= 1)) throw codedError('ERR_INVALID_ARG_VALUE', 'a dropPushes ratio is between 0 and 1', { kind: TypeError });
    this.#drops.share({ ratio: fault.ratio, notifyType: fault.notifyType, random: seeded(this.#seed) });
  }

  /** The faults armed now, and how many times each still applies (`null`: a share of pushes dropped until `clearFaults()`). */
  faults(): Array<EmulatorFault & { left: number | null }> {
    return [...this.#faults.list(), ...this.#drops.armed()];
  }

  clearFaults(): void {
    this.#faults.clear();
    this.#drops.share(undefined);
  }

  /** Every upgrade task created, oldest first, with its application and package (retrospection, as LocalStack's). */
  tasks(): Array<UpgradeTask & { appId: string; fileId: string }> {
    return this.#tasks.all();
  }

  /** Every push the emulator made, in order, with what became of it. */
  pushes(filter: PushFilter = {}): PushRecord[] {
    return matching(this.#pusher.records, { ...filter });
  }

  pushSummary(filter: PushFilter = {}): PushSummary {
    const summary: PushSummary = { total: 0, pending: 0, delivered: 0, failed: 0, dropped: 0 };
    for (const record of this.pushes(filter)) {
      summary.total += 1;
      summary[record.status] += 1;
    }
    return summary;
  }

  /** Each callback URL pushed to: valid or invalid, failures in a row, pushes waiting. */
  callbacks(): CallbackState[] {
    return this.#pusher.callbacks();
  }

  /** Logins and refreshes of the application so far. */
  sessions(): { logins: number; refreshes: number } {
    return { logins: this.#app.logins, refreshes: this.#app.refreshes };
  }

  /**
   * Resolves when nothing is left to happen: every device that will answer has, and every push is
   * delivered, failed or dropped. Silent devices never answer; they do not hold this up.
   */
  async settled(pollMs = 20): Promise<void> {
    while (this.#clock.pending() > 0 || this.#pusher.pending() > 0 || this.iotda.pending() > 0) await new Promise((resolve) => setTimeout(resolve, pollMs));
  }

  async close(): Promise<void> {
    this.#clock.close();
    await this.#server.close();
    await this.#pusher.close();
    await this.iotda.close();
  }

  /** Answers one northbound request as the platform would, armed faults applied (the HTTP server's work). */
  async answer(request: EmulatorRequest): Promise<EmulatorAnswer> {
    try {
      const fault = this.#faults.take(request.path, request.path === paths.login || request.path === paths.refreshToken);
      if (fault?.kind === 'lost') return await new Promise<never>(() => {});
      if (fault?.kind === 'slow' && fault.when !== 'after') await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (fault?.kind === 'slow' && fault.when === 'after') {
        // Done at once, answered late: a caller that dies meanwhile never learns it was done.
        const done = this.#route(request);
        await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
        return done;
      }
      if (fault?.kind === 'expiredToken') throw new EmulatorError('tokenInvalid', fault.envelope ?? 'resultcode');
      if (fault?.kind === 'throttle') throw new EmulatorError('throttled');
      if (fault?.kind === 'pageCap') request.query.set('pageSize', String(Math.min(fault.pageSize, Number(request.query.get('pageSize') ?? 10))));
      if (fault?.kind === 'status') return { status: fault.status, body: new EmulatorError('internal').body() };
      return this.#route(request);
    } catch (error) {
      return errorAnswer(error);
    }
  }

  #route(request: EmulatorRequest): EmulatorAnswer {
    try {
      if (request.path.startsWith('/v5/')) return this.iotda.answer(request);
      return northbound({ apps: this.#apps, tasks: this.#tasks, subscriptions: this.#subscriptions }, request);
    } catch (error) {
      return errorAnswer(error);
    }
  }
}

/** A thrown emulator error as its answer; anything else is the request's fault (400). */
export function errorAnswer(error: unknown): EmulatorAnswer {
  if (error instanceof EmulatorError) return { status: error.status, body: error.body() };
  return { status: 400, body: new EmulatorError('badRequest', 'error_code', (error as Error).message).body() };
}

/** The server an emulator answers on: its base URL, and how to stop it. */
export interface ListeningServer {
  readonly url: string;
  close(): Promise<void>;
}
