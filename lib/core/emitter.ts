import { EventEmitter } from 'node:events';
import type { Delivered, Listener, NotificationEvents, ReceiveContext, UpgradeEventName, UpgradeRouterEvents } from './events';
import { notificationTable, type Notification } from './notification-types';
import { log, type LogDetails, type Logger } from './log';
import { RepeatedLog } from './repeated-log';
import { asError, ignore, mayBeThenable, settle } from './thrown';


/** The listener methods of the router, typed by event name: a wrong name or listener does not compile. */
export interface UpgradeEmitter {
  on<E extends UpgradeEventName>(event: E, listener: Listener<E>): this;
  addListener<E extends UpgradeEventName>(event: E, listener: Listener<E>): this;
  once<E extends UpgradeEventName>(event: E, listener: Listener<E>): this;
  prependListener<E extends UpgradeEventName>(event: E, listener: Listener<E>): this;
  prependOnceListener<E extends UpgradeEventName>(event: E, listener: Listener<E>): this;
  off<E extends UpgradeEventName>(event: E, listener: Listener<E>): this;
  removeListener<E extends UpgradeEventName>(event: E, listener: Listener<E>): this;
  removeAllListeners(event?: UpgradeEventName): this;
  listenerCount(event: UpgradeEventName): number;
  listeners<E extends UpgradeEventName>(event: E): Array<Listener<E>>;
  /** Raises or lowers the listener count per event above which Node warns of a leak (default 10). */
  setMaxListeners(n: number): this;
  getMaxListeners(): number;
}

type AnyListener = (...args: unknown[]) => unknown;

/** Results filled in from the platform (no push): never sent to `notification` listeners. */
export type FilledEvent = 'reconciledResult' | 'iotdaDeviceResult';

/** The events a journal delivers: the pushes' own, and results filled in from the platform. */
export type JournaledEvent = keyof NotificationEvents | FilledEvent;

const notificationEvents: ReadonlyArray<keyof NotificationEvents> = Object.values(notificationTable).map((entry) => entry.event);
const journaledEvents: readonly JournaledEvent[] = [...notificationEvents, 'reconciledResult', 'iotdaDeviceResult'];
const isFilled = (event: JournaledEvent): event is FilledEvent => event === 'reconciledResult' || event === 'iotdaDeviceResult';

export type Observer = (notification: Notification, context: ReceiveContext) => void;

/** What one journaled delivery came to: whether any listener ran, and the first failure. */
export interface DeliveryOutcome {
  heard: boolean;
  failure: { error: unknown } | undefined;
}

/** What drain() settles with: whether every listener promise settled, and how many had not. */
export interface DrainResult {
  drained: boolean;
  pending: number;
}

const chainable = [
  'on',
  'addListener',
  'once',
  'prependListener',
  'prependOnceListener',
  'off',
  'removeListener',
  'removeAllListeners',
] as const;


/** A `once` wrapper as rawListeners() returns it: the user's function is its `listener`. */
type OnceWrapper = AnyListener & { listener: AnyListener };

function isOnceWrapper(listener: AnyListener): listener is OnceWrapper {
  return typeof (listener as Partial<OnceWrapper>).listener === 'function';
}

// The internal emitter's class name is what Node's MaxListenersExceededWarning shows; the user
// raises the limit with router.setMaxListeners(), so the warning names what they can reach.
class UpgradeRouter extends EventEmitter {}

/**
 * Node's EventEmitter keeps the listeners (on/once/prepend/off semantics as users know them), but it
 * is never asked to emit: its emit() stops at the first listener that throws, turns a rejection into an
 * uncaught exception, and throws on an `error` event nobody listens to. Any of those would let one bad
 * listener crash the host or starve the others, so dispatch() calls each listener on its own.
 */
export class EventHub {
  readonly #listeners = new UpgradeRouter();
  readonly #snapshots = new Map<UpgradeEventName, readonly AnyListener[]>();
  readonly #logger: Logger;
  readonly #idleWaiters = new Set<() => void>();
  readonly #observers = new Set<Observer>();
  readonly #repeats: RepeatedLog;
  #owner: object = this;
  #inFlight = 0;
  #listenerErrors = 0;

  constructor(logger: Logger) {
    this.#logger = logger;
    this.#repeats = new RepeatedLog(logger);
  }

  /** Adds the listener methods to `target`; they return `target`, so calls chain as on any emitter. */
  bindTo<T extends object>(target: T): T & UpgradeEmitter {
    this.#owner = target;
    const listeners = this.#listeners;
    const methods: Record<string, unknown> = {
      listenerCount: (event: UpgradeEventName) => listeners.listenerCount(event),
      listeners: (event: UpgradeEventName) => listeners.listeners(event),
      getMaxListeners: () => listeners.getMaxListeners(),
      setMaxListeners: (n: number) => {
        listeners.setMaxListeners(n);
        return target;
      },
    };
    for (const name of chainable) {
      methods[name] = (...args: unknown[]) => {
        (listeners[name] as (...a: unknown[]) => unknown).apply(listeners, args);
        this.#snapshots.clear();
        return target;
      };
    }
    return Object.assign(target, methods) as T & UpgradeEmitter;
  }

  /**
   * Adds an observer (the dashboard's, the reconciler's): it sees every new valid notification once,
   * as it is accepted, but is not a listener. Returns the way to remove it.
   */
  addObserver(observer: Observer): () => void {
    this.#observers.add(observer);
    return () => void this.#observers.delete(observer);
  }

  /** A new valid notification was accepted: each observer sees it once; one that throws is logged, never more. */
  observe(notification: Notification, context: ReceiveContext): void {
    // The usual case, no dashboard: no iterator made per push (the core runs a million a second).
    if (this.#observers.size === 0) return;
    for (const observer of this.#observers) {
      try {
        observer(notification, context);
      } catch (error) {
        this.#log('an observer of the router failed', { error: asError(error, 'an observer threw'), notification });
      }
    }
  }

  /**
   * Calls every listener of `event`; failures become `error` events and never reach the caller. The
   * usual path allocates nothing: the listener list is a cached copy, and a failure handler is made
   * only for a listener that returned something promise-like.
   */
  dispatch<E extends UpgradeEventName>(event: E, args: UpgradeRouterEvents[E], notification?: Delivered): void {
    const listeners = this.#snapshot(event);
    for (let i = 0; i < listeners.length; i += 1) {
      const listener = this.#unwrap(event, listeners[i] as AnyListener);
      let result: unknown;
      try {
        result = listener.apply(this.#owner, args);
      } catch (error) {
        this.#fail(error, notification);
        continue;
      }
      if (mayBeThenable(result)) this.#track(result, (error) => this.#fail(error, notification));
    }
  }

  // rawListeners() copies the list on every call; the copy is kept until a listener is added or
  // removed (every method that can do either clears it, and so does a `once` listener's removal).
  #snapshot(event: UpgradeEventName): readonly AnyListener[] {
    let listeners = this.#snapshots.get(event);
    if (listeners === undefined) {
      listeners = this.#listeners.rawListeners(event) as AnyListener[];
      this.#snapshots.set(event, listeners);
    }
    return listeners;
  }

  /**
   * One journaled delivery: the listeners of `event`, then those of `notification` (not for a
   * reconciled result, which is no push), each called as dispatch() calls them. Settles once every one
   * has returned or settled, with the first failure (each failure is also reported as `error`), or
   * undefined when all succeeded.
   */
  deliver(event: JournaledEvent, notification: Delivered, context: ReceiveContext): Promise<DeliveryOutcome> {
    let failure: { error: unknown } | undefined;
    let heard = false;
    const waits: Array<Promise<unknown>> = [];
    const onFailure = (error: unknown): void => {
      failure ??= { error };
      this.#fail(error, notification);
    };
    for (const name of isFilled(event) ? [event] : ([event, 'notification'] as const)) {
      for (const listener of this.#snapshot(name)) {
        heard = true;
        this.#call(this.#unwrap(name, listener), [notification, context], onFailure, waits);
      }
    }
    return Promise.all(waits).then(() => ({ heard, failure }));
  }

  /** The journaled events someone listens to (every push's while `notification` has a listener). */
  heardEvents(): JournaledEvent[] {
    return journaledEvents.filter((event) => this.heard(event));
  }

  /** Whether a delivery of `event` would reach a listener now. */
  heard(event: JournaledEvent): boolean {
    return this.#listeners.listenerCount(event) > 0 || (!isFilled(event) && this.#listeners.listenerCount('notification') > 0);
  }

  /** Reports a failure outside a listener (a duplicate store, say) the way listener failures are. */
  report(error: Error, notification: Delivered | undefined): void {
    this.#reportToErrorListeners(error, notification);
  }

  /** Counts `work` in flight until it settles, so drain() waits for it too. */
  track<T>(work: Promise<T>): Promise<T> {
    this.#inFlight += 1;
    return work.finally(() => this.#settle());
  }

  /** How many listeners `event` has. */
  listenerCount(event: UpgradeEventName): number {
    return this.#listeners.listenerCount(event);
  }

  /** Listener failures so far (each thrown error or rejection once). */
  get listenerErrors(): number {
    return this.#listenerErrors;
  }

  /** Listener promises that have not settled yet. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Settles once no listener promise is in flight, or when `timeoutMs` has passed. */
  drain(timeoutMs = Infinity): Promise<DrainResult> {
    if (this.#inFlight === 0) return Promise.resolve({ drained: true, pending: 0 });
    return new Promise((resolve) => {
      const onIdle = (): void => {
        clearTimeout(timer);
        resolve({ drained: true, pending: 0 });
      };
      const timer = Number.isFinite(timeoutMs)
        ? setTimeout(() => {
            this.#idleWaiters.delete(onIdle);
            resolve({ drained: false, pending: this.#inFlight });
          }, timeoutMs)
        : undefined;
      this.#idleWaiters.add(onIdle);
    });
  }

  // A `once` listener is removed here and called as itself: its wrapper would call it with the
  // hidden emitter as `this`, where `on` listeners get the router.
  #unwrap(event: UpgradeEventName, listener: AnyListener): AnyListener {
    if (!isOnceWrapper(listener)) return listener;
    this.#listeners.removeListener(event, listener);
    this.#snapshots.delete(event);
    return listener.listener;
  }

  // One listener call: a synchronous throw and a rejection are both handed to onFailure, and a
  // returned promise is counted in flight until it settles, so drain() can wait for it. onFailure
  // never throws (thrown.ts), so the tracked promise always fulfils.
  #call(listener: AnyListener, args: unknown[], onFailure: (error: unknown) => void, waits?: Array<Promise<unknown>>): void {
    let result: unknown;
    try {
      result = listener.apply(this.#owner, args);
    } catch (error) {
      onFailure(error);
      return;
    }
    if (mayBeThenable(result)) this.#track(result, onFailure, waits);
  }

  // A listener's promise-like result, counted in flight until it settles; its failure goes to
  // onFailure. `waits` collects the tracked promise.
  #track(result: unknown, onFailure: (error: unknown) => void, waits?: Array<Promise<unknown>>): void {
    const tracked = this.track(settle(result).then(undefined, onFailure));
    tracked.catch(ignore);
    waits?.push(tracked);
  }

  #settle(): void {
    this.#inFlight -= 1;
    if (this.#inFlight > 0) return;
    for (const onIdle of this.#idleWaiters) onIdle();
    this.#idleWaiters.clear();
  }

  #fail(thrown: unknown, notification: Delivered | undefined): void {
    this.#listenerErrors += 1;
    this.#reportToErrorListeners(asError(thrown, 'a listener threw'), notification);
  }

  #reportToErrorListeners(error: Error, notification: Delivered | undefined): void {
    const handlers = this.#listeners.rawListeners('error') as AnyListener[];
    if (handlers.length === 0) {
      this.#log('no error listener is attached for this failure', { error, notification });
      return;
    }
    for (const handler of handlers) {
      this.#call(handler, [error, notification], (failure) => this.#log('an error listener failed', { error: asError(failure, 'an error listener threw'), handling: error }));
    }
  }

  // Repeats of one failure are logged once, then counted: an outage of the
  // listener's database wrote one stack per attempt, 58 MB in 2.5 minutes.
  #log(message: string, details: LogDetails & { error: Error }): void {
    this.#repeats.error(message, details);
  }

  /** A warning through the logger (its warn() when it has one). */
  warn(message: string): void {
    log(this.#logger, 'warn', message);
  }
}

