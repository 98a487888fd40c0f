// Where the core hands each checked push before it is answered. The core acts on what the intake
// says became of the push; how it is kept (in memory, in a journal with leases, retries and a spill
// folder) is the intake's own business, so a new path into the router cannot leak a delivery slot.
import type { Delivered, ReceiveContext } from './events';
import type { JournaledEvent } from './emitter';

/** A push that passed its schema (or a result the reconciler filled in), as the intake keeps it. */
export interface CheckedPush {
  event: JournaledEvent;
  notifyType: string;
  /** Its duplicate key when it is not derived from the push's type and fields (a filled-in result's). */
  key?: string;
  deviceId: string | null;
  notification: Delivered;
  context: ReceiveContext;
  /**
   * A result the reconciler filled in: no answer waits on it, and a failure to keep it is thrown to
   * the reconciler (not reported, nor answered 503).
   */
  filled?: true;
}

/** Anything received that was not a valid notification, kept so that nothing received is lost. */
export interface RejectedPush {
  reason: string;
  message: string;
  notifyType: string | null;
  deviceId: string | null;
  /** The parsed body as JSON text, when there was one. */
  body: string | null;
  /** The bytes received, up to the router's limit, when there were any. */
  raw: Buffer | null;
  ip: string | null;
  receivedAt: Date;
}

/**
 * What became of a push:
 * - `memory`: not kept; the core emits it now (`duplicate` when seen before);
 * - `journal`: committed (or found there already, `duplicate`); the intake delivers a new one itself;
 * - `spill`: kept in the spill folder while the journal fails; delivered once it is moved back;
 * - `lost`: the journal failed and it could not be kept (reported, unless `filled`): the core delivers
 *   it from memory, or, with `refuse`, answers 503 so that the platform sends it again.
 */
export type Kept =
  | { kept: 'memory'; duplicate: boolean }
  | { kept: 'journal'; id: string; duplicate: boolean }
  | { kept: 'spill' }
  | { kept: 'lost'; refuse: boolean; error: unknown };

/** A push checked again from its journaled text (`journal replay` of an invalid entry). */
export interface RecheckedPush {
  key: string | null;
  event: string;
  notifyType: string;
  deviceId: string | null;
  body: string;
}

export interface Intake {
  /** Whether the answer waits for the push to be kept (a journal). */
  readonly durable: boolean;
  /** What keeps it, for messages: 'memory', 'sqlite', 'postgres'. */
  readonly kind: string;
  /**
   * Keeps one push and calls `settle` with what became of it (the core answers, counts and emits
   * there), then, when it kept a new push for delivery, starts that delivery: the answer always goes
   * out first. Synchronous when nothing had to be waited for.
   */
  keep<T>(push: CheckedPush, settle: (kept: Kept) => T): T | Promise<T>;
  /** Keeps a rejected push for the record; a failure is reported, never thrown. */
  keepRejected(push: RejectedPush): Promise<void>;
}
