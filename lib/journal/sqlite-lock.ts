// One receiver per SQLite journal: a second receiver on the same file would take
// the first one's deliveries. The lock is SQLite's own exclusive lock on a small file beside the
// journal, held by a connection for as long as the journal is open: the operating system drops it
// when the process ends, even by SIGKILL, so a restart never waits for a stale lock.
import Database from 'better-sqlite3';
import { codedError } from '../core/errors';

export const lockPath = (path: string): string => `${path}-receiver.lock`;

/** Takes the receiver's lock on `path`, or throws an Error that says another receiver holds it. */
export function lockJournal(path: string): { release(): void } {
  // A wait of a second, not none: the `journal` command's probe holds a shared lock for an instant,
  // and a receiver starting at that instant must wait it out, not be refused.
  const lock = new Database(lockPath(path), { timeout: 1000 });
  try {
    lock.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock; in this locking mode the connection keeps it.
    lock.exec('BEGIN EXCLUSIVE; COMMIT');
  } catch (error) {
    lock.close();
    if ((error as { code?: unknown }).code !== 'SQLITE_BUSY') throw error;
    throw codedError(
      'ERR_JOURNAL_IN_USE',
      `the SQLite journal ${path} is in use by another receiver (in this process or another): one receiver per file. ` +
        'Several instances share a journal through postgresJournal(); the `journal` command may run beside the receiver.',
      { cause: error },
    );
  }
  return { release: () => lock.close() };
}

/**
 * Whether a receiver holds the lock on `path` now (for the `journal` command). It never takes the
 * receiver's lock, which would refuse a receiver starting at that moment, and creates nothing: it
 * opens the lock file read-only, if there is one, and asks for a shared lock, which a receiver's
 * exclusive one refuses.
 */
export function receiverRunning(path: string): boolean {
  let probe: Database.Database;
  try {
    probe = new Database(lockPath(path), { readonly: true, fileMustExist: true, timeout: 0 });
  } catch {
    // No lock file: no receiver has opened this journal.
    return false;
  }
  try {
    probe.exec('BEGIN; SELECT count(*) FROM sqlite_master; COMMIT');
    return false;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'SQLITE_BUSY') return true;
    throw error;
  } finally {
    probe.close();
  }
}
