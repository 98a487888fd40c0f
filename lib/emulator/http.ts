// `startPlatformEmulator`: the emulated platform over HTTP or HTTPS, its northbound API and the
// control surface under /_emulator for tests. Every answer carries the emulator's version in the
// `x-platform-emulator` header.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { checkOptions } from '../core/option-checks';
import { control } from './control';
import { EMULATOR_OPTIONS, EMULATOR_VERSION, PlatformEmulator, errorAnswer, type ListeningServer, type PlatformEmulatorOptions } from './emulator';
import type { EmulatorAnswer, EmulatorRequest } from './northbound';
import { codedError } from '../core/errors';

const MAX_BODY = 1024 * 1024;

async function readRequest(request: IncomingMessage): Promise<EmulatorRequest> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Read to the end even when too large: an answer sent mid-upload reaches the sender as a reset.
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_BODY) chunks.push(chunk);
  }
  if (size > MAX_BODY) throw new Error('the body is larger than 1 MB');
  const text = Buffer.concat(chunks).toString('utf8');
  const type = request.headers['content-type'] ?? '';
  const body: unknown = text === '' ? undefined : type.startsWith('application/x-www-form-urlencoded') ? Object.fromEntries(new URLSearchParams(text)) : JSON.parse(text);
  // A server's request always has its method and URL.
  const url = new URL(request.url as string, 'http://emulator');
  return { method: request.method as string, path: url.pathname, query: url.searchParams, headers: request.headers, body, raw: text, url: request.url as string };
}

async function handle(emulator: PlatformEmulator, request: IncomingMessage, response: ServerResponse): Promise<void> {
  response.setHeader('x-platform-emulator', EMULATOR_VERSION);
  let answer: EmulatorAnswer;
  try {
    const parsed = await readRequest(request);
    answer = parsed.path.startsWith('/_emulator') ? control(emulator, parsed) : await emulator.answer(parsed);
  } catch (error) {
    answer = errorAnswer(error);
  }
  if (answer.body === undefined) response.writeHead(answer.status, answer.headers).end();
  else response.writeHead(answer.status, { ...answer.headers, 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
}

function listening(server: Server, protocol: string): ListeningServer {
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `${protocol}://${host}:${address.port}`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Starts an emulator; resolves once it listens. */
export async function startPlatformEmulator(options: PlatformEmulatorOptions = {}): Promise<PlatformEmulator> {
  // The same checks as the router's options: a misspelt `sped: 60` used to run the emulator at 1x.
  checkOptions(options, EMULATOR_OPTIONS);
  const speed = options.speed ?? 1;
  if (!(speed > 0) || !Number.isFinite(speed)) throw codedError('ERR_INVALID_OPTION', 'startPlatformEmulator: speed must be a positive number', { kind: TypeError });
  const tls = options.tls;
  const server: Server =
    tls === undefined
      ? createHttpServer()
      : createHttpsServer({ cert: tls.cert, key: tls.key, ...(tls.ca !== undefined && { ca: tls.ca }), requestCert: tls.requestCert ?? false, rejectUnauthorized: tls.requestCert ?? false });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  let emulator: PlatformEmulator;
  try {
    emulator = new PlatformEmulator(listening(server, tls === undefined ? 'http' : 'https'), options);
  } catch (error) {
    server.close();
    throw error;
  }
  // handle() answers every request itself, errors included; only a broken socket is left.
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    handle(emulator, request, response).catch(() => response.destroy());
  });
  return emulator;
}
