// What the fold keeps of a push's text. No schema field has a maximum length and any sender can post
// while `allow` is off, so every text is cut to MAX_TEXT characters (as a fresh copy: a slice of a
// 57 KB string would keep the whole string alive), and repeated values (versions, states, error codes
// and texts, the same for thousands of devices) are kept once.

/** Characters kept of any text; the platform's identifiers are documented as String(256) where a length is given. */
export const MAX_TEXT = 256;

/** Bytes a string of `length` characters costs at most on V8's heap (two-byte, with its header). */
export const weighText = (value: string | null): number => (value === null ? 0 : 24 + 2 * value.length);

/** `value` cut to MAX_TEXT characters, copied when cut (never a view into the longer string). */
export function cut(value: string): string {
  if (value.length <= MAX_TEXT) return value;
  return Buffer.from(value.slice(0, MAX_TEXT), 'utf16le').toString('utf16le');
}

/**
 * Repeated values kept once, up to `maxBytes` of them (past it, values are kept per device, where they
 * are weighed anyway); `bytes` is what the table itself holds.
 */
export class SharedStrings {
  readonly #values = new Map<string, string>();
  readonly #maxBytes: number;
  bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** `value` cut, and the copy already held when there is one. */
  keep(value: string): string {
    const text = cut(value);
    const held = this.#values.get(text);
    if (held !== undefined) return held;
    const weight = weighText(text) + 40;
    if (this.bytes + weight <= this.#maxBytes) {
      this.#values.set(text, text);
      this.bytes += weight;
    }
    return text;
  }

  keepOrNull(value: string | undefined): string | null {
    return value === undefined ? null : this.keep(value);
  }
}
