// Huawei Cloud's AK/SK request signing, as its SDKs sign IoTDA calls: SDK-HMAC-SHA256, and the
// derived-key variant (V11-HMAC-SHA256, the key from HKDF-SHA256 over the date, region and service).
// The canonical request follows the official Node SDK's signer byte for byte (spec/iotda-sign.spec.ts
// signs the same requests with it): each path segment escaped and a trailing '/', the query sorted,
// every header sent signed, the body's SHA-256.
import { createHash, createHmac, hkdfSync } from 'node:crypto';
import { platformTime } from '../platform/contract';

export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** The keys a call is signed with; `derived` switches to the derived-key variant. */
export interface SigningKeys {
  ak: string;
  sk: string;
  /** The derived-key variant, for endpoints that ask for it (the SDK's `withDerivedPredicate`): the region and the service (`iotdm` for IoTDA). */
  derived?: { regionId: string; service: string };
}

export interface RequestToSign {
  method: string;
  /** The whole URL: scheme, host (and port), path, query. */
  url: URL;
  /** Every header that will be sent, but the ones signing adds (`host` and `X-Sdk-Date` are added). */
  headers: Readonly<Record<string, string>>;
  /** The body exactly as sent ('' for none). */
  body: string;
}

// RFC 3986 unreserved characters stay; everything else is %XX of its UTF-8 bytes, upper case.
const escape = (text: string): string =>
  encodeURIComponent(text).replace(/[!'()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
const hmac = (key: string, text: string): string => createHmac('sha256', key).update(text, 'utf8').digest('hex');

/** `20261207T080000Z` for a time in ms: the X-Sdk-Date of a call signed then. */
export const signingTime = platformTime;

function canonicalPath(pathname: string): string {
  // URL keeps the path as sent (escaped); the signer escapes the decoded segments.
  const path = pathname
    .split('/')
    .map((segment) => escape(decodeURIComponent(segment)))
    .join('/');
  return path.endsWith('/') ? path : `${path}/`;
}

function canonicalQuery(url: URL): string {
  const pairs = [...url.searchParams].map(([key, value]) => [escape(key), escape(value)] as const);
  pairs.sort(([a, aValue], [b, bValue]) => (a < b ? -1 : a > b ? 1 : aValue < bValue ? -1 : aValue > bValue ? 1 : 0));
  return pairs.map(([key, value]) => `${key}=${value}`).join('&');
}

/** The headers to send: those given, `host`, `X-Sdk-Date` and `Authorization`. */
export function signRequest(request: RequestToSign, keys: SigningKeys, nowMs: number): Record<string, string> {
  const date = signingTime(nowMs);
  const headers: Record<string, string> = { ...request.headers, host: request.url.host, 'X-Sdk-Date': date };
  const names = Object.keys(headers).sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1));
  const signedHeaders = names.map((name) => name.toLowerCase()).join(';');
  const canonicalHeaders = Object.entries(headers)
    .sort(([a], [b]) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1))
    .map(([name, value]) => `${name.toLowerCase()}:${value}\n`)
    .join('');
  const canonicalRequest = [
    request.method.toUpperCase(),
    canonicalPath(request.url.pathname),
    canonicalQuery(request.url),
    canonicalHeaders,
    signedHeaders,
    request.body === '' ? EMPTY_BODY_SHA256 : sha256(request.body),
  ].join('\n');
  if (keys.derived === undefined) {
    const signature = hmac(keys.sk, ['SDK-HMAC-SHA256', date, sha256(canonicalRequest)].join('\n'));
    headers.Authorization = `SDK-HMAC-SHA256 Access=${keys.ak}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return headers;
  }
  const info = `${date.slice(0, 8)}/${keys.derived.regionId}/${keys.derived.service}`;
  const derivedKey = Buffer.from(hkdfSync('sha256', keys.sk, keys.ak, info, 32)).toString('hex');
  const signature = hmac(derivedKey, ['V11-HMAC-SHA256', date, info, sha256(canonicalRequest)].join('\n'));
  headers.Authorization = `V11-HMAC-SHA256 Credential=${keys.ak}/${info}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
}

/** What an Authorization header says, for a server checking it (the emulator). */
export interface ParsedAuthorization {
  algorithm: 'SDK-HMAC-SHA256' | 'V11-HMAC-SHA256';
  ak: string;
  /** V11 only: `yyyymmdd/region/service`. */
  info: string | undefined;
  signedHeaders: string[];
  signature: string;
}

export function parseAuthorization(header: string | undefined): ParsedAuthorization | undefined {
  const match = /^(?:SDK-HMAC-SHA256 Access=([^,\s]+)|V11-HMAC-SHA256 Credential=([^/,\s]+\/[^,\s]+)), SignedHeaders=([^,\s]+), Signature=([0-9a-f]{64})$/.exec(header ?? '');
  if (match === null) return undefined;
  const [, access, credential, signed, signature] = match as unknown as [string, string | undefined, string | undefined, string, string];
  const signedHeaders = signed.split(';');
  if (access !== undefined) return { algorithm: 'SDK-HMAC-SHA256', ak: access, info: undefined, signedHeaders, signature };
  const [ak, ...info] = (credential as string).split('/');
  return { algorithm: 'V11-HMAC-SHA256', ak: ak as string, info: info.join('/'), signedHeaders, signature };
}
