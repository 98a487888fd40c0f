// Applications as the platform keeps them: appId and secret, the one valid access token (each login
// replaces the last), its expiry, refresh tokens, and the per-application flow control.
import { randomBytes } from 'node:crypto';
import { platformErrors, type AccessToken, type PlatformErrorName } from '../platform/contract';
import type { EmulatedClock } from './clock';

/** A refusal the emulator answers with, in the platform's status, code and envelope. */
export class EmulatorError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(
    readonly errorName: PlatformErrorName,
    /** The expired-token error is seen in the `resultcode` envelope (northbound.md §1.4). */
    readonly envelope: 'error_code' | 'resultcode' = 'error_code',
    description?: string,
  ) {
    const error = platformErrors[errorName];
    super(description ?? error.description);
    this.status = error.status;
    this.code = error.code;
  }

  body(): Record<string, string> {
    return this.envelope === 'resultcode' ? { resultcode: this.code, resultmsg: this.message } : { error_code: this.code, error_desc: this.message };
  }
}

export interface App {
  appId: string;
  secret: string;
  accessToken?: { value: string; expiresAt: number };
  refreshToken?: { value: string; expiresAt: number };
  /** Emulated start times of the calls in the current window. */
  calls: number[];
  logins: number;
  refreshes: number;
}

export interface AppsOptions {
  /** The `expiresIn` the platform answers: 3600 s. */
  tokenLifetimeS: number;
  /** Refresh tokens live 24 h (API reference) or a month (SDK reference): 24 h here. */
  refreshLifetimeS: number;
  rateLimit: { calls: number; windowMs: number };
}

// Letters and digits only, as the platform's are: a base64url id that began with "-" (one in 64) was
// taken by a command line for an option (--app-id -x...).
const secretText = (bytes: number): string => randomBytes(bytes).toString('base64url').replace(/[-_]/g, (c) => (c === '-' ? 'A' : 'B'));

export class Apps {
  readonly #apps = new Map<string, App>();

  constructor(
    private readonly clock: EmulatedClock,
    private readonly options: AppsOptions,
  ) {}

  create(appId = secretText(21), secret = secretText(21)): App {
    const app: App = { appId, secret, calls: [], logins: 0, refreshes: 0 };
    this.#apps.set(appId, app);
    return app;
  }

  login(appId: string | undefined, secret: string | undefined): AccessToken {
    if (!appId || !secret) throw new EmulatorError('parameterMissing');
    const app = this.#apps.get(appId);
    if (app === undefined || app.secret !== secret) throw new EmulatorError('wrongSecret');
    app.logins += 1;
    return this.#issue(app);
  }

  refresh(appId: string | undefined, secret: string | undefined, refreshToken: string | undefined): AccessToken {
    if (!appId || !secret || !refreshToken) throw new EmulatorError('parameterMissing');
    const app = this.#apps.get(appId);
    if (app === undefined || app.secret !== secret || app.refreshToken?.value !== refreshToken || app.refreshToken.expiresAt <= this.clock.now()) {
      throw new EmulatorError('wrongSecret', 'error_code', 'appId, secret or refreshToken is not right.');
    }
    app.refreshes += 1;
    return this.#issue(app);
  }

  /** The application a call's headers prove, counted against its flow control. */
  authorize(appId: string | undefined, authorization: string | undefined): App {
    const app = appId === undefined ? undefined : this.#apps.get(appId);
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (app?.accessToken === undefined || token !== app.accessToken.value || app.accessToken.expiresAt <= this.clock.now()) {
      throw new EmulatorError('tokenInvalid', 'resultcode');
    }
    this.count(app);
    return app;
  }

  count(app: App): void {
    const now = this.clock.now();
    const { calls, windowMs } = this.options.rateLimit;
    while (app.calls.length > 0 && (app.calls[0] as number) <= now - windowMs) app.calls.shift();
    if (app.calls.length >= calls) throw new EmulatorError('throttled');
    app.calls.push(now);
  }

  /** Each login or refresh makes the application's previous access token invalid. */
  #issue(app: App): AccessToken {
    const now = this.clock.now();
    app.accessToken = { value: secretText(24), expiresAt: now + this.options.tokenLifetimeS * 1000 };
    app.refreshToken = { value: secretText(24), expiresAt: now + this.options.refreshLifetimeS * 1000 };
    return { scope: 'default', tokenType: 'Bearer', expiresIn: this.options.tokenLifetimeS, accessToken: app.accessToken.value, refreshToken: app.refreshToken.value };
  }
}
