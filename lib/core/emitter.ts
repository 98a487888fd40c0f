import { EventEmitter } from 'node:events';
import type { Listener, UpgradeEventName, UpgradeRouterEvents } from '../events';
import type { Notification } from '../notification-types';

/** Where the router reports what it cannot hand to an `error` listener. */
export interface Logger {
  error(message: string, ...details: unknown[]): void;
}

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
}

type AnyListener = (...args: unknown[]) => unknown;

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

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function toError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(`listener threw a non-Error value: ${String(thrown)}`, { cause: thrown });
}

/**
 * Node's EventEmitter keeps the listeners (on/once/prepend/off semantics as users know them), but it
 * is never asked to emit: its emit() stops at the first listener that throws, turns a rejection into an
 * uncaught exception, and throws on an `error` event nobody listens to. Any of those would let one bad
 * listener crash the host or starve the others, so dispatch() calls each listener on its own.
 */
export class EventHub {
  readonly #listeners = new EventEmitter();
  readonly #logger: Logger;
  readonly #idleWaiters = new Set<() => void>();
  #owner: object = this;
  #inFlight = 0;
  #listenerErrors = 0;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Adds the listener methods to `target`; they return `target`, so calls chain as on any emitter. */
  bindTo<T extends object>(target: T): T & UpgradeEmitter {
    this.#owner = target;
    const listeners = this.#listeners;
    const methods: Record<string, unknown> = {
      listenerCount: (event: UpgradeEventName) => listeners.listenerCount(event),
      listeners: (event: UpgradeEventName) => listeners.listeners(event),
    };
    for (const name of chainable) {
      methods[name] = (...args: unknown[]) => {
        (listeners[name] as (...a: unknown[]) => unknown).apply(listeners, args);
        return target;
      };
    }
    return Object.assign(target, methods) as T & UpgradeEmitter;
  }

  /** Calls every listener of `event`; failures become `error` events and never reach the caller. */
  dispatch<E extends UpgradeEventName>(event: E, args: UpgradeRouterEvents[E], notification?: Notification): void {
    for (const listener of this.#listeners.rawListeners(event) as AnyListener[]) {
      this.#call(listener, args, (error) => this.#fail(error, notification));
    }
  }

  /** Reports a failure outside a listener (a duplicate store, say) the way listener failures are. */
  report(error: Error, notification: Notification | undefined): void {
    this.#reportToErrorListeners(error, notification);
  }

  /** Counts `work` in flight until it settles, so drain() waits for it too. */
  track<T>(work: Promise<T>): Promise<T> {
    this.#inFlight += 1;
    return work.finally(() => this.#settle());
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

  // One listener call: a synchronous throw and a rejection are both handed to onFailure, and a
  // returned promise is counted in flight until it settles, so drain() can wait for it.
  #call(listener: AnyListener, args: unknown[], onFailure: (error: unknown) => void): void {
    let result: unknown;
    try {
      result = listener.apply(this.#owner, args);
    } catch (error) {
      onFailure(error);
      return;
    }
    if (isThenable(result)) void this.track(Promise.resolve(result).then(undefined, onFailure));
  }

  #settle(): void {
    this.#inFlight -= 1;
    if (this.#inFlight > 0) return;
    for (const onIdle of this.#idleWaiters) onIdle();
    this.#idleWaiters.clear();
  }

  #fail(thrown: unknown, notification: Notification | undefined): void {
    this.#listenerErrors += 1;
    this.#reportToErrorListeners(toError(thrown), notification);
  }

  #reportToErrorListeners(error: Error, notification: Notification | undefined): void {
    const handlers = this.#listeners.rawListeners('error') as AnyListener[];
    if (handlers.length === 0) {
      this.#log('no error listener is attached for this failure', error, notification);
      return;
    }
    for (const handler of handlers) {
      this.#call(handler, [error, notification], (failure) => this.#log('an error listener failed', failure, error));
    }
  }

  // A logger that throws must not break the request path either.
  #log(message: string, ...details: unknown[]): void {
    try {
      this.#logger.error(`huawei-iot-upgrade-router: ${message}`, ...details);
    } catch {
      // Nothing else is left to report to.
    }
  }
}
