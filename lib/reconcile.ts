// The 'huawei-iot-upgrade-router/reconcile' subpath: completes a router's results from the platform's
// sub-task lists. It loads the platform client (undici); the router's own entry stays free of it.
export { createReconciler } from './reconcile/reconciler';
export type { Reconciler, ReconcilerOptions } from './reconcile/reconciler';
export type { MissingDevice, StuckDevice, TaskReport, WaitingDevice } from './reconcile/check';
export type { ReconcileProgress, ReconcilerStats } from './core/stats';
export type { ReconciledResult } from './core/events';
