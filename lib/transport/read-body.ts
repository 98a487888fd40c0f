import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

export type BodyResult =
  /** The whole body, with its Content-Encoding undone. */
  | { kind: 'body'; bytes: Buffer }
  /** Reading stopped at the limit; the rest of the request was not read. `raw`: the first `limit` bytes, when any were read. */
  | { kind: 'too_large'; complete: false; raw?: Buffer }
  /** The bytes could not be decoded; `complete` tells whether the request was read to its end. */
  | { kind: 'undecodable'; message: string; raw?: Buffer; complete: boolean }
  /** The sender went away (or the host destroyed the request) before the body could be read whole. */
  | { kind: 'aborted'; message: string };

// A Map, not an object literal: the header is the sender's, and `decoders['__proto__']` on a plain
// object is Object.prototype, whose call crashed the host.
const decoders = new Map<string, () => Readable & NodeJS.WritableStream>([
  ['gzip', createGunzip],
  ['x-gzip', createGunzip],
  ['deflate', createInflate],
  ['br', createBrotliDecompress],
]);

/**
 * Reads a request body, undoing gzip, deflate or br, and stops as soon as the decoded size passes
 * `limit` (a gzip bomb is cut off there, not inflated). Written on Node's streams rather than on
 * body-parser because body-parser reads an over-limit body to its end before it reports, and the
 * router must answer at once; see README, "Why not express.json()".
 *
 * `done` is called exactly once, whatever happens to the request: it ends, errors, is destroyed
 * before, during or after its last byte arrived (a destroyed stream drops what it had buffered, so
 * `req.complete` alone proves nothing), or was destroyed before this was called.
 */
export function readBody(req: IncomingMessage, limit: number, done: (result: BodyResult) => void): void {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  const makeDecoder = encoding === 'identity' ? undefined : decoders.get(encoding);
  if (req.destroyed) {
    // Destroyed before the router saw it (an async middleware before it while the sender left): its
    // 'close' has been emitted already and would never reach the listener below.
    done({ kind: 'aborted', message: 'the request was closed before the router could read its body' });
    return;
  }
  // Declared larger than the limit: answered at once, nothing read (a sender must not hold the
  // connection with a body that will be refused). A body found too large while reading keeps the
  // bytes read up to the limit, with the rejection and in the journal.
  if (makeDecoder === undefined && encoding === 'identity' && Number(req.headers['content-length']) > limit) {
    done({ kind: 'too_large', complete: false });
    return;
  }

  const decoder = makeDecoder?.();
  const source: Readable = decoder ?? req;
  const chunks: Buffer[] = [];
  let length = 0;
  let settled = false;

  // 'close' follows 'end' on every request, so a second call is normal and ignored. Listeners are
  // left to go with the request (unhooking them costs more than it saves on this path), except
  // when reading stops early: then no more data may reach onData.
  const finish = (result: BodyResult): void => {
    if (settled) return;
    settled = true;
    if (result.kind !== 'body') {
      source.off('data', onData);
      if (decoder) {
        req.unpipe(decoder);
        decoder.destroy();
      }
    }
    done(result);
  };
  const collected = (): Buffer => (chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length));

  function onData(chunk: Buffer): void {
    const before = length;
    length += chunk.length;
    if (length > limit) {
      req.pause();
      chunks.push(chunk.subarray(0, limit - before));
      length = limit;
      finish({ kind: 'too_large', complete: false, raw: collected() });
      return;
    }
    chunks.push(chunk);
  }
  function onEnd(): void {
    if (makeDecoder === undefined && encoding !== 'identity') {
      finish({ kind: 'undecodable', message: `unsupported Content-Encoding ${JSON.stringify(encoding)}`, raw: collected(), complete: true });
    } else {
      finish({ kind: 'body', bytes: collected() });
    }
  }

  source.on('data', onData);
  source.on('end', onEnd);
  // Closed before its 'end': whatever it had buffered is gone. With a decoder, the request ends first
  // and the decoder, which only finish() destroys, then ends or errors by itself.
  req.on('close', () => {
    if (!req.readableEnded) finish({ kind: 'aborted', message: `connection closed after ${length} bytes of the body` });
  });
  // Without an 'error' listener a stream error would be thrown; the outcomes come from 'close' and 'end'.
  req.on('error', noop);
  if (decoder) {
    decoder.on('error', (error: Error) => {
      finish({ kind: 'undecodable', message: `body is not valid ${encoding} data: ${error.message}`, complete: req.readableEnded });
    });
    req.pipe(decoder);
  }
}

function noop(): void {}
