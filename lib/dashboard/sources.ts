// Where the dashboard's fold gets its pushes: the router's events since start (in memory), or the
// journal, read from the beginning and then followed, so that the view survives a restart and, with
// Postgres, covers every instance.
import type { Journal } from '../journal/journal';
import type { Delivered } from '../core/events';
import { isFolded, type Folded } from './fold';
import type { UpgradeRouter } from '../router/router';
import { extensionOf } from '../router/extension';
import { ignore } from '../core/thrown';
import { codedError } from '../core/errors';

// The dashboard is about devices: IoTDA's task pushes are left out (their devices come as results).
type Apply = (notification: Folded, at: Date) => void;

/**
 * Follows the router's new valid notifications as an observer, not a listener: the dashboard must not
 * change delivery, silence the "no listener" warning, or take a `once` listener's turn.
 */
export function followRouter(router: UpgradeRouter, apply: Apply): () => void {
  const extension = extensionOf(router);
  if (extension === undefined) throw codedError('ERR_INVALID_OPTION', 'huawei-iot-upgrade-router: the dashboard needs a router made by createUpgradeRouter() of the same package', { kind: TypeError });
  return extension.observe((notification, context) => {
    if (isFolded(notification)) apply(notification, context.receivedAt);
  });
}

const POLL_MS = 500;
const BATCH = 5000;
// Postgres hands out ids at insert and commits in any order: an id below the last one read may become
// visible later, however many ids later. Every id skipped is remembered and asked
// for again until it appears or is this old: a transaction of the journal never outlives its 5 s
// statement timeout, and ids that never appear (a duplicate's insert, a rolled-back one) are many.
const GAP_MS = 60_000;
/** Gaps remembered at most; past it the oldest are given up (a flood of duplicates, each using up an id). */
const MAX_GAPS = 100_000;

/**
 * Reads the journal's notifications in id order, then polls for new ones; `onError` hears failed reads,
 * `recovered` every read that succeeded (so a failure after a recovery is reported again).
 */
export function followJournal(journal: Journal, apply: Apply, recovered: () => void, onError: (error: unknown) => void): () => void {
  let last = 0;
  // Gaps are looked for once the journal has been read to its end: ids missing in what was there
  // before (pruned, invalid entries) are not late commits.
  let caughtUp = false;
  // id -> when it was first found missing (monotonic ms); Map keeps insertion order, oldest first.
  const gaps = new Map<number, number>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const fold = (entry: { id: string; body: string; receivedAt: Date }): void => {
    const delivered = JSON.parse(entry.body) as Delivered;
    if (isFolded(delivered)) apply(delivered, entry.receivedAt);
  };

  const readGaps = async (): Promise<void> => {
    const now = performance.now();
    for (const [id, since] of gaps) {
      if (now - since < GAP_MS && gaps.size <= MAX_GAPS) break;
      gaps.delete(id);
    }
    if (gaps.size === 0) return;
    const ids = [...gaps.keys()];
    for (let i = 0; i < ids.length; i += BATCH) {
      for (const entry of await journal.notificationsIn(ids.slice(i, i + BATCH).map(String))) {
        if (!gaps.delete(Number(entry.id))) continue;
        fold(entry);
      }
    }
  };

  const read = async (): Promise<void> => {
    await readGaps();
    for (;;) {
      const entries = await journal.notificationsAfter(String(last), BATCH);
      const now = performance.now();
      for (const entry of entries) {
        const id = Number(entry.id);
        if (caughtUp) for (let missing = Math.max(last + 1, id - MAX_GAPS); missing < id; missing += 1) gaps.set(missing, now);
        last = id;
        fold(entry);
      }
      // A full batch: there may be more right away.
      if (entries.length < BATCH) break;
    }
    caughtUp = true;
    recovered();
  };
  const poll = (): void => {
    read()
      .catch(onError)
      .finally(() => {
        if (!stopped) timer = setTimeout(poll, POLL_MS).unref();
      })
      .catch(ignore);
  };
  poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
