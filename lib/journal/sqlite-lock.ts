// One receiver per SQLite journal (issue 18, item 1): a second receiver on the same file would take
// the first one's deliveries. The lock is SQLite's own exclusive lock on a small file beside the
// journal, held by a connection for as long as the journal is open: the operating system drops it
// when the process ends, even by SIGKILL, so a restart never waits for a stale lock.
import Database from 'better-sqlite3';

export const lockPath = (path: string): string => `${path}-receiver.lock`;

/** Takes the receiver's lock on `path`, or throws an Error that says another receiver holds it. */
export function lockJournal(path: string): { release(): void } {
  const lock = new Database(lockPath(path), { timeout: 0 });
  try {
    lock.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock; in this locking mode the connection keeps it.
    lock.exec('BEGIN EXCLUSIVE; COMMIT');
  } catch (error) {
    lock.close();
    if ((error as { code?: unknown }).code !== 'SQLITE_BUSY') throw error;
    throw new Error(
      `the SQLite journal ${path} is in use by another receiver (in this process or another): one receiver per file. ` +
        'Several instances share a journal through postgresJournal(); the `journal` command may run beside the receiver.',
      { cause: error },
    );
  }
  return { release: () => lock.close() };
}

/** Whether a receiver holds the lock on `path` now (for the `journal` command). */
export function receiverRunning(path: string): boolean {
  try {
    lockJournal(path).release();
    return false;
  } catch {
    return true;
  }
}
