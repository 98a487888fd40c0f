import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIPv4, isIPv6 } from 'node:net';

export interface AllowOptions {
  /**
   * Addresses and CIDR ranges, IPv4 and IPv6 ('203.0.113.0/24', '2001:db8::/32', '198.51.100.7').
   * Checked against Express's `req.ip` (so `trust proxy` applies), else the socket's address; an
   * IPv4 caller seen as IPv4-mapped IPv6 ('::ffff:203.0.113.9') matches the IPv4 rules.
   */
  ips?: readonly string[];
  /**
   * A secret that must equal the callback URL's `token` query parameter (compared in constant time).
   * Only the characters a URL carries unchanged are accepted: letters, digits and `-._~` (a `+` would
   * arrive as a space, a `%` or `&` would be decoded or split). `openssl rand -hex 32` makes one.
   */
  token?: string;
}

/** Returns why a caller is refused, or undefined when it may pass. */
export type AccessCheck = (ip: string | undefined, url: string) => string | undefined;

function addRule(list: BlockList, rule: string): void {
  const [address = '', prefix, extra] = rule.trim().split('/');
  const type = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
  const bits = prefix === undefined ? undefined : Number(prefix);
  const maxBits = type === 'ipv4' ? 32 : 128;
  if (type === undefined || extra !== undefined || (bits !== undefined && !(Number.isInteger(bits) && bits >= 0 && bits <= maxBits))) {
    throw new TypeError(`huawei-iot-upgrade-router: allow.ips has ${JSON.stringify(rule)}, which is not an IP address or CIDR range`);
  }
  if (bits === undefined) list.addAddress(address, type);
  else list.addSubnet(address, bits, type);
}

// Hashing first makes both sides the same length, which timingSafeEqual requires, without leaking
// the secret's length through an early return.
const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

function tokenOf(url: string): string | null {
  const query = url.indexOf('?');
  return query === -1 ? null : new URLSearchParams(url.slice(query + 1)).get('token');
}

// RFC 3986 "unreserved": the characters a query value carries through any client and any decoder.
const TOKEN_ALPHABET = /^[A-Za-z0-9._~-]+$/;

const refuse = (message: string): never => {
  throw new TypeError(`huawei-iot-upgrade-router: ${message}`);
};

// A key that is present must hold a usable value: `token: process.env.CALLBACK_TOKEN` with the
// variable unset turned access control off without a word (issue 9, item 5).
function ipRules(ips: unknown): BlockList {
  if (!Array.isArray(ips)) return refuse(`allow.ips must be an array of addresses or CIDR ranges, such as ['203.0.113.0/24'], got ${describe(ips)}`);
  if (ips.length === 0) return refuse('allow.ips is empty, which would refuse every caller; leave it out to accept any address');
  const list = new BlockList();
  for (const rule of ips as unknown[]) {
    if (typeof rule !== 'string') refuse(`allow.ips has ${describe(rule)}, which is not an IP address or CIDR range`);
    addRule(list, rule as string);
  }
  return list;
}

function tokenDigest(token: unknown): Buffer {
  if (typeof token !== 'string' || token === '') return refuse(`allow.token must be a non-empty string, got ${describe(token)}`);
  if (!TOKEN_ALPHABET.test(token)) {
    refuse('allow.token may hold only letters, digits and - . _ ~ (other characters change on their way through a URL); `openssl rand -hex 32` makes one');
  }
  return digest(token);
}

function describe(value: unknown): string {
  return value === undefined ? 'undefined' : typeof value === 'string' ? JSON.stringify(value) : typeof value;
}

export function createAccessCheck(allow: AllowOptions | undefined): AccessCheck | undefined {
  if (allow === undefined) return undefined;
  const given: unknown = allow; // from JavaScript, or from a configuration file, it may be anything
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    refuse(`allow must be an object such as { ips: ['203.0.113.0/24'], token: '...' }, got ${describe(allow)}`);
  }
  const allowed = Object.hasOwn(allow, 'ips') ? ipRules(allow.ips) : undefined;
  const secret = Object.hasOwn(allow, 'token') ? tokenDigest(allow.token) : undefined;
  if (allowed === undefined && secret === undefined) return undefined;

  return (ip, url) => {
    if (allowed !== undefined) {
      const type = ip !== undefined && isIPv4(ip) ? 'ipv4' : 'ipv6';
      if (ip === undefined || !(isIPv4(ip) || isIPv6(ip)) || !allowed.check(ip, type)) return `caller ${ip ?? '(unknown)'} is not in allow.ips`;
    }
    if (secret !== undefined) {
      const given = tokenOf(url);
      if (given === null) return 'the callback URL has no token parameter';
      if (!timingSafeEqual(digest(given), secret)) return 'the token parameter does not match allow.token';
    }
    return undefined;
  };
}
