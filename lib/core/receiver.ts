import type { ErrorObject, ValidateFunction } from 'ajv';
import type { ForbiddenRejection, NotificationEvents, ReceiveContext, Rejection, UpgradeRouterEvents } from './events';
import { isDeviceNotification, notificationTable, typeKeyOf, type Notification, type NotifyType } from './notification-types';
import type { EventHub } from './emitter';
import type { Intake, Kept, RejectedPush } from './intake';
import { bytesOf, isJsonObject, parseBytes, parseText, parseValue, type ParseResult } from './parse-json';
import { OutcomeCounters, type OutcomeEvent, type UpgradeRouterStats } from './stats';
import { describeThrown } from './thrown';
import { validators } from './validators';
import { codedError } from './errors';

/**
 * What receive() returns: the event emitted, or a promise of it while a shared duplicate store or the
 * journal answers. 'refused': the journal failed with `onJournalError: 'refuse'`, so nothing was emitted
 * (over HTTP the platform got a 503 and sends the push again).
 */
export type Outcome = OutcomeEvent | 'refused' | Promise<OutcomeEvent | 'refused'>;

/** Sends the answer: 200, or 503 when `refused`. With a journal it is called after the commit. */
export type Ack = (refused: boolean) => void;

export interface ReceiverOptions {
  types: readonly NotifyType[];
  /** Where each checked push goes before its answer: memory, or a journal. */
  intake: Intake;
}

interface Route {
  type: NotifyType;
  event: keyof NotificationEvents;
  validate: ValidateFunction;
}

const MAX_QUOTED = 80;

function rejectedPush(rejection: Rejection): RejectedPush {
  const body = 'body' in rejection && rejection.body !== undefined ? rejection.body : undefined;
  const fields = isJsonObject(body) ? body : {};
  let text: string | null = null;
  try {
    const json = JSON.stringify(body) as string | undefined;
    text = json ?? null;
  } catch {
    // A value a host parser made that JSON cannot hold (a BigInt, a cycle): the raw bytes remain.
  }
  return {
    reason: rejection.reason,
    message: rejection.message,
    notifyType: typeof fields.notifyType === 'string' ? fields.notifyType : typeof fields.resource === 'string' ? fields.resource : null,
    deviceId: typeof fields.deviceId === 'string' ? fields.deviceId : null,
    body: text,
    raw: 'raw' in rejection && rejection.raw !== undefined ? rejection.raw : null,
    ip: rejection.context.ip ?? null,
    receivedAt: rejection.context.receivedAt,
  };
}

function describe(notifyType: unknown): string {
  if (typeof notifyType !== 'string') return `of type ${notifyType === null ? 'null' : typeof notifyType}`;
  const text = JSON.stringify(notifyType);
  return text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text;
}

/**
 * The transport-free core: turns one body into exactly one event. It parses, classifies by
 * notifyType, validates against that type's schema and dispatches; it knows nothing of HTTP.
 */
export class Receiver {
  readonly #hub: EventHub;
  // A Map, not an object lookup: a notifyType of "constructor" or "__proto__" must find nothing.
  readonly #routes = new Map<string, Route>();
  readonly #counters = new OutcomeCounters();

  readonly #intake: Intake;

  constructor(hub: EventHub, { types, intake }: ReceiverOptions) {
    this.#hub = hub;
    this.#intake = intake;
    for (const type of types) {
      this.#routes.set(type, { type, event: notificationTable[type].event, validate: validators[type] });
    }
  }

  /** A raw body (bytes or text) or a value some other code already parsed from JSON. */
  receive(body: unknown, context: ReceiveContext): Outcome {
    return this.receiveParsed(Receiver.parse(body), context);
  }

  receiveBytes(bytes: Buffer, context: ReceiveContext, ack?: Ack): Outcome {
    return this.receiveParsed(parseBytes(bytes), context, ack);
  }

  /** A body (bytes, text, or a value already parsed) as JSON, with the bytes it came from when there were any. */
  static parse(body: unknown): ParseResult {
    if (typeof body === 'string') return parseText(body);
    try {
      const bytes = bytesOf(body);
      return bytes === undefined ? parseValue(body) : parseBytes(bytes);
    } catch (error) {
      // A revoked proxy throws even on `instanceof`.
      return { ok: false, message: `body cannot be read: ${describeThrown(error)}` };
    }
  }

  /** A well-formed JSON object whose notifyType (or IoTDA resource) is a string this router does not handle. */
  isOtherType(parsed: ParseResult): boolean {
    if (!parsed.ok || !isJsonObject(parsed.value)) return false;
    const key = typeKeyOf(parsed.value);
    return typeof key === 'string' && !this.#routes.has(key);
  }

  /**
   * A caller refused by `allow`: its body, read all the same, goes with the rejection (`raw`, and
   * `body` when it was JSON), so that a misconfiguration can be repaired by replaying it.
   */
  forbid(message: string, context: ReceiveContext, parsed?: ParseResult, ack?: Ack): Outcome {
    const rejection: ForbiddenRejection = { reason: 'forbidden', message, context };
    if (parsed?.raw !== undefined) rejection.raw = parsed.raw;
    if (parsed?.ok === true) rejection.body = parsed.value;
    return this.reject(rejection, ack);
  }

  /** allow.mode 'report': the caller would have been refused; it is served all the same. */
  reportForbidden(message: string, context: ReceiveContext): void {
    this.#counters.forbiddenReported += 1;
    this.#hub.dispatch('forbidden', [{ reason: 'forbidden', message, context }]);
  }

  /** An answer went out `seconds` after the request arrived. */
  answered(seconds: number): void {
    this.#counters.ackTimes.observe(seconds);
  }

  /** The reconciler filled in a result through this router. */
  reconciled(): void {
    this.#counters.reconciled += 1;
  }

  /** A host's route took the request (unknownTypes 'next'): counted, so that nothing goes unaccounted. */
  passOn(): void {
    this.#counters.passedOn += 1;
  }

  /**
   * Emits `invalid`. With a journal the rejection is committed first (nothing received is lost, even
   * what the schema refused); a journal that fails is reported and the push still answered 200:
   * sending it again would not make it valid.
   */
  reject(rejection: Rejection, ack?: Ack): Outcome {
    if (!this.#intake.durable) return this.#invalid(rejection);
    return this.#hub.track(this.#intake.keepRejected(rejectedPush(rejection)).then(() => this.#invalid(rejection, ack)));
  }

  #invalid(rejection: Rejection, ack?: Ack): 'invalid' {
    ack?.(false);
    this.#counters.count('invalid', rejection.reason);
    this.#hub.dispatch('invalid', [rejection]);
    return 'invalid';
  }

  stats(): UpgradeRouterStats {
    return this.#counters.snapshot(this.#hub.listenerErrors, this.#hub.inFlight);
  }

  receiveParsed(parsed: ParseResult, context: ReceiveContext, ack?: Ack): Outcome {
    if (!parsed.ok) return this.reject({ reason: 'malformed', message: parsed.message, raw: parsed.raw, context }, ack);
    return this.#classify(parsed.value, context, parsed.raw, ack);
  }

  #classify(value: unknown, context: ReceiveContext, raw: Buffer | undefined, ack: Ack | undefined): Outcome {
    if (!isJsonObject(value)) {
      const kind = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
      return this.reject({ reason: 'malformed', message: `body is JSON but ${kind}, not an object`, body: value, raw, context }, ack);
    }
    const body = value;
    const key = typeKeyOf(body);
    const route = typeof key === 'string' ? this.#routes.get(key) : undefined;
    if (route === undefined) {
      const field = body.notifyType === undefined && body.resource !== undefined ? 'resource' : 'notifyType';
      const message = key === undefined ? 'body has no notifyType (nor an IoTDA resource)' : `${field} ${describe(key)} is not handled by this router`;
      return this.reject({ reason: 'unknown_type', message, body, context }, ack);
    }
    if (!route.validate(body)) {
      // Ajv always sets at least one error when it returns false.
      const errors = route.validate.errors as [ErrorObject, ...ErrorObject[]];
      const message = `${route.type} fails its schema: ${errors[0].instancePath || '(root)'} ${errors[0].message}`;
      return this.reject({ reason: 'schema', message, body, errors, context }, ack);
    }
    const notification = body as unknown as Notification;
    const outcome = this.#intake.keep({ event: route.event, notifyType: route.type, deviceId: isDeviceNotification(notification) ? notification.deviceId : null, notification, context }, (kept) =>
      this.#settle(route, notification, context, kept, ack),
    );
    return typeof outcome === 'string' ? outcome : this.#hub.track(outcome);
  }

  // The answer goes with what the intake did: with a journal, after the commit; listeners run after
  // it. A journal that fails must not lose the push: it is delivered from memory, or, with
  // onJournalError 'refuse', answered 503.
  #settle(route: Route, notification: Notification, context: ReceiveContext, kept: Kept, ack: Ack | undefined): OutcomeEvent | 'refused' {
    switch (kept.kept) {
      case 'memory':
        ack?.(false);
        return this.#deliver(route, notification, context, kept.duplicate);
      case 'journal':
        ack?.(false);
        if (kept.duplicate) return this.#deliver(route, notification, { ...context, id: kept.id }, true);
        return this.#kept(route, notification, context);
      case 'spill':
        ack?.(false);
        return this.#kept(route, notification, context);
      case 'lost':
        ack?.(kept.refuse);
        return kept.refuse ? 'refused' : this.#deliver(route, notification, context, false);
    }
  }

  // Kept for delivery by the intake (now, or once it is moved out of the spill).
  #kept(route: Route, notification: Notification, context: ReceiveContext): OutcomeEvent {
    this.#counters.count(route.event);
    this.#noteUnheard(route.event, true);
    this.#hub.observe(notification, context);
    return route.event;
  }

  /** The duplicate store failed: the push went out as new. */
  storeFailed(error: unknown, notification: Notification): void {
    this.#counters.storeErrors += 1;
    const message = `duplicate store failed, notification emitted as new: ${describeThrown(error)}`;
    this.#hub.report(codedError('ERR_DEDUPE_STORE_FAILED', message, { cause: error }), notification);
  }

  #deliver(route: Route, notification: Notification, context: ReceiveContext, duplicate: boolean): OutcomeEvent {
    const event = duplicate ? 'duplicate' : route.event;
    this.#counters.count(event);
    if (!duplicate) this.#noteUnheard(route.event, false);
    const args: UpgradeRouterEvents['notification'] = [notification, context];
    this.#hub.dispatch(event, args, notification);
    if (!duplicate) {
      this.#hub.dispatch('notification', args, notification);
      this.#hub.observe(notification, context);
    }
    return event;
  }

  // Nothing arrives unheard: the first of each event nobody listens to (observers such as
  // the dashboard are not listeners) says so through the logger; later ones are counted. Without a
  // journal it is gone for good; with one it waits there for a listener.
  #noteUnheard(event: keyof NotificationEvents, journaled: boolean): void {
    if (this.#hub.listenerCount(event) > 0 || this.#hub.listenerCount('notification') > 0) return;
    this.#counters.unheard[event] += 1;
    if (this.#counters.unheard[event] !== 1) return;
    const fate = journaled
      ? `it waits in the journal until a listener is attached (and keeps the oldest-pending figure growing); if nothing will ever listen to it, ` +
        `drop what waits with \`huawei-iot-upgrade-router journal discard ${event}\`, or leave the type out with the \`types\` option`
      : 'the platform was answered 200 and will not send it again';
    this.#hub.warn(
      `'${event}' was ${journaled ? 'journaled' : 'emitted'} with no listener for it (nor for 'notification'): ${fate}. ` +
        `Listen with router.on('${event}', ...) or router.on('notification', ...); later ones are counted in stats().unheard, not logged.`,
    );
  }
}
