import { isUtf8 } from 'node:buffer';
import { parse as secureParse } from 'secure-json-parse';
import { describeThrown } from './thrown';

export type ParseResult = { ok: true; value: unknown } | { ok: false; message: string };

// JSON.parse keeps a "__proto__" key as an own property, and a merge helper in a listener would turn
// it into prototype pollution; secure-json-parse removes such keys (and constructor.prototype), and
// only walks the object when a regular expression finds one in the text, so clean bodies cost little.
const removePrototypeKeys = { protoAction: 'remove', constructorAction: 'remove' } as const;

/**
 * JSON exchanged between systems is UTF-8 (RFC 8259, section 8.1), and the platform documents UTF-8;
 * the body is decoded as UTF-8 whatever charset the Content-Type names, and bytes that are not valid
 * UTF-8 are refused rather than silently replaced.
 */
export function parseBytes(bytes: Buffer): ParseResult {
  if (!isUtf8(bytes)) return { ok: false, message: 'body is not valid UTF-8' };
  return parseText(bytes.toString('utf8'));
}

export function parseText(text: string): ParseResult {
  if (text.trim() === '') return { ok: false, message: 'body is empty' };
  try {
    return { ok: true, value: secureParse(text, undefined, removePrototypeKeys) as unknown };
  } catch (error) {
    return { ok: false, message: `body is not JSON: ${(error as Error).message}` };
  }
}

/**
 * For a body some other code already parsed: written out as JSON and read back, so that listeners get
 * plain JSON data with the same clean-up as parseText gives, and a value JSON cannot hold (a cycle, a
 * getter or toJSON that throws, a BigInt, a revoked proxy) is refused instead of hanging or throwing.
 */
export function parseValue(value: unknown): ParseResult {
  // JSON.stringify returns undefined for undefined, a function or a symbol, whatever its type says.
  let text: string | undefined;
  try {
    const written: unknown = JSON.stringify(value);
    text = typeof written === 'string' ? written : undefined;
  } catch (error) {
    return { ok: false, message: `body is not JSON data: ${describeThrown(error)}` };
  }
  return text === undefined ? { ok: false, message: `body is ${typeof value}, not JSON data` } : parseText(text);
}

/** The bytes of a body given as a Buffer, another Uint8Array view or an ArrayBuffer; undefined for anything else. */
export function bytesOf(body: unknown): Buffer | undefined {
  if (Buffer.isBuffer(body)) return body;
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof ArrayBuffer || body instanceof SharedArrayBuffer) return Buffer.from(body);
  return undefined;
}
