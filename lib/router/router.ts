import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpTransport, type NextFunction } from '../transport/http';
import { EventHub, type DrainResult, type UpgradeEmitter } from '../core/emitter';
import { MemoryIntake } from '../core/memory-intake';
import { Receiver, type Outcome } from '../core/receiver';
import { JournalDelivery } from '../journal/delivery';
import type { ReconcilerStats, UpgradeRouterStats } from '../core/stats';
import { registerExtension, type CapabilityKey, type RouterExtension } from './extension';
import type { IotdaDeviceResult, ReceiveContext, ReconciledResult } from '../core/events';
import { resolveOptions, type UpgradeRouterOptions } from './options';
import { codedError } from '../core/errors';

export type { NextFunction };

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

/** The journal key of a filled-in result: one per sub-task, whoever fills it. */
export const reconciledKey = (result: ReconciledResult): string => `reconciledResult:${result.operationId.length}:${result.operationId}:${result.subOperationId}`;

/** The journal key of an IoTDA device's outcome: one per task, device and final status. */
export const iotdaResultKey = (result: IotdaDeviceResult): string =>
  `iotdaDeviceResult:${result.taskId.length}:${result.taskId}:${result.deviceId.length}:${result.deviceId}:${result.status}`;

export function createUpgradeRouter(options: UpgradeRouterOptions = {}): UpgradeRouter {
  const { limit, logger, types, dedupe, access, reportOnly, checksIps, passUnknownTypes, journal } = resolveOptions(options);
  const hub = new EventHub(logger);
  const delivery = journal === undefined ? undefined : new JournalDelivery(hub, journal.journal, journal.delivery);
  const intake = delivery ?? new MemoryIntake(dedupe, (error, notification) => receiver.storeFailed(error, notification));
  const receiver: Receiver = new Receiver(hub, { types, intake });

  const http = new HttpTransport(receiver, {
    limit,
    access,
    reportOnly,
    checksIps,
    passUnknownTypes,
    durable: intake.durable,
    warn: (message) => hub.warn(message),
    report: (error) => hub.report(error, undefined),
  });

  const keepFilled = async (result: ReconciledResult | IotdaDeviceResult, key: string): Promise<boolean> => {
    if (!intake.durable) throw codedError('ERR_NO_JOURNAL', 'filling in results needs the router to have a journal');
    const event = result.notifyType;
    const push = { event, notifyType: event, key, deviceId: result.deviceId, notification: result, context: { receivedAt: new Date(), ip: undefined }, filled: true } as const;
    return hub.track(
      Promise.resolve(
        intake.keep(push, (kept) => {
          if (kept.kept === 'lost') throw kept.error;
          const added = kept.kept === 'spill' || !kept.duplicate;
          if (added && event === 'reconciledResult') receiver.reconciled();
          if (!hub.heard(event)) {
            http.hint(event, `'${event}' was journaled with no listener for it: it waits in the journal until one is attached. Listen with router.on('${event}', ...).`);
          }
          return added;
        }),
      ),
    );
  };
  const fill = (result: ReconciledResult): Promise<boolean> => keepFilled(result, reconciledKey(result));
  const fillIotda = (result: IotdaDeviceResult): Promise<boolean> => keepFilled(result, iotdaResultKey(result));
  const capabilities = new Map<CapabilityKey<unknown>, unknown>();
  let reconciliation: (() => ReconcilerStats) | undefined;
  const extension: RouterExtension = {
    journal: journal?.journal,
    observe: (observer) => hub.addObserver(observer),
    fill,
    fillIotda,
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

  const router = Object.assign(http.handle, {
    receive: (body: unknown, context?: Partial<ReceiveContext>) =>
      // Without a context, a literal: the spread's copy is measurable at a million calls a second.
      receiver.receive(body, context === undefined ? { receivedAt: new Date(), ip: undefined } : { receivedAt: new Date(), ip: undefined, ...context }),
    errorHandler: http.errorHandler,
    stats: () => {
      const stats = receiver.stats();
      if (delivery !== undefined) stats.journal = delivery.stats();
      if (reconciliation !== undefined) stats.reconciliation = reconciliation();
      return stats;
    },
    drain: (timeoutMs?: number) => hub.drain(timeoutMs),
    close: async (timeoutMs = 10_000) => {
      const started = performance.now();
      await hub.drain(timeoutMs);
      await delivery?.close(Math.max(0, timeoutMs - (performance.now() - started)));
    },
  });
  const bound = hub.bindTo(router);
  registerExtension(bound, extension);
  return bound;
}
