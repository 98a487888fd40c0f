import type { IncomingMessage, ServerResponse } from 'node:http';
import { EventHub, type DrainResult, type UpgradeEmitter } from './core/emitter';
import { Receiver, type Outcome } from './core/receiver';
import type { UpgradeRouterStats } from './core/stats';
import type { ReceiveContext } from './events';
import { resolveOptions, type UpgradeRouterOptions } from './options';
import { asError, describeThrown } from './core/thrown';
import { readBody, type BodyResult } from './transport/read-body';

/** Express's `next`; absent when the router is a plain node:http request listener. */
export type NextFunction = (error?: unknown) => void;

/**
 * An Express middleware (`app.use(path, router)`) and plain node:http request listener that is also
 * a typed event emitter.
 */
export interface UpgradeRouter extends UpgradeEmitter {
  (req: IncomingMessage, res: ServerResponse, next?: NextFunction): void;
  /**
   * Handles one body without HTTP (a queue consumer, a test): bytes or text are parsed as JSON, any
   * other value is taken as already parsed. Emits exactly one event and returns its name (a promise
   * of it while a duplicate store of your own answers asynchronously).
   */
  receive(body: unknown, context?: Partial<ReceiveContext>): Outcome;
  /** Counters since creation: bodies received, events by name, invalid by reason, listener failures, in flight. */
  stats(): UpgradeRouterStats;
  /**
   * Settles once every listener promise in flight has settled, or after `timeoutMs` (then with the
   * number still pending). For graceful shutdown: stop accepting requests, then drain, then exit.
   */
  drain(timeoutMs?: number): Promise<DrainResult>;
  /**
   * Express sends a body parser's errors (bad JSON, too large) only to four-argument middleware, past
   * this router. Where a body parser runs before the router, mount this after it on the same path to
   * keep "always 200" for those too: `app.use(path, router, router.errorHandler)`.
   */
  readonly errorHandler: (error: unknown, req: IncomingMessage, res: ServerResponse, next: NextFunction) => void;
}

interface ExpressRequestFields {
  ip?: string;
  route?: { stack?: unknown };
  body?: unknown;
  _body?: boolean;
}

// app.post(path, router): Express matched the path already, and req.route is that route. Express
// leaves req.route set after an earlier route called next() (app.all('*', mw) before the mount), so
// only a route whose own stack holds this router counts (issue 9, item 6).
function isOwnRoute(route: ExpressRequestFields['route'], own: readonly unknown[]): boolean {
  const stack = route?.stack;
  return Array.isArray(stack) && stack.some((layer: { handle?: unknown } | null) => own.includes(layer?.handle));
}

// Mounted with app.use(path, router), Express strips the mount path: the callback URL itself is "/"
// (or "" without the trailing slash); anything longer is some other route of the host's.
function isCallbackPath(req: IncomingMessage & ExpressRequestFields, own: readonly unknown[]): boolean {
  if (isOwnRoute(req.route, own)) return true;
  const url = req.url ?? '/';
  const end = url.indexOf('?');
  const path = end === -1 ? url : url.slice(0, end);
  return path === '/' || path === '';
}

function contextOf(req: IncomingMessage & ExpressRequestFields): ReceiveContext {
  return { receivedAt: new Date(), ip: req.ip ?? req.socket.remoteAddress };
}

// 200 with an empty body whatever was received: any other answer makes the platform re-send, and
// ten failures get the callback URL marked invalid. `close` when the rest of the body was left unread.
function answer(res: ServerResponse, close: boolean): void {
  if (res.headersSent) return;
  res.statusCode = 200;
  if (close) res.setHeader('Connection', 'close');
  res.end();
}

interface BodyParserError {
  type: string;
  body?: unknown;
  /** The parser's own limit, on entity.too.large. */
  limit?: unknown;
}

// body-parser marks its errors with a `type` such as 'entity.parse.failed' and a 4xx status.
function bodyParserError(error: unknown): BodyParserError | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { type, status } = error as { type?: unknown; status?: unknown };
  return typeof type === 'string' && typeof status === 'number' && status >= 400 && status < 500 ? (error as BodyParserError) : undefined;
}

export function createUpgradeRouter(options: UpgradeRouterOptions = {}): UpgradeRouter {
  const { limit, logger, types, dedupe, access } = resolveOptions(options);
  const hub = new EventHub(logger);
  const receiver = new Receiver(hub, { types, dedupe });

  // A refused caller learns nothing (200, like everyone), and its body is not read: the connection is
  // closed once the answer is out. Returns true when the request was refused.
  const refuse = (req: IncomingMessage, res: ServerResponse, context: ReceiveContext): boolean => {
    const why = access?.(context.ip, req.url ?? '');
    if (why === undefined) return false;
    answer(res, !req.readableEnded);
    receiver.reject({ reason: 'forbidden', message: why, context });
    return true;
  };

  // The outcome is reported through events, and a promise of it (a shared duplicate store answering)
  // never rejects; the handler is there so that a bug could not become an unhandled rejection.
  const discard = (outcome: Outcome): void => {
    if (typeof outcome !== 'string') outcome.catch((error: unknown) => hub.report(asError(error, 'the router threw'), undefined));
  };

  const settle = (result: BodyResult, context: ReceiveContext): void => {
    switch (result.kind) {
      case 'body':
        discard(receiver.receiveBytes(result.bytes, context));
        return;
      case 'too_large':
        receiver.reject({ reason: 'too_large', message: `body is larger than the limit of ${limit} bytes`, limit, context });
        return;
      case 'undecodable':
        receiver.reject({ reason: 'malformed', message: result.message, raw: result.raw, context });
        return;
      case 'aborted':
        receiver.reject({ reason: 'aborted', message: result.message, context });
    }
  };

  function handle(req: IncomingMessage & ExpressRequestFields, res: ServerResponse, next?: NextFunction): void {
    if (req.method !== 'POST' || (next !== undefined && !isCallbackPath(req, own))) {
      if (next !== undefined) return next();
      res.statusCode = 404;
      res.end();
      return;
    }
    const context = contextOf(req);
    if (refuse(req, res, context)) return;
    // A body parser mounted before the router has read the stream already: use what it made.
    if (req._body === true || req.readableEnded) {
      answer(res, false);
      if (req.body === undefined) {
        receiver.reject({ reason: 'malformed', message: 'body was consumed by another middleware and left no req.body', context });
      } else {
        discard(receiver.receive(req.body, context));
      }
      return;
    }
    readBody(req, limit, (result) => {
      // The answer goes out before any listener runs: a slow or failing listener cannot delay or change it.
      if (result.kind !== 'aborted') answer(res, result.kind !== 'body' && !result.complete);
      settle(result, context);
    });
  }

  function errorHandler(error: unknown, req: IncomingMessage & ExpressRequestFields, res: ServerResponse, next: NextFunction): void {
    const parserError = bodyParserError(error);
    if (parserError === undefined || req.method !== 'POST' || !isCallbackPath(req, own)) return next(error);
    const context = contextOf(req);
    if (refuse(req, res, context)) return;
    if (parserError.type === 'request.aborted') {
      receiver.reject({ reason: 'aborted', message: 'connection closed before the body was complete', context });
      return;
    }
    answer(res, !req.readableEnded);
    if (parserError.type === 'entity.too.large') {
      // The host parser's limit, not this router's (issue 9, item 11): it is the one that refused.
      const parserLimit = typeof parserError.limit === 'number' ? parserError.limit : undefined;
      const message = `a body parser before the router refused the body as larger than ${parserLimit === undefined ? 'its limit' : `its limit of ${parserLimit} bytes`}`;
      receiver.reject({ reason: 'too_large', message, limit: parserLimit, context });
      return;
    }
    const raw = typeof parserError.body === 'string' ? Buffer.from(parserError.body) : undefined;
    const message = `a body parser before the router refused the body: ${describeThrown(error)}`;
    receiver.reject({ reason: 'malformed', message, raw, context });
  }

  const own: unknown[] = [handle, errorHandler];
  const router = Object.assign(handle, {
    receive: (body: unknown, context?: Partial<ReceiveContext>) =>
      receiver.receive(body, { receivedAt: new Date(), ip: undefined, ...context }),
    errorHandler,
    stats: () => receiver.stats(),
    drain: (timeoutMs?: number) => hub.drain(timeoutMs),
  });
  return hub.bindTo(router);
}
