import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIPv4, isIPv6 } from 'node:net';

export interface AllowOptions {
  /**
   * Addresses and CIDR ranges, IPv4 and IPv6 ('203.0.113.0/24', '2001:db8::/32', '198.51.100.7').
   * Checked against Express's `req.ip` (so `trust proxy` applies), else the socket's address; an
   * IPv4 caller seen as IPv4-mapped IPv6 ('::ffff:203.0.113.9') matches the IPv4 rules.
   */
  ips?: readonly string[];
  /** A secret that must equal the callback URL's `token` query parameter (compared in constant time). */
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

export function createAccessCheck(allow: AllowOptions | undefined): AccessCheck | undefined {
  if (allow === undefined || (allow.ips === undefined && allow.token === undefined)) return undefined;
  let allowed: BlockList | undefined;
  if (allow.ips !== undefined) {
    allowed = new BlockList();
    for (const rule of allow.ips) addRule(allowed, rule);
  }
  const secret = allow.token === undefined ? undefined : digest(allow.token);
  if (allow.token === '') throw new TypeError('huawei-iot-upgrade-router: allow.token must not be empty');

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
