// The access token of one application. The platform keeps only the newest token of an appId ("only
// the last accessToken is valid ... do not obtain it concurrently", northbound.md §1.1), so every
// client of the same platform URL, appId, secret and TLS settings in this process shares one session,
// and a session logs in once at a time: concurrent callers wait for the same login. A client with
// another secret (a wrong one) or other TLS settings has a session of its own: it never rides on a
// token that someone else's credentials obtained.
import { createHash } from 'node:crypto';
import type { AccessToken } from './contract';

/** How a session reaches the platform: the calling client's own login and refresh calls. */
export interface TokenCalls {
  login(): Promise<AccessToken>;
  refresh(refreshToken: string): Promise<AccessToken>;
}

interface Held {
  accessToken: string;
  refreshToken: string;
  /** performance.now() after which the token is renewed before use. */
  renewAt: number;
}

export class Session {
  #held: Held | undefined;
  #renewing: Promise<string> | undefined;
  /** How many logins and refreshes this session made: `client.stats()`. */
  logins = 0;
  refreshes = 0;

  /** A token believed valid: the held one, or a renewed one when it is close to expiry. */
  token(calls: TokenCalls): Promise<string> {
    const held = this.#held;
    if (held !== undefined && performance.now() < held.renewAt) return Promise.resolve(held.accessToken);
    return this.#renew(calls, held?.refreshToken);
  }

  /** A login now, whatever is held: it checks the address, the certificate and the credentials. */
  login(calls: TokenCalls): Promise<string> {
    this.#held = undefined;
    return this.#renew(calls, undefined);
  }

  /**
   * The platform refused `accessToken` (1010005): another login replaced it, or it expired early.
   * A refresh token is no help then; the next `token()` logs in, once for all callers.
   */
  relogin(calls: TokenCalls, accessToken: string): Promise<string> {
    if (this.#held !== undefined && this.#held.accessToken !== accessToken) return Promise.resolve(this.#held.accessToken);
    this.#held = undefined;
    return this.#renew(calls, undefined);
  }

  #renew(calls: TokenCalls, refreshToken: string | undefined): Promise<string> {
    this.#renewing ??= (async () => {
      try {
        let answer: AccessToken | undefined;
        if (refreshToken !== undefined) {
          this.refreshes += 1;
          // A refused refresh (expired or unknown refresh token) falls back to a login.
          answer = await calls.refresh(refreshToken).catch(() => undefined);
        }
        if (answer === undefined) {
          this.logins += 1;
          answer = await calls.login();
        }
        // expiresIn is documented as 3600 seconds, but one doc example and one SDK fixture differ: use what came.
        const lifetimeMs = Math.max(0, Number(answer.expiresIn) * 1000 || 0);
        this.#held = { accessToken: answer.accessToken, refreshToken: answer.refreshToken, renewAt: performance.now() + lifetimeMs - Math.min(60_000, lifetimeMs / 10) };
        return answer.accessToken;
      } finally {
        this.#renewing = undefined;
      }
    })();
    return this.#renewing;
  }
}

const sessions = new Map<string, Session>();

/** What a session is keyed by beside the URL and appId: a digest of the secret and the TLS settings, never the secret itself. */
export function credentialsDigest(parts: ReadonlyArray<string | boolean | undefined>): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(`${part === undefined ? '' : String(part)}\0`);
  return hash.digest('hex');
}

/** The one session of `appId` with these credentials on the platform at `url` in this process. */
export function sessionOf(url: string, appId: string, credentials: string): Session {
  const key = `${url}\n${appId}\n${credentials}`;
  let session = sessions.get(key);
  if (session === undefined) {
    session = new Session();
    sessions.set(key, session);
  }
  return session;
}
