// The journal's health as the rollout owner needs it: what waits, what died, what was refused, and
// the command that acts on each. Read from the router's figures (refreshed every 2 s), never from a
// query of its own: the page asks on every change.
import type { UpgradeRouter } from '../router/router';
import type { JournalStats } from '../journal/delivery';
import type { FoldStats } from './fold';

export interface DashboardHealth {
  /** The journal's figures for every instance sharing it; null without a journal. */
  journal: JournalStats | null;
  /** Pushes the router refused as invalid since start, by reason (kept in the journal when there is one). */
  invalid: Record<string, number>;
  /** Listener calls that failed since start (each an `error` event). */
  listenerErrors: number;
  /** The dashboard's own holdings. */
  dashboard: FoldStats & { streams: number };
  /** What to do about what is wrong now, one sentence each (empty when nothing is). */
  actions: string[];
}

const JOURNAL = 'huawei-iot-upgrade-router journal (--db FILE | --postgres URL)';

export function healthOf(router: UpgradeRouter, dashboard: FoldStats & { streams: number }): DashboardHealth {
  const stats = router.stats();
  const journal = stats.journal ?? null;
  const invalid = Object.values(stats.invalid).reduce((sum, count) => sum + count, 0);
  const actions: string[] = [];
  if (journal !== null) {
    if (journal.dead > 0) actions.push(`${journal.dead} dead entries (out of attempts): \`${JOURNAL} dead\` lists them, \`replay --dead\` delivers them again once the listener is fixed.`);
    if (journal.retrying > 0) actions.push(`${journal.retrying} entries are retrying after failed deliveries: \`${JOURNAL} pending\` shows them and their last error.`);
    if (journal.invalid > 0) actions.push(`${journal.invalid} invalid pushes kept: \`${JOURNAL} invalid\` lists them, \`show ID\` shows the bytes, \`replay ID\` takes one in once it passes the schemas.`);
    if (journal.oldestPendingSeconds > 300) actions.push(`the oldest pending entry waits for ${Math.round(journal.oldestPendingSeconds / 60)} min: is a listener attached for every event in pendingByEvent?`);
    if (journal.errors > 0) actions.push(`${journal.errors} journal operations failed since start: see the router's error events in the log.`);
  } else if (invalid > 0) actions.push(`${invalid} invalid pushes since start: without a journal they are only in the invalid events (log them).`);
  if (dashboard.droppedDevices > 0) actions.push(`the dashboard dropped ${dashboard.droppedDevices} least recently active devices to stay within its limits (limits.devices, limits.bytes).`);
  return { journal, invalid: { ...stats.invalid }, listenerErrors: stats.listenerErrors, dashboard, actions };
}
