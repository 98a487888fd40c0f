// What the SQLite and Postgres journals share: the table's name, how a row reads as an entry, the
// order records are inserted in, and the checks of their options.
import { checks } from '../core/option-checks';
import { FINAL_EVENTS, type EntryState, type JournalEntry, type JournalRecord } from './journal';

export const TABLE = 'huawei_iot_upgrade_journal';

/** The entries holding a final result (FINAL_EVENTS), as SQL: the same text in the index and the query, so that both stores use the index. */
export const FINAL_CONDITION = `event IN (${FINAL_EVENTS.map((event) => `'${event}'`).join(', ')})`;
/** The entries holding an IoTDA device's outcome, keyed by `taskId` where the others have `operationId`. */
export const IOTDA_RESULT_CONDITION = `event = 'iotdaDeviceResult'`;

/** A row as both stores return it (Postgres gives bigint ids as strings). */
export interface EntryRow {
  id: number | string;
  state: string;
  event: string | null;
  notify_type: string | null;
  device_id: string | null;
  body: string | null;
  ip: string | null;
  received_at: Date;
  attempts: number;
  replay_base?: number;
  reason: string | null;
  message: string | null;
  last_error: string | null;
}

export function entryOf(row: EntryRow): JournalEntry {
  return {
    id: String(row.id),
    state: row.state as EntryState,
    notifyType: row.notify_type,
    deviceId: row.device_id,
    attempts: row.attempts,
    reason: row.reason,
    message: row.message,
    lastError: row.last_error,
    body: row.body,
    receivedAt: row.received_at,
    event: row.event,
    delivering: false,
  };
}

/**
 * Indexes of `records`: notifications in duplicate-key order first, then the rest as they came.
 * Two instances committing overlapping keys at once then lock them in the same order, and cannot
 * deadlock each other (Postgres); SQLite follows the same order so that both stores behave alike.
 */
export function keyOrder(records: readonly JournalRecord[]): number[] {
  const keyOf = (index: number): string | null => {
    const record = records[index] as JournalRecord;
    return record.kind === 'notification' ? record.key : null;
  };
  return records
    .map((_, index) => index)
    .sort((a, b) => {
      const ka = keyOf(a);
      const kb = keyOf(b);
      if (ka === null || kb === null) return ka === kb ? a - b : ka === null ? 1 : -1;
      return ka < kb ? -1 : ka > kb ? 1 : a - b;
    });
}

export const positiveWhole = checks.wholeNumber;

/** Under this a lease is almost certainly seconds typed as ms, and would start a delivery again every few ms. */
export const MIN_LEASE_MS = 2000;

export const leaseCheck = (value: unknown): string | undefined =>
  positiveWhole(value) ??
  ((value as number) < MIN_LEASE_MS ? `must be at least ${MIN_LEASE_MS} ms, got ${value as number}: it is in milliseconds; did you mean ${(value as number) * 1000} (${value as number} s)?` : undefined);

