// Where the dashboard's fold gets its pushes: the router's events since start (in memory), or the
// journal, read from the beginning and then followed, so that the view survives a restart and, with
// Postgres, covers every instance.
import type { Journal } from '../journal/journal';
import type { Notification } from '../notification-types';
import type { UpgradeRouter } from '../router';
import { ignore } from '../core/thrown';

type Apply = (notification: Notification, at: Date) => void;

const upgradeEvents = ['upgradeResult', 'upgradeState', 'firmwareUpgradeResult', 'firmwareUpgradeState'] as const;

/** Follows the router's events: valid, new notifications only (duplicates and invalid pushes are other events). */
export function followRouter(router: UpgradeRouter, apply: Apply): () => void {
  const listener = (notification: Notification, context: { receivedAt: Date }): void => apply(notification, context.receivedAt);
  for (const event of upgradeEvents) router.on(event, listener);
  return () => {
    for (const event of upgradeEvents) router.off(event, listener);
  };
}

const POLL_MS = 500;
const BATCH = 5000;
// Postgres hands out ids at insert and commits in any order: an id just below the last one read may
// become visible later. Each read starts this far back and skips what was folded already.
const LOOKBACK = 1000;

/** Reads the journal's notifications in id order, then polls for new ones; `onError` hears failed reads. */
export function followJournal(journal: Journal, apply: Apply, changed: () => void, onError: (error: unknown) => void): () => void {
  let last = 0;
  const folded = new Set<number>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const read = async (): Promise<void> => {
    for (;;) {
      const from = Math.max(0, last - LOOKBACK);
      const entries = await journal.notificationsAfter(String(from), BATCH);
      let added = 0;
      for (const entry of entries) {
        const id = Number(entry.id);
        if (folded.has(id)) continue;
        folded.add(id);
        last = Math.max(last, id);
        apply(JSON.parse(entry.body) as Notification, entry.receivedAt);
        added += 1;
      }
      for (const id of folded) if (id <= last - LOOKBACK) folded.delete(id);
      if (added > 0) changed();
      // A full batch of new entries: there may be more right away.
      if (entries.length < BATCH || added === 0) return;
    }
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
