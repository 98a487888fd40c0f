import { randomBytes } from 'node:crypto';

/**
 * A keyed 64-bit digest of a notification's documented fields, written without allocating:
 * the generated `dedupeDigests` feed it each field's length and UTF-16 code units, and it leaves the
 * result in `hi` and `lo`. It is what the in-memory duplicate store keeps: two 32-bit numbers per
 * notification instead of a string, so a flood of new notifications gives the garbage collector
 * nothing to do.
 *
 * Why this is enough against a sender who crafts bodies: to have a genuine result suppressed, a sender
 * must post, before it arrives, a different body with the same digest. The digest is keyed by 64
 * random bits drawn per store (never stored, logged or answered: every push gets the same 200 at once),
 * so the sender cannot compute digests, and nothing it can observe depends on them. What remains is a
 * difference in the input that cancels whatever the key, as MurmurHash3's key-independent block step
 * allows; here each code unit goes through a multiply and an xor-shift in two lanes of different
 * constants, so how a difference spreads depends on the state, hence on the key (the top-bit difference
 * that survives a multiply unchanged is folded down by the shift in the same step). It is not a MAC,
 * and it need not be: the digest never leaves the process. Lengths go in before each field, so fields
 * cannot run into each other. Accidental collisions among genuine notifications: with the 13 400
 * digests the default max can hold, under one in 2^49 per push. A shared store (Redis) and the journal
 * keep SHA-256 keys (dedupeKey), since their keys outlive the process and may be read by others.
 */
export class KeyedDigest {
  hi = 0;
  lo = 0;
  readonly #seedHi: number;
  readonly #seedLo: number;

  constructor(seed: Buffer = randomBytes(8)) {
    this.#seedHi = seed.readInt32LE(0);
    this.#seedLo = seed.readInt32LE(4);
  }

  /** A fresh digest for notifications of one type (its index): types never share a digest. */
  start(type: number): this {
    this.hi = this.#seedHi ^ type;
    this.lo = this.#seedLo;
    return this;
  }

  text(value: string): this {
    const length = value.length;
    let a = Math.imul(this.hi ^ length, 0x9e3779b1);
    let b = Math.imul(this.lo ^ length, 0x85ebca77);
    for (let i = 0; i < length; i += 1) {
      const unit = value.charCodeAt(i);
      a = Math.imul(a ^ unit, 0x9e3779b1);
      a ^= a >>> 15;
      b = Math.imul(b ^ unit, 0x85ebca77);
      b ^= b >>> 13;
    }
    this.hi = a;
    this.lo = b;
    return this;
  }

  /** A field the schema allows as a number or a string: 93 and "93" are the same re-send. */
  value(value: string | number): this {
    return this.text(typeof value === 'string' ? value : `${value}`);
  }

  /** Mixes the two lanes into each other, so that every input bit reaches all 64 output bits. */
  finish(): this {
    let a = this.hi ^ Math.imul(this.lo, 0xc2b2ae35);
    a ^= a >>> 16;
    a = Math.imul(a, 0x7feb352d);
    a ^= a >>> 15;
    let b = this.lo ^ Math.imul(a, 0x27d4eb2f);
    b ^= b >>> 16;
    b = Math.imul(b, 0x846ca68b);
    b ^= b >>> 16;
    this.hi = a;
    this.lo = b;
    return this;
  }
}
