import { isUtf8 } from 'node:buffer';
import { parse as secureParse } from 'secure-json-parse';
import { describeThrown } from './thrown';

/** A JSON object (not null, not an array): what a notification, or an options object, must be. */
export const isJsonObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A body read as JSON, with the bytes it came from when it came as bytes or text. */
export type ParseResult = ({ ok: true; value: unknown } | { ok: false; message: string }) & { raw?: Buffer };

// JSON.parse keeps a "__proto__" key as an own property, and a merge helper in a listener would turn
// it into prototype pollution; secure-json-parse removes such keys (and constructor.prototype), and
// only walks the object when a regular expression finds one in the text, so clean bodies cost little.
const removePrototypeKeys = { protoAction: 'remove', constructorAction: 'remove' } as const;

/**
 * secure-json-parse runs two regular expressions over every body, which cost more than the parse of a
 * notification. A key can only spell __proto__ or constructor literally or with \u escapes,
 * so a body holding neither word nor a backslash-u, nor a byte-order mark (which JSON.parse refuses and
 * secure-json-parse strips), goes to JSON.parse directly.
 */
function mayHidePrototypeKeys(text: string): boolean {
  return text.charCodeAt(0) === 0xfeff || text.includes('\\u') || text.includes('__proto__') || text.includes('constructor');
}

/**
 * JSON exchanged between systems is UTF-8 (RFC 8259, section 8.1), and the platform documents UTF-8;
 * the body is decoded as UTF-8 whatever charset the Content-Type names, and bytes that are not valid
 * UTF-8 are refused rather than silently replaced.
 */
export function parseBytes(bytes: Buffer): ParseResult {
  if (!isUtf8(bytes)) return { ok: false, message: 'body is not valid UTF-8', raw: bytes };
  return parseText(bytes.toString('utf8'), bytes);
}

// `raw` is set in the literal itself: copying the result to add it (a spread) cost about 1 µs a
// request in the profile of the node:http path.
export function parseText(text: string, raw: Buffer = Buffer.from(text)): ParseResult {
  if (text.trim() === '') return { ok: false, message: 'body is empty', raw };
  try {
    return { ok: true, value: (mayHidePrototypeKeys(text) ? secureParse(text, undefined, removePrototypeKeys) : JSON.parse(text)) as unknown, raw };
  } catch (error) {
    return { ok: false, message: `body is not JSON: ${(error as Error).message}`, raw };
  }
}

/**
 * For a body some other code already parsed: the same clean-up as parseText gives (`__proto__` and
 * `constructor.prototype` keys removed), in a walk that remembers what it has visited, so that a cycle
 * cannot hang it (secure-json-parse's own scan loops for ever on one). A getter or
 * proxy that throws while it is read makes the body malformed instead of throwing at the caller.
 */
export function parseValue(value: unknown): ParseResult {
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return { ok: false, message: `body is ${typeof value}, not JSON data` };
  if (typeof value !== 'object' || value === null) return { ok: true, value };
  try {
    scrubPrototypeKeys(value);
  } catch (error) {
    return { ok: false, message: `body cannot be read: ${describeThrown(error)}` };
  }
  return { ok: true, value };
}

function scrubPrototypeKeys(root: object): void {
  // Both created on the first nested object: a flat notification, the usual case, needs neither.
  let pending: object[] | undefined;
  let visited: Set<object> | undefined;
  for (let node: object | undefined = root; node !== undefined; node = pending?.pop()) {
    if (visited?.has(node) === true) continue;
    const fields = node as Record<string, unknown>;
    if (Object.hasOwn(fields, '__proto__')) delete fields['__proto__'];
    const ctor = Object.hasOwn(fields, 'constructor') ? fields['constructor'] : undefined;
    if (typeof ctor === 'object' && ctor !== null && Object.hasOwn(ctor, 'prototype')) delete fields['constructor'];
    for (const key in fields) {
      const child = fields[key];
      if (typeof child === 'object' && child !== null) {
        visited ??= new Set([root]);
        visited.add(node);
        (pending ??= []).push(child);
      }
    }
  }
}

/** The bytes of a body given as a Buffer, another Uint8Array view or an ArrayBuffer; undefined for anything else. */
export function bytesOf(body: unknown): Buffer | undefined {
  if (ArrayBuffer.isView(body)) return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof ArrayBuffer || body instanceof SharedArrayBuffer) return Buffer.from(body);
  return undefined;
}
