import type { ErrorObject, ValidateFunction } from 'ajv';
import type { ForbiddenRejection, NotificationEvents, ReceiveContext, Rejection, UpgradeRouterEvents } from '../events';
import { notificationTable, type Notification, type NotifyType } from '../notification-types';
import { dedupeKey, type ResolvedDedupe } from './dedupe';
import type { EventHub } from './emitter';
import { bytesOf, isJsonObject, parseBytes, parseText, parseValue, type ParseResult } from './parse-json';
import { OutcomeCounters, type OutcomeEvent, type UpgradeRouterStats } from './stats';
import { describeThrown, settle } from './thrown';
import { validators } from './validators';
import type { JournalDelivery } from '../journal/delivery';
import type { InvalidRecord, NotificationRecord } from '../journal/journal';

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
  dedupe: ResolvedDedupe | undefined;
  /** With a journal: where pushes are committed before their answer; `keyed` false with `dedupe: false`. */
  journal: { delivery: JournalDelivery; refuse: boolean; keyed: boolean } | undefined;
}

interface Route {
  type: NotifyType;
  event: keyof NotificationEvents;
  validate: ValidateFunction;
}

const MAX_QUOTED = 80;



function invalidRecord(rejection: Rejection): InvalidRecord {
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
    kind: 'invalid',
    reason: rejection.reason,
    message: rejection.message,
    notifyType: typeof fields.notifyType === 'string' ? fields.notifyType : null,
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

  readonly #dedupe: ReceiverOptions['dedupe'];
  readonly #journal: ReceiverOptions['journal'];

  constructor(hub: EventHub, { types, dedupe, journal }: ReceiverOptions) {
    this.#hub = hub;
    this.#dedupe = dedupe;
    this.#journal = journal;
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

  /** A well-formed JSON object whose notifyType is a string this router does not handle. */
  isOtherType(parsed: ParseResult): boolean {
    if (!parsed.ok || !isJsonObject(parsed.value)) return false;
    const { notifyType } = parsed.value;
    return typeof notifyType === 'string' && !this.#routes.has(notifyType);
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
    const journal = this.#journal;
    if (journal === undefined) return this.#invalid(rejection);
    return this.#hub.track(
      journal.delivery.commit.add(invalidRecord(rejection)).then(
        () => this.#invalid(rejection, ack),
        (error: unknown) => {
          journal.delivery.failed(error, `the ${journal.delivery.kind} journal could not record an invalid push`);
          return this.#invalid(rejection, ack);
        },
      ),
    );
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
    const { notifyType } = body;
    const route = typeof notifyType === 'string' ? this.#routes.get(notifyType) : undefined;
    if (route === undefined) {
      const message =
        notifyType === undefined ? 'body has no notifyType' : `notifyType ${describe(notifyType)} is not handled by this router`;
      return this.reject({ reason: 'unknown_type', message, body, context }, ack);
    }
    if (!route.validate(body)) {
      // Ajv always sets at least one error when it returns false.
      const errors = route.validate.errors as [ErrorObject, ...ErrorObject[]];
      const message = `${route.type} fails its schema: ${errors[0].instancePath || '(root)'} ${errors[0].message}`;
      return this.reject({ reason: 'schema', message, body, errors, context }, ack);
    }
    if (this.#journal !== undefined) return this.#journaled(this.#journal, route, body as unknown as Notification, context, ack);
    return this.#deduplicate(route, body as unknown as Notification, context);
  }

  // The answer waits for the commit; listeners run after it. The journal decides duplicates (its
  // unique key), across restarts and instances. A journal that fails must not lose the push: it is
  // delivered from memory and reported, or, with onJournalError 'refuse', answered 503.
  #journaled(journal: NonNullable<ReceiverOptions['journal']>, route: Route, notification: Notification, context: ReceiveContext, ack: Ack | undefined): Promise<OutcomeEvent | 'refused'> {
    const { delivery } = journal;
    const record: NotificationRecord = {
      kind: 'notification',
      key: journal.keyed ? dedupeKey(route.type, notification) : null,
      event: route.event,
      notifyType: route.type,
      deviceId: notification.deviceId,
      body: JSON.stringify(notification),
      ip: context.ip ?? null,
      receivedAt: context.receivedAt,
      leased: false,
    };
    return this.#hub.track(
      delivery.commit.add(record).then(
        ({ id, duplicate, spilled }) => {
          ack?.(false);
          if (duplicate) {
            if (record.leased) delivery.released(1);
            return this.#deliver(route, notification, { ...context, id }, true);
          }
          this.#counters.count(route.event);
          this.#noteUnheard(route.event, true);
          this.#hub.observe(notification, context);
          // Kept in the spill while the journal fails: delivered once it is moved into the journal.
          if (spilled === true) {
            if (record.leased) delivery.released(1);
            return route.event;
          }
          if (record.leased) delivery.start(id, route.event, notification, context);
          return route.event;
        },
        (error: unknown) => {
          if (record.leased) delivery.released(1);
          const fallback = journal.refuse ? 'answered 503: the platform will send it again' : 'delivered from memory, once';
          delivery.failed(error, `the ${delivery.kind} journal could not record a push (${fallback})`, notification);
          if (!journal.refuse) {
            ack?.(false);
            return this.#deliver(route, notification, context, false);
          }
          ack?.(true);
          delivery.refused += 1;
          return 'refused' as const;
        },
      ),
    );
  }

  // A store that throws, rejects or is unreachable must not lose the notification: it is emitted as
  // new (fail open) and the failure is reported as `error`.
  #deduplicate(route: Route, notification: Notification, context: ReceiveContext): Outcome {
    const dedupe = this.#dedupe;
    if (dedupe === undefined) return this.#deliver(route, notification, context, false);
    if ('memory' in dedupe) return this.#deliver(route, notification, context, dedupe.memory.seen(route.type, notification));
    let seen: unknown;
    try {
      seen = dedupe.store.seen(dedupeKey(route.type, notification), dedupe.ttl);
    } catch (error) {
      this.#storeFailed(error, notification);
      seen = false;
    }
    if (typeof seen === 'boolean') return this.#deliver(route, notification, context, seen);
    return this.#hub.track(
      settle(seen).then(
        // A store written in JavaScript may answer anything; only true means "seen before".
        (answer) => this.#deliver(route, notification, context, answer === true),
        (error: unknown) => {
          this.#storeFailed(error, notification);
          return this.#deliver(route, notification, context, false);
        },
      ),
    );
  }

  #storeFailed(error: unknown, notification: Notification): void {
    this.#counters.storeErrors += 1;
    const message = `duplicate store failed, notification emitted as new: ${describeThrown(error)}`;
    this.#hub.report(new Error(message, { cause: error }), notification);
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
