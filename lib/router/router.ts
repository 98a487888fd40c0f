import type { IncomingMessage, ServerResponse } from 'node:http';
import { EventHub, type DrainResult, type UpgradeEmitter } from '../core/emitter';
import type { ParseResult } from '../core/parse-json';
import { MemoryIntake } from '../core/memory-intake';
import { Receiver, type Ack, type Outcome } from '../core/receiver';
import { JournalDelivery } from '../journal/delivery';
import type { UpgradeRouterStats } from '../core/stats';
import { registerExtension, type CapabilityKey, type RouterExtension } from './extension';
import type { ReconcilerStats } from '../core/stats';
import type { ReceiveContext, ReconciledResult } from '../core/events';
import { resolveOptions, type UpgradeRouterOptions } from './options';
import { asError, describeThrown } from '../core/thrown';
import { appMounts, isCallbackPath, trustsProxy, type ExpressRequest } from '../transport/express-hints';
import { readBody, type BodyResult } from '../transport/read-body';
import { codedError } from '../core/errors';

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
   * Stops the journal's timers, waits up to `timeoutMs` (default 10 s) for deliveries in progress,
   * and closes the journal. What did not finish is delivered again after the next start.
   */
  close(timeoutMs?: number): Promise<void>;
  /**
   * Express sends a body parser's errors (bad JSON, too large) only to four-argument middleware, past
   * this router. Where a body parser runs before the router, mount this after it on the same path to
   * keep "always 200" for those too: `app.use(path, router, router.errorHandler)`.
   */
  readonly errorHandler: (error: unknown, req: IncomingMessage, res: ServerResponse, next: NextFunction) => void;
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

/** The journal key of a filled-in result: one per sub-task, whoever fills it. */
export const reconciledKey = (result: ReconciledResult): string => `reconciledResult:${result.operationId.length}:${result.operationId}:${result.subOperationId}`;

export function createUpgradeRouter(options: UpgradeRouterOptions = {}): UpgradeRouter {
  const { limit, logger, types, dedupe, access, reportOnly, checksIps, passUnknownTypes, journal } = resolveOptions(options);
  const hub = new EventHub(logger);
  const delivery = journal === undefined ? undefined : new JournalDelivery(hub, journal.journal, journal.delivery);
  const intake = delivery ?? new MemoryIntake(dedupe, (error, notification) => receiver.storeFailed(error, notification));
  const receiver: Receiver = new Receiver(hub, { types, intake });

  // The 200, timed from the request's arrival (stats().ackSeconds).
  const reply = (res: ServerResponse, close: boolean, arrived: number, status?: number): void => {
    if (answer(res, close, status)) receiver.answered((performance.now() - arrived) / 1000);
  };

  // Without a journal the answer goes out now, before anything else happens. With one, the receiver
  // sends it once the push is committed (the returned Ack).
  const answerFor = (res: ServerResponse, close: boolean, arrived: number): Ack | undefined => {
    if (delivery === undefined) {
      reply(res, close, arrived);
      return undefined;
    }
    return (refused) => reply(res, close, arrived, refused ? 503 : 200);
  };

  // Warnings about the host's set-up: each said once, never per request.
  const hinted = new Set<string>();
  const hint = (key: string, message: string): void => {
    if (hinted.has(key)) return;
    hinted.add(key);
    hub.warn(message);
  };

  // Why `allow` refuses the caller, or undefined. In report mode the refusal is only reported. A
  // refused caller learns nothing (200, like everyone), and its body is read all the same.
  const refusalOf = (req: ExpressRequest, context: ReceiveContext): string | undefined => {
    if (checksIps && req.headers['x-forwarded-for'] !== undefined && !trustsProxy(req)) {
      hint(
        'proxy',
        `requests carry X-Forwarded-For but Express's 'trust proxy' is off, so allow.ips sees the proxy's address (${context.ip ?? 'unknown'}), not the platform's. ` +
          `Behind a load balancer, set app.set('trust proxy', <its address or hop count>).`,
      );
    }
    const why = access?.(context.ip, req.url ?? '');
    if (why === undefined || !reportOnly) return why;
    receiver.reportForbidden(why, context);
    return undefined;
  };

  // The outcome is reported through events, and a promise of it (a shared duplicate store answering)
  // never rejects; the handler is there so that a bug could not become an unhandled rejection.
  const discard = (outcome: Outcome): void => {
    if (typeof outcome !== 'string') outcome.catch((error: unknown) => hub.report(asError(error, 'the router threw'), undefined));
  };

  // unknownTypes 'next': another push type of the platform's is the host's to answer.
  const passesOn = (req: ExpressRequest, parsed: ParseResult, next: NextFunction | undefined): boolean => {
    if (!passUnknownTypes || next === undefined || !receiver.isOtherType(parsed)) return false;
    if (parsed.ok) req.body = parsed.value;
    req._body = true;
    receiver.passOn();
    next();
    return true;
  };

  const settle = (result: BodyResult, context: ReceiveContext, refusal: string | undefined, ack: Ack | undefined): void => {
    if (refusal !== undefined) {
      discard(receiver.forbid(refusal, context, result.kind === 'body' ? Receiver.parse(result.bytes) : result.kind === 'undecodable' ? { ok: false, message: result.message, raw: result.raw } : undefined, ack));
      return;
    }
    switch (result.kind) {
      case 'body':
        discard(receiver.receiveBytes(result.bytes, context, ack));
        return;
      case 'too_large':
        discard(receiver.reject({ reason: 'too_large', message: `body is larger than the limit of ${limit} bytes`, limit, ...(result.raw && { raw: result.raw }), context }, ack));
        return;
      case 'undecodable':
        discard(receiver.reject({ reason: 'malformed', message: result.message, raw: result.raw, context }, ack));
        return;
      case 'aborted':
        discard(receiver.reject({ reason: 'aborted', message: result.message, context }));
    }
  };

  // A body parser mounted before the router has read the stream already: use what it made.
  const takeParsed = (
    req: ExpressRequest,
    res: ServerResponse,
    next: NextFunction | undefined,
    context: ReceiveContext,
    refusal: string | undefined,
    arrived: number,
  ): void => {
    if (appMounts(req, errorHandler) === false) {
      hint(
        'parser',
        `a body parser ran before the router on ${req.baseUrl || 'the callback path'}: its errors (bad JSON, a body over its limit) skip the router and get your app's 400 or 413, ` +
          `which the platform counts as failures. Mount the router's error handler after it: app.use('${req.baseUrl || '/callback/path'}', router, router.errorHandler)`,
      );
    }
    const parsed = req.body === undefined ? undefined : Receiver.parse(req.body);
    if (refusal === undefined && parsed !== undefined && passesOn(req, parsed, next)) return;
    const ack = answerFor(res, false, arrived);
    if (refusal !== undefined) discard(receiver.forbid(refusal, context, parsed, ack));
    else if (parsed === undefined) discard(receiver.reject({ reason: 'malformed', message: 'body was consumed by another middleware and left no req.body', context }, ack));
    else discard(receiver.receiveParsed(parsed, context, ack));
  };

  function handle(req: ExpressRequest, res: ServerResponse, next?: NextFunction): void {
    if (req.method !== 'POST' || (next !== undefined && !isCallbackPath(req, own))) {
      if (next !== undefined) return next();
      res.statusCode = 404;
      res.end();
      return;
    }
    const arrived = performance.now();
    const context = contextOf(req);
    const refusal = refusalOf(req, context);
    if (req._body === true || req.readableEnded) return takeParsed(req, res, next, context, refusal, arrived);
    readBody(req, limit, (result) => {
      if (result.kind === 'body' && refusal === undefined && passUnknownTypes && next !== undefined) {
        const parsed = Receiver.parse(result.bytes);
        if (passesOn(req, parsed, next)) return;
        discard(receiver.receiveParsed(parsed, context, answerFor(res, false, arrived)));
        return;
      }
      // The answer goes out before any listener runs: a slow or failing listener cannot delay or change it.
      const ack = result.kind === 'aborted' ? undefined : answerFor(res, result.kind !== 'body' && !result.complete, arrived);
      settle(result, context, refusal, ack);
    });
  }

  function errorHandler(error: unknown, req: ExpressRequest, res: ServerResponse, next: NextFunction): void {
    const parserError = bodyParserError(error);
    if (parserError === undefined || req.method !== 'POST' || !isCallbackPath(req, own)) return next(error);
    // Timed from here: the host's parser ran before, out of the router's sight.
    const arrived = performance.now();
    const context = contextOf(req);
    const refusal = refusalOf(req, context);
    const raw = typeof parserError.body === 'string' ? Buffer.from(parserError.body) : undefined;
    if (parserError.type === 'request.aborted') {
      if (refusal !== undefined) discard(receiver.forbid(refusal, context));
      else discard(receiver.reject({ reason: 'aborted', message: 'connection closed before the body was complete', context }));
      return;
    }
    const ack = answerFor(res, !req.readableEnded, arrived);
    if (refusal !== undefined) {
      discard(receiver.forbid(refusal, context, raw === undefined ? undefined : Receiver.parse(raw), ack));
    } else if (parserError.type === 'entity.too.large') {
      // The host parser's limit, not this router's: it is the one that refused.
      const parserLimit = typeof parserError.limit === 'number' ? parserError.limit : undefined;
      const message = `a body parser before the router refused the body as larger than ${parserLimit === undefined ? 'its limit' : `its limit of ${parserLimit} bytes`}`;
      discard(receiver.reject({ reason: 'too_large', message, limit: parserLimit, context }, ack));
    } else {
      discard(receiver.reject({ reason: 'malformed', message: `a body parser before the router refused the body: ${describeThrown(error)}`, raw, context }, ack));
    }
  }

  const fill = async (result: ReconciledResult): Promise<boolean> => {
    if (!intake.durable) throw codedError('ERR_NO_JOURNAL', 'filling in results needs the router to have a journal');
    const push = { event: 'reconciledResult', notifyType: 'reconciledResult', key: reconciledKey(result), deviceId: result.deviceId, notification: result, context: { receivedAt: new Date(), ip: undefined }, filled: true } as const;
    return hub.track(
      Promise.resolve(
        intake.keep(push, (kept) => {
          if (kept.kept === 'lost') throw kept.error;
          const added = kept.kept === 'spill' || !kept.duplicate;
          if (added) receiver.reconciled();
          if (!hub.heard('reconciledResult')) {
            hint('reconciled', "'reconciledResult' was journaled with no listener for it: it waits in the journal until one is attached. Listen with router.on('reconciledResult', ...).");
          }
          return added;
        }),
      ),
    );
  };
  const capabilities = new Map<CapabilityKey<unknown>, unknown>();
  let reconciliation: (() => ReconcilerStats) | undefined;
  const extension: RouterExtension = {
    journal: journal?.journal,
    observe: (observer) => hub.addObserver(observer),
    fill,
    report: (error) => hub.report(error, undefined),
    warn: (message) => hub.warn(message),
    attach: (key, capability) => {
      capabilities.set(key, capability);
    },
    // The map holds what attach() put under each key, of the key's type.
    attached: <T>(key: CapabilityKey<T>) => capabilities.get(key) as T | undefined,
    reconciliationStats: (source) => {
      reconciliation = source;
    },
  };

  const own: unknown[] = [handle, errorHandler];
  const router = Object.assign(handle, {
    receive: (body: unknown, context?: Partial<ReceiveContext>) =>
      // Without a context, a literal: the spread's copy is measurable at a million calls a second.
      receiver.receive(body, context === undefined ? { receivedAt: new Date(), ip: undefined } : { receivedAt: new Date(), ip: undefined, ...context }),
    errorHandler,
    stats: () => {
      const stats = receiver.stats();
      if (delivery !== undefined) stats.journal = delivery.stats();
      if (reconciliation !== undefined) stats.reconciliation = reconciliation();
      return stats;
    },
    drain: (timeoutMs?: number) => hub.drain(timeoutMs),
    close: async (timeoutMs = 10_000) => {
      await hub.drain(timeoutMs);
      await delivery?.close();
    },
  });
  const bound = hub.bindTo(router);
  registerExtension(bound, extension);
  return bound;
}
