// What the dashboard reads from the platform through the attached reconciler: the devices still
// waiting on a task, read at most once a minute per task (every open page asks), for a bounded
// number of tasks.
import { codedError } from '../core/errors';
import type { WaitingDevice } from '../reconcile/check';
import type { AttachedReconciler } from '../reconcile/attached';

/** Waiting devices read from the platform, kept this long, for this many tasks. */
const WAITING_READ = 1000;
const WAITING_FRESH_MS = 60_000;
const WAITING_TASKS = 100;

export class WaitingReads {
  readonly #reads = new Map<string, { at: number; devices: Promise<WaitingDevice[] | undefined> }>();

  /** The task's waiting devices; rejects with ERR_RECONCILE_LOCK_HELD when another instance reads the platform. */
  async of(reconciler: AttachedReconciler, operationId: string): Promise<WaitingDevice[]> {
    let read = this.#reads.get(operationId);
    if (read === undefined || Date.now() - read.at > WAITING_FRESH_MS) {
      read = { at: Date.now(), devices: reconciler.waiting(operationId, WAITING_READ) };
      this.#reads.set(operationId, read);
      if (this.#reads.size > WAITING_TASKS) this.#reads.delete(this.#reads.keys().next().value as string);
    }
    const devices = await read.devices.catch((error: unknown) => {
      this.#reads.delete(operationId);
      throw error;
    });
    if (devices === undefined) {
      this.#reads.delete(operationId);
      throw codedError('ERR_RECONCILE_LOCK_HELD', 'another instance holds the reconciliation lock: it reads the platform, this one does not');
    }
    return devices;
  }

  clear(): void {
    this.#reads.clear();
  }
}
