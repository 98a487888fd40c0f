// The live streams behind the page (Server-Sent Events): bounded in number, in lifetime and in what
// a slow reader can make the server hold. Each message names the tasks that changed, so that a tab
// reloads only what it shows.
import type { IncomingMessage, ServerResponse } from 'node:http';

const THROTTLE_MS = 250;
const HEARTBEAT_MS = 15_000;
/** A stream is ended after this by default (give or take a tenth); the browser's EventSource opens a new one a second later. */
export const STREAM_LIFETIME_MS = 5 * 60_000;
/** A reader that has not taken what was written for this long is cut off. */
const STALLED_MS = 30_000;
/** More changed tasks than this in one message is sent as "everything changed". */
const NAMES = 100;

interface Stream {
  res: ServerResponse;
  /** The socket's buffer is full: nothing is written until it drains; what changed meanwhile is owed. */
  blockedAt: number | undefined;
  owed: Set<string> | 'all' | undefined;
  end: NodeJS.Timeout;
}

const merge = (into: Set<string> | 'all' | undefined, names: Set<string> | 'all'): Set<string> | 'all' => {
  if (into === 'all' || names === 'all') return 'all';
  const all = new Set([...(into ?? []), ...names]);
  return all.size > NAMES ? 'all' : all;
};

export class ChangeStreams {
  readonly #streams = new Set<Stream>();
  readonly #max: number;
  readonly #lifetimeMs: number;
  readonly #heartbeat: NodeJS.Timeout;
  #pending: Set<string> | 'all' | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(max: number, lifetimeMs = STREAM_LIFETIME_MS) {
    this.#max = max;
    this.#lifetimeMs = lifetimeMs;
    this.#heartbeat = setInterval(() => this.#beat(), HEARTBEAT_MS).unref();
  }

  get size(): number {
    return this.#streams.size;
  }

  /** Opens a stream on `res`; false when as many are open as allowed (the caller answers 503). */
  open(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.#streams.size >= this.#max) return false;
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Content-Type-Options': 'nosniff' });
    // The browser reconnects by itself a second after the stream ends or breaks.
    res.write('retry: 1000\n\n');
    const lifetime = this.#lifetimeMs * (0.9 + Math.random() * 0.2);
    const stream: Stream = { res, blockedAt: undefined, owed: undefined, end: setTimeout(() => res.end(), lifetime).unref() };
    this.#streams.add(stream);
    res.on('drain', () => {
      stream.blockedAt = undefined;
      const { owed } = stream;
      stream.owed = undefined;
      if (owed !== undefined) this.#write(stream, owed);
    });
    const forget = (): void => {
      clearTimeout(stream.end);
      this.#streams.delete(stream);
    };
    req.on('close', forget);
    res.on('close', forget);
    return true;
  }

  /** Tells every stream, within a quarter second, that `operationId` changed. */
  changed(operationId: string): void {
    if (this.#streams.size === 0) return;
    this.#pending = merge(this.#pending, new Set([operationId]));
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const names = this.#pending;
      this.#pending = undefined;
      if (names !== undefined) for (const stream of this.#streams) this.#write(stream, names);
    }, THROTTLE_MS);
  }

  close(): void {
    clearInterval(this.#heartbeat);
    clearTimeout(this.#timer);
    for (const stream of this.#streams) {
      clearTimeout(stream.end);
      stream.res.end();
    }
    this.#streams.clear();
  }

  #write(stream: Stream, names: Set<string> | 'all'): void {
    if (stream.blockedAt !== undefined) {
      stream.owed = merge(stream.owed, names);
      return;
    }
    const data = JSON.stringify({ tasks: names === 'all' ? null : [...names], at: Date.now() });
    if (!stream.res.write(`event: change\ndata: ${data}\n\n`)) stream.blockedAt = Date.now();
  }

  #beat(): void {
    const now = Date.now();
    for (const stream of this.#streams) {
      if (stream.blockedAt === undefined) {
        if (!stream.res.write(': still here\n\n')) stream.blockedAt = now;
      } else if (now - stream.blockedAt > STALLED_MS) stream.res.destroy();
    }
  }
}
