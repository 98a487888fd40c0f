// The 'huawei-iot-upgrade-router/platform' subpath: a client of the platform's northbound API. Only
// this subpath (and /emulator) loads undici; the router's own entry stays free of it.
export { createPlatformClient, PlatformClient } from './platform/client';
export type { EnsuredSubscriptions, PackageFilters, PageRequest, PlatformClientOptions, TaskFilters } from './platform/client';
export { PlatformError } from './platform/errors';
export { MAX_PAGE_SIZE, OPERATE_TYPES, PACKAGE_TYPES, SUB_TASK_STATUSES, TASK_STATUSES, UPGRADE_NOTIFY_TYPES, paths as platformPaths } from './platform/contract';
export type {
  AccessToken,
  CreateUpgradeTaskInput,
  OperatePolicy,
  OperateType,
  OperationStaResult,
  PackageType,
  Page,
  Subscription,
  SubTaskStatus,
  TaskStatus,
  UpgradeNotifyType,
  UpgradeSubTask,
  UpgradeTargets,
  UpgradeTask,
  VersionPackage,
} from './platform/contract';
