// The intake without a journal: a push is not kept, only looked up in the duplicate store (in memory
// by default, or a shared one), and the core emits it at once. A store that throws, rejects or is
// unreachable must not lose the push: it is emitted as new (fail open) and the failure reported.
import { dedupeKey, type ResolvedDedupe } from './dedupe';
import type { CheckedPush, Intake, Kept } from './intake';
import type { Notification, NotifyType } from './notification-types';
import { settle as settled } from './thrown';

export class MemoryIntake implements Intake {
  readonly durable = false;
  readonly kind = 'memory';
  readonly #dedupe: ResolvedDedupe | undefined;
  readonly #storeFailed: (error: unknown, notification: Notification) => void;

  constructor(dedupe: ResolvedDedupe | undefined, storeFailed: (error: unknown, notification: Notification) => void) {
    this.#dedupe = dedupe;
    this.#storeFailed = storeFailed;
  }

  keep<T>(push: CheckedPush, settle: (kept: Kept) => T): T | Promise<T> {
    const dedupe = this.#dedupe;
    if (dedupe === undefined) return settle({ kept: 'memory', duplicate: false });
    const type = push.notifyType as NotifyType;
    const notification = push.notification as Notification;
    if ('memory' in dedupe) return settle({ kept: 'memory', duplicate: dedupe.memory.seen(type, notification) });
    let seen: unknown;
    try {
      seen = dedupe.store.seen(dedupeKey(type, notification), dedupe.ttl);
    } catch (error) {
      this.#storeFailed(error, notification);
      seen = false;
    }
    if (typeof seen === 'boolean') return settle({ kept: 'memory', duplicate: seen });
    return settled(seen).then(
      // A store written in JavaScript may answer anything; only true means "seen before".
      (answer) => settle({ kept: 'memory', duplicate: answer === true }),
      (error: unknown) => {
        this.#storeFailed(error, notification);
        return settle({ kept: 'memory', duplicate: false });
      },
    );
  }

  // Nothing is kept without a journal: the `invalid` event is all there is.
  keepRejected(): Promise<void> {
    return Promise.resolve();
  }
}
