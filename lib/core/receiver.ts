import type { ErrorObject, ValidateFunction } from 'ajv';
import type { NotificationEvents, ReceiveContext, Rejection, UpgradeRouterEvents } from '../events';
import { notificationTable, type Notification, type NotifyType } from '../notification-types';
import type { EventHub } from './emitter';
import { cleanParsed, parseBytes, parseText, type ParseResult } from './parse-json';
import { OutcomeCounters, type OutcomeEvent, type UpgradeRouterStats } from './stats';
import { getValidators } from './validators';


interface Route {
  type: NotifyType;
  event: keyof NotificationEvents;
  validate: ValidateFunction;
}

const MAX_QUOTED = 80;

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

  constructor(hub: EventHub) {
    this.#hub = hub;
    const validators = getValidators();
    for (const type of Object.keys(notificationTable) as NotifyType[]) {
      this.#routes.set(type, { type, event: notificationTable[type].event, validate: validators[type] });
    }
  }

  /** A raw body (bytes or text) or a value some other code already parsed from JSON. */
  receive(body: unknown, context: ReceiveContext): OutcomeEvent {
    if (Buffer.isBuffer(body)) return this.receiveBytes(body, context);
    if (typeof body === 'string') return this.#receiveParsed(parseText(body), context, Buffer.from(body));
    return this.#classify(cleanParsed(body), context);
  }

  receiveBytes(bytes: Buffer, context: ReceiveContext): OutcomeEvent {
    return this.#receiveParsed(parseBytes(bytes), context, bytes);
  }

  reject(rejection: Rejection): 'invalid' {
    this.#counters.count('invalid', rejection.reason);
    this.#hub.dispatch('invalid', [rejection]);
    return 'invalid';
  }

  stats(): UpgradeRouterStats {
    return this.#counters.snapshot(this.#hub.listenerErrors, this.#hub.inFlight);
  }

  #receiveParsed(parsed: ParseResult, context: ReceiveContext, raw: Buffer): OutcomeEvent {
    if (!parsed.ok) return this.reject({ reason: 'malformed', message: parsed.message, raw, context });
    return this.#classify(parsed.value, context, raw);
  }

  #classify(value: unknown, context: ReceiveContext, raw?: Buffer): OutcomeEvent {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      const kind = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
      return this.reject({ reason: 'malformed', message: `body is JSON but ${kind}, not an object`, body: value, raw, context });
    }
    const body = value as Record<string, unknown>;
    const { notifyType } = body;
    const route = typeof notifyType === 'string' ? this.#routes.get(notifyType) : undefined;
    if (route === undefined) {
      const message =
        notifyType === undefined ? 'body has no notifyType' : `notifyType ${describe(notifyType)} is not handled by this router`;
      return this.reject({ reason: 'unknown_type', message, body, context });
    }
    if (!route.validate(body)) {
      // Ajv always sets at least one error when it returns false.
      const errors = route.validate.errors as [ErrorObject, ...ErrorObject[]];
      const message = `${route.type} fails its schema: ${errors[0].instancePath || '(root)'} ${errors[0].message}`;
      return this.reject({ reason: 'schema', message, body, errors, context });
    }
    const notification = body as unknown as Notification;
    const args = [notification, context] as UpgradeRouterEvents[typeof route.event];
    this.#counters.count(route.event);
    this.#hub.dispatch(route.event, args, notification);
    return route.event;
  }
}
