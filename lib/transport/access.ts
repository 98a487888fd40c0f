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
   * Typed to take `undefined` so that `token: process.env.CALLBACK_TOKEN` compiles under
   * `exactOptionalPropertyTypes`; when the key is present, `undefined` (the variable unset) is refused
   * at creation with a TypeError, never taken as "no token".
   */
  token?: string | undefined;
  /**
   * 'enforce' (default): a caller that fails is answered 200 and emitted as `invalid` `forbidden`.
   * 'report': it is served as usual, and a `forbidden` event says it would have been refused: for a
   * first deployment, to see who calls before locking the door.
   */
  mode?: 'enforce' | 'report';
}

/** Returns why a caller is refused, or undefined when it may pass. */
export type AccessCheck = (ip: string | undefined, url: string) => string | undefined;

// RFC 3986 "unreserved": the characters a query value carries through any client and any decoder.
export const TOKEN_ALPHABET = /^[A-Za-z0-9._~-]+$/;

interface ParsedRule {
  address: string;
  type: 'ipv4' | 'ipv6';
  bits: number | undefined;
}

function parseRule(rule: unknown): ParsedRule | undefined {
  if (typeof rule !== 'string') return undefined;
  const [address = '', prefix, extra] = rule.trim().split('/');
  const type = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
  const bits = prefix === undefined ? undefined : Number(prefix);
  const maxBits = type === 'ipv4' ? 32 : 128;
  if (type === undefined || extra !== undefined || (bits !== undefined && !(Number.isInteger(bits) && bits >= 0 && bits <= maxBits))) return undefined;
  return { address, type, bits };
}

/** An IP address or CIDR range that allow.ips can take. */
export const isIpRule = (rule: unknown): boolean => parseRule(rule) !== undefined;

// Hashing first makes both sides the same length, which timingSafeEqual requires, without leaking
// the secret's length through an early return.
const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

function tokenOf(url: string): string | null {
  const query = url.indexOf('?');
  return query === -1 ? null : new URLSearchParams(url.slice(query + 1)).get('token');
}

/** The check for options already validated (options.ts): undefined when nothing is to be checked. */
export function createAccessCheck(allow: AllowOptions | undefined): AccessCheck | undefined {
  if (allow === undefined || (allow.ips === undefined && allow.token === undefined)) return undefined;
  let allowed: BlockList | undefined;
  if (allow.ips !== undefined) {
    allowed = new BlockList();
    for (const rule of allow.ips) {
      const { address, type, bits } = parseRule(rule) as ParsedRule;
      if (bits === undefined) allowed.addAddress(address, type);
      else allowed.addSubnet(address, bits, type);
    }
  }
  const secret = allow.token === undefined ? undefined : digest(allow.token);

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
