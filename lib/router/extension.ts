// How a capability attaches to a router (the reconciler, the dashboard, the next ones): one typed
// extension point, found by the router object, instead of properties under well-known symbols read
// through casts. The package loads one copy of this module (its ES entries re-export the CommonJS
// ones), so a router made through either entry is found from both.
import type { Observer } from '../core/emitter';
import type { ReconcilerStats } from '../core/stats';
import type { IotdaDeviceResult, ReconciledResult } from '../core/events';
import type { Journal } from '../journal/journal';

/**
 * The key a capability attaches under, declared (typed) by the capability's own module: the router
 * holds capabilities without knowing their types, and the dashboard finds the reconciler by its key.
 */
export interface CapabilityKey<T> {
  readonly description: string;
  /** Never set: carries the capability's type. */
  readonly capability?: T;
}

export function capabilityKey<T>(description: string): CapabilityKey<T> {
  return { description };
}

/** What a router offers the capabilities that attach to it. */
export interface RouterExtension {
  /** The router's journal, if it has one. */
  readonly journal: Journal | undefined;
  /**
   * Sees every new valid notification once, as it is accepted; returns the way to stop. An observer is
   * not a listener: it does not silence the "no listener" warning, and with a journal an entry nobody
   * but an observer hears waits for a listener.
   */
  observe(observer: Observer): () => void;
  /** Commits `result` to the journal and delivers it as `reconciledResult`; false when its key was there (a duplicate). */
  fill(result: ReconciledResult): Promise<boolean>;
  /** The same for an IoTDA device's outcome, delivered as `iotdaDeviceResult`. */
  fillIotda(result: IotdaDeviceResult): Promise<boolean>;
  /** Reports a capability's failure as the router's `error` event. */
  report(error: Error): void;
  /** A warning through the router's logger. */
  warn(message: string): void;
  /** Attaches a capability under its key (one a key; a second replaces the first). */
  attach<T>(key: CapabilityKey<T>, capability: T): void;
  /** The capability attached under `key`, if any. */
  attached<T>(key: CapabilityKey<T>): T | undefined;
  /** Where the router's stats().reconciliation come from. */
  reconciliationStats(source: () => ReconcilerStats): void;
}

const extensions = new WeakMap<object, RouterExtension>();

/** Called once by createUpgradeRouter for the router it makes. */
export function registerExtension(router: object, extension: RouterExtension): void {
  extensions.set(router, extension);
}

/** The extension point of a router made by createUpgradeRouter; undefined for anything else. */
export function extensionOf(router: unknown): RouterExtension | undefined {
  return (typeof router === 'function' || typeof router === 'object') && router !== null ? extensions.get(router) : undefined;
}
