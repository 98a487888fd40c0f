// The router's HTTP side: reads a push from Express or node:http, answers it (200 at once, or after
// the journal's commit), and hands the body to the transport-free core. It owns every decision about
// the request and the answer; the core owns every decision about the push.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReceiveContext } from '../core/events';
import type { ParseResult } from '../core/parse-json';
import { Receiver, type Ack, type Outcome } from '../core/receiver';
import { asError, describeThrown } from '../core/thrown';
import type { AccessCheck } from './access';
import { appMounts, isCallbackPath, trustsProxy, type ExpressRequest } from './express-hints';
import { readBody, type BodyResult } from './read-body';

/** Express's `next`; absent when the router is a plain node:http request listener. */
export type NextFunction = (error?: unknown) => void;

export interface HttpOptions {
  limit: number;
  access: AccessCheck | undefined;
  reportOnly: boolean;
  checksIps: boolean;
  passUnknownTypes: boolean;
  /** Whether answers wait for the core's Ack (a journal commits first). */
  durable: boolean;
  warn(message: string): void;
  report(error: Error): void;
}

// With Express's 'trust proxy' off, req.ip is the socket's address, computed through proxy-addr at
// about 2 µs a request; it is read from the socket then, and from req.ip only behind a proxy.
function contextOf(req: ExpressRequest): ReceiveContext {
  return { receivedAt: new Date(), ip: trustsProxy(req) ? (req.ip ?? req.socket.remoteAddress) : req.socket.remoteAddress };
}

// 200 with an empty body whatever was received: any other answer makes the platform re-send, and
// ten failures get the callback URL marked invalid. `close` when the rest of the body was left unread.
// 503 only with a failing journal and onJournalError 'refuse'. Returns whether this call answered.
function answer(res: ServerResponse, close: boolean, status = 200): boolean {
  if (res.headersSent) return false;
  res.statusCode = status;
  if (close) res.setHeader('Connection', 'close');
  res.end();
  return true;
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

export class HttpTransport {
  readonly #receiver: Receiver;
  readonly #options: HttpOptions;
  // Warnings about the host's set-up: each said once, never per request.
  readonly #hinted = new Set<string>();
  /** The middleware: `app.use(path, router)`, or a node:http request listener. */
  readonly handle = (req: IncomingMessage, res: ServerResponse, next?: NextFunction): void => this.#handle(req, res, next);
  /** The error middleware, for body parsers mounted before the router. */
  readonly errorHandler = (error: unknown, req: IncomingMessage, res: ServerResponse, next: NextFunction): void => this.#handleError(error, req, res, next);
  readonly #own: readonly unknown[] = [this.handle, this.errorHandler];

  constructor(receiver: Receiver, options: HttpOptions) {
    this.#receiver = receiver;
    this.#options = options;
  }

  /** Says `message` once for `key`. */
  hint(key: string, message: string): void {
    if (this.#hinted.has(key)) return;
    this.#hinted.add(key);
    this.#options.warn(message);
  }

  #handle(req: ExpressRequest, res: ServerResponse, next?: NextFunction): void {
    if (req.method !== 'POST' || (next !== undefined && !isCallbackPath(req, this.#own))) {
      if (next !== undefined) return next();
      res.statusCode = 404;
      res.end();
      return;
    }
    const arrived = performance.now();
    const context = contextOf(req);
    const refusal = this.#refusalOf(req, context);
    if (req._body === true || req.readableEnded) return this.#takeParsed(req, res, next, context, refusal, arrived);
    readBody(req, this.#options.limit, (result) => {
      if (result.kind === 'body' && refusal === undefined && this.#options.passUnknownTypes && next !== undefined) {
        const parsed = Receiver.parse(result.bytes);
        if (this.#passesOn(req, parsed, next)) return;
        this.#discard(this.#receiver.receiveParsed(parsed, context, this.#answerFor(res, false, arrived)));
        return;
      }
      // The answer goes out before any listener runs: a slow or failing listener cannot delay or change it.
      const ack = result.kind === 'aborted' ? undefined : this.#answerFor(res, result.kind !== 'body' && !result.complete, arrived);
      this.#settle(result, context, refusal, ack);
    });
  }

  #handleError(error: unknown, req: ExpressRequest, res: ServerResponse, next: NextFunction): void {
    const parserError = bodyParserError(error);
    if (parserError === undefined || req.method !== 'POST' || !isCallbackPath(req, this.#own)) return next(error);
    // Timed from here: the host's parser ran before, out of the router's sight.
    const arrived = performance.now();
    const context = contextOf(req);
    const refusal = this.#refusalOf(req, context);
    const raw = typeof parserError.body === 'string' ? Buffer.from(parserError.body) : undefined;
    const receiver = this.#receiver;
    if (parserError.type === 'request.aborted') {
      if (refusal !== undefined) this.#discard(receiver.forbid(refusal, context));
      else this.#discard(receiver.reject({ reason: 'aborted', message: 'connection closed before the body was complete', context }));
      return;
    }
    const ack = this.#answerFor(res, !req.readableEnded, arrived);
    if (refusal !== undefined) {
      this.#discard(receiver.forbid(refusal, context, raw === undefined ? undefined : Receiver.parse(raw), ack));
    } else if (parserError.type === 'entity.too.large') {
      // The host parser's limit, not this router's: it is the one that refused.
      const parserLimit = typeof parserError.limit === 'number' ? parserError.limit : undefined;
      const message = `a body parser before the router refused the body as larger than ${parserLimit === undefined ? 'its limit' : `its limit of ${parserLimit} bytes`}`;
      this.#discard(receiver.reject({ reason: 'too_large', message, limit: parserLimit, context }, ack));
    } else {
      this.#discard(receiver.reject({ reason: 'malformed', message: `a body parser before the router refused the body: ${describeThrown(error)}`, raw, context }, ack));
    }
  }

  // The 200, timed from the request's arrival (stats().ackSeconds).
  #reply(res: ServerResponse, close: boolean, arrived: number, status?: number): void {
    if (answer(res, close, status)) this.#receiver.answered((performance.now() - arrived) / 1000);
  }

  // Without a journal the answer goes out now, before anything else happens. With one, the receiver
  // sends it once the push is committed (the returned Ack).
  #answerFor(res: ServerResponse, close: boolean, arrived: number): Ack | undefined {
    if (!this.#options.durable) {
      this.#reply(res, close, arrived);
      return undefined;
    }
    return (refused) => this.#reply(res, close, arrived, refused ? 503 : 200);
  }

  // Why `allow` refuses the caller, or undefined. In report mode the refusal is only reported. A
  // refused caller learns nothing (200, like everyone), and its body is read all the same.
  #refusalOf(req: ExpressRequest, context: ReceiveContext): string | undefined {
    if (this.#options.checksIps && req.headers['x-forwarded-for'] !== undefined && !trustsProxy(req)) {
      this.hint(
        'proxy',
        `requests carry X-Forwarded-For but Express's 'trust proxy' is off, so allow.ips sees the proxy's address (${context.ip ?? 'unknown'}), not the platform's. ` +
          `Behind a load balancer, set app.set('trust proxy', <its address or hop count>).`,
      );
    }
    const why = this.#options.access?.(context.ip, req.url ?? '');
    if (why === undefined || !this.#options.reportOnly) return why;
    this.#receiver.reportForbidden(why, context);
    return undefined;
  }

  // The outcome is reported through events, and a promise of it (a shared duplicate store answering)
  // never rejects; the handler is there so that a bug could not become an unhandled rejection.
  #discard(outcome: Outcome): void {
    if (typeof outcome !== 'string') outcome.catch((error: unknown) => this.#options.report(asError(error, 'the router threw')));
  }

  // unknownTypes 'next': another push type of the platform's is the host's to answer.
  #passesOn(req: ExpressRequest, parsed: ParseResult, next: NextFunction | undefined): boolean {
    if (!this.#options.passUnknownTypes || next === undefined || !this.#receiver.isOtherType(parsed)) return false;
    if (parsed.ok) req.body = parsed.value;
    req._body = true;
    this.#receiver.passOn();
    next();
    return true;
  }

  #settle(result: BodyResult, context: ReceiveContext, refusal: string | undefined, ack: Ack | undefined): void {
    const receiver = this.#receiver;
    if (refusal !== undefined) {
      const parsed = result.kind === 'body' ? Receiver.parse(result.bytes) : result.kind === 'undecodable' ? { ok: false as const, message: result.message, raw: result.raw } : undefined;
      this.#discard(receiver.forbid(refusal, context, parsed, ack));
      return;
    }
    switch (result.kind) {
      case 'body':
        this.#discard(receiver.receiveBytes(result.bytes, context, ack));
        return;
      case 'too_large':
        this.#discard(receiver.reject({ reason: 'too_large', message: `body is larger than the limit of ${this.#options.limit} bytes`, limit: this.#options.limit, ...(result.raw && { raw: result.raw }), context }, ack));
        return;
      case 'undecodable':
        this.#discard(receiver.reject({ reason: 'malformed', message: result.message, raw: result.raw, context }, ack));
        return;
      case 'aborted':
        this.#discard(receiver.reject({ reason: 'aborted', message: result.message, context }));
    }
  }

  // A body parser mounted before the router has read the stream already: use what it made.
  #takeParsed(req: ExpressRequest, res: ServerResponse, next: NextFunction | undefined, context: ReceiveContext, refusal: string | undefined, arrived: number): void {
    if (appMounts(req, this.errorHandler) === false) {
      this.hint(
        'parser',
        `a body parser ran before the router on ${req.baseUrl || 'the callback path'}: its errors (bad JSON, a body over its limit) skip the router and get your app's 400 or 413, ` +
          `which the platform counts as failures. Mount the router's error handler after it: app.use('${req.baseUrl || '/callback/path'}', router, router.errorHandler)`,
      );
    }
    const parsed = req.body === undefined ? undefined : Receiver.parse(req.body);
    if (refusal === undefined && parsed !== undefined && this.#passesOn(req, parsed, next)) return;
    const ack = this.#answerFor(res, false, arrived);
    const receiver = this.#receiver;
    if (refusal !== undefined) this.#discard(receiver.forbid(refusal, context, parsed, ack));
    else if (parsed === undefined) this.#discard(receiver.reject({ reason: 'malformed', message: 'body was consumed by another middleware and left no req.body', context }, ack));
    else this.#discard(receiver.receiveParsed(parsed, context, ack));
  }
}
