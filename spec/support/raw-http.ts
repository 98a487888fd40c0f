import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tick } from './wait';

export interface RawReply {
  /** Everything the server wrote, as latin1 text. */
  text: string;
  /** Status codes of the responses in `text`, in order (100 Continue included). */
  statuses: number[];
  /** The socket ended with an error (a reset) rather than a clean close. */
  reset: boolean;
}

/**
 * Writes `parts` to a raw TCP connection, waiting `pauseMs` between them, and resolves with what the
 * server answered once it closes the connection (or after `waitMs`, for a server that keeps it open).
 * For requests a well-behaved HTTP client cannot send: partial bodies, stalls, pipelining, bad bytes.
 */
export async function rawRequest(
  port: number,
  parts: Array<string | Buffer>,
  { pauseMs = 0, waitMs = 3000, abortAfterWrite = false } = {},
): Promise<RawReply> {
  const socket: Socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let text = '';
  let reset = false;
  socket.on('data', (data: Buffer) => (text += data.toString('latin1')));
  socket.on('error', () => (reset = true));
  const closed = closeOf(socket);
  for (const part of parts) {
    if (socket.destroyed) break;
    socket.write(part);
    // eslint-disable-next-line no-restricted-syntax -- a client that sends its request in parts, with pauses, is the case under test
    if (pauseMs > 0) await tick(pauseMs);
  }
  if (abortAfterWrite) {
    // eslint-disable-next-line no-restricted-syntax -- the request is written before the client aborts it
    await tick(30);
    socket.destroy();
  }
  const timer = setTimeout(() => socket.destroy(), waitMs);
  await closed;
  clearTimeout(timer);
  const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]));
  return { text, statuses, reset };
}

/** A complete HTTP/1.1 POST with a Content-Length, as bytes. */
export function post(path: string, body: string | Buffer, headers: Record<string, string> = {}): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const lines = [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1', `Content-Length: ${bytes.length}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), bytes]);
}

/** Resolves when the socket closes, reset or not (events.once would reject on the reset's error). */
export function closeOf(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

/** A server for `handler` on a free loopback port. */
export async function listenOn(handler: RequestListener): Promise<{ server: Server; port: number }> {
  const server = createServer(handler).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}
