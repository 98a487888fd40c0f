export { createUpgradeRouter } from './router/router';
export type { NextFunction, UpgradeRouter } from './router/router';
export type { UpgradeRouterOptions } from './router/options';
export type { DrainResult, UpgradeEmitter } from './core/emitter';
export type { Logger } from './core/log';
export type { OutcomeEvent, ReconcileProgress, ReconcilerStats, UpgradeRouterStats } from './core/stats';
export type { Outcome } from './core/receiver';
export type { DedupeOptions, DedupeStore } from './core/dedupe';
export type { AllowOptions } from './transport/access';
export type { DeliveryOptions, JournalStats } from './journal/delivery';
export { retryWindowMs } from './journal/retry-window';
export type { FinalResult, Journal, JournalAdmin, JournalCounts, JournalEntry, JournaledNotification, ReplayOutcome } from './journal/journal';
export type {
  AbortedRejection,
  DeadLetter,
  Delivered,
  DeviceDelivered,
  IotdaDeviceResult,
  ForbiddenRejection,
  Listener,
  MalformedRejection,
  NotificationEvents,
  ReceiveContext,
  ReconciledResult,
  Rejection,
  RejectionReason,
  SchemaRejection,
  TooLargeRejection,
  UnknownTypeRejection,
  UpgradeEventName,
  UpgradeRouterEvents,
} from './core/events';
export type { DeviceNotification, DeviceNotifyType, IotdaPushType, IotdaTaskPush, Notification, NotificationTypes, NotifyType } from './core/notification-types';
export { isDeviceNotification } from './core/notification-types';
export { isDeviceDelivered } from './core/events';
export type {
  FwUpgradeResultNotify,
  FwUpgradeStateChangeNotify,
  IotdaBatchTaskStatusUpdate,
  IotdaBatchTaskUpdate,
  SwUpgradeResultNotify,
  SwUpgradeStateChangeNotify,
} from './generated/notifications';
export { schemas } from './core/schemas';
export { createUpgradeDashboard } from './dashboard/dashboard';
export type { DashboardTask, DashboardTaskDetail, NotReportedPage, PlatformSummary, UpgradeDashboard, UpgradeDashboardOptions } from './dashboard/dashboard';
export type { DeviceHistoryEntry, DeviceRow, FoldLimits, FoldStats, TaskKind, TaskSummary, UpgradeResult, VersionCounts } from './dashboard/fold';
export type { DashboardDevice, DeviceFilter, DevicePage, DeviceQuery, SortKey } from './dashboard/query';
export type { DashboardHealth } from './dashboard/health';
