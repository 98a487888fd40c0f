import { isUtf8 } from 'node:buffer';
import { parse as secureParse, scan } from 'secure-json-parse';

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

/** For a body some other middleware already parsed: the same clean-up as parseText gives. */
export function cleanParsed(value: unknown): unknown {
  if (typeof value === 'object' && value !== null) scan(value, removePrototypeKeys);
  return value;
}
