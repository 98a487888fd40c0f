// What a reconciler offers the capabilities beside it on a router (the dashboard), under its key.
import { capabilityKey } from '../router/extension';
import type { TaskReport, WaitingDevice } from './check';

export interface AttachedReconciler {
  /** The latest report of a task. */
  report(operationId: string): TaskReport | undefined;
  /** The task's devices waiting or in progress on the platform, read now (the first `limit`); undefined when another instance holds the lock. */
  waiting(operationId: string, limit: number): Promise<WaitingDevice[] | undefined>;
}

export const RECONCILER = capabilityKey<AttachedReconciler>('reconciler');
