// The platform's northbound API as this package knows it: paths, enums, error codes and bodies. The
// client and the emulator both read this one file, so they cannot drift apart. Sources for every
// fact (and where sources disagree) are in ../shared/northbound.md; the README's "platform client"
// section lists them for users.

const IODM = '/iodm/northbound/v1.5.0';

export const paths = {
  login: '/iocm/app/sec/v1.1.0/login',
  refreshToken: '/iocm/app/sec/v1.1.0/refreshToken',
  softwareUpgrade: `${IODM}/operations/softwareUpgrade`,
  firmwareUpgrade: `${IODM}/operations/firmwareUpgrade`,
  operations: `${IODM}/operations`,
  categories: `${IODM}/category`,
  /** Management-data subscription: one of the four upgrade notifyTypes per call, no id returned. */
  subscribe: '/iodm/app/sub/v1.1.0/subscribe',
  /** Listing and deleting subscriptions (both families). */
  subscriptions: '/iocm/app/sub/v1.2.0/subscriptions',
  /** One device's data: its software and firmware versions among it (the Java SDK's QUERY_DEVICE_DATA path). */
  devices: '/iocm/app/dm/v1.4.0/devices',
} as const;

export const TASK_STATUSES = ['wait', 'processing', 'failed', 'success', 'stop'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
/** A sub-task (one device) says `fail` where a task says `failed`: both as documented. */
export const SUB_TASK_STATUSES = ['wait', 'processing', 'fail', 'success', 'stop'] as const;
export type SubTaskStatus = (typeof SUB_TASK_STATUSES)[number];
export const OPERATE_TYPES = ['firmware_upgrade', 'software_upgrade'] as const;
export type OperateType = (typeof OPERATE_TYPES)[number];
export const PACKAGE_TYPES = ['firmwarePackage', 'softwarePackage'] as const;
export type PackageType = (typeof PACKAGE_TYPES)[number];
/** The four pushes of an upgrade: what `ensureSubscriptions` subscribes by default. */
export const UPGRADE_NOTIFY_TYPES = ['swUpgradeStateChangeNotify', 'swUpgradeResultNotify', 'fwUpgradeStateChangeNotify', 'fwUpgradeResultNotify'] as const;
export type UpgradeNotifyType = (typeof UPGRADE_NOTIFY_TYPES)[number];

/** Pages are 0-based; a page holds at most 100 rows (123029 beyond). */
export const MAX_PAGE_SIZE = 100;
/** The platform's default flow control: 100 calls in 60 s per application (1010009 beyond). */
export const DEFAULT_RATE_LIMIT = { calls: 100, windowMs: 60_000 } as const;

/**
 * The platform's errors this package meets, with the HTTP status and text the reference gives. Texts
 * in quotes in northbound.md are kept word for word; the others say what the reference's table says.
 */
export const platformErrors = {
  badRequest: { status: 400, code: '120015', description: 'Bad request.' },
  parameterMissing: { status: 400, code: '102202', description: 'Required parameter is null or empty.' },
  wrongSecret: { status: 401, code: '100208', description: 'AppId or secret is not right.' },
  tokenInvalid: { status: 403, code: '1010005', description: 'Invalid access token or appId.' },
  throttled: { status: 403, code: '1010009', description: 'app throttle exceed.' },
  notFound: { status: 404, code: '123002', description: 'Device or package file not found.' },
  taskNotFound: { status: 404, code: '123009', description: 'The requested task does not exist.' },
  versionMismatch: { status: 400, code: '123016', description: 'The target version does not match the device (deviceType, manufacturerName or model).' },
  manufacturerMissing: { status: 400, code: '123019', description: 'manufacturerName is null.' },
  deviceTypeMissing: { status: 400, code: '123020', description: 'deviceType is null.' },
  modelMissing: { status: 400, code: '123021', description: 'model is null.' },
  targetsMissing: { status: 400, code: '123022', description: 'deviceGroups and devices are both null.' },
  targetsBoth: { status: 400, code: '123023', description: 'deviceGroups and devices cannot both be present.' },
  targetsTooMany: { status: 400, code: '123024', description: 'More than 256 devices or device groups.' },
  executeType: { status: 400, code: '123025', description: 'executeType is wrong or null.' },
  retryTimes: { status: 400, code: '123028', description: 'retryTimes is null or not between 1 and 5.' },
  pageBeyondLimit: { status: 400, code: '123029', description: 'pageNo or pageSize beyond the limit.' },
  internal: { status: 500, code: '50252', description: 'Internal server error.' },
} as const;
export type PlatformErrorName = keyof typeof platformErrors;

/** What login and refresh answer. `expiresIn` is documented as a number, one example shows a string. */
export interface AccessToken {
  scope: string;
  /** `Bearer` (one doc example has a trailing space, another spelling is `bearer`): not relied on. */
  tokenType: string;
  expiresIn: number | string;
  accessToken: string;
  refreshToken: string;
}

/** The devices of a task: up to 256 device IDs, or up to 256 groups with the device kind they hold. */
export type UpgradeTargets = { devices: string[] } | { deviceGroups: string[]; deviceType: string; model: string; manufacturerName: string };

export interface OperatePolicy {
  /** `now` is the only value the reference confirms (the console also offers "device online" and "custom"). */
  executeType?: string;
  startTime?: string;
  endTime?: string;
  retryType?: boolean;
  retryTimes?: number;
}

export interface CreateUpgradeTaskInput {
  /** The version package to install (see `listPackages`). */
  fileId: string;
  targets: UpgradeTargets;
  policy?: OperatePolicy;
}

export interface OperationStaResult {
  total: number;
  wait: number;
  processing: number;
  success: number;
  fail: number;
  stop: number;
  timeout: number;
}

/** Times are UTC strings like `20151212T121212Z`. */
export interface UpgradeTask {
  operationId: string;
  createTime: string;
  startTime?: string;
  stopTime?: string;
  operateType: OperateType;
  targets: UpgradeTargets;
  policy?: OperatePolicy;
  status: TaskStatus;
  staResult: OperationStaResult;
  extendPara?: Record<string, string>;
}

/** One device of a task. What its `detailInfo` and `extendInfo` hold is not documented. */
export interface UpgradeSubTask {
  subOperationId: string;
  createTime: string;
  startTime?: string;
  stopTime?: string;
  operateType: OperateType;
  deviceId: string;
  status: SubTaskStatus;
  detailInfo?: string;
  extendInfo?: Record<string, unknown>;
}

export interface VersionPackage {
  fileId: string;
  name: string;
  version: string;
  fileType: PackageType;
  deviceType: string;
  model: string;
  manufacturerName: string;
  protocolType: string;
  description?: string;
  date?: string;
  uploadTime?: string;
}

/** A device as `GET devices/{deviceId}` answers it: the fields an upgrade needs. */
export interface DeviceData {
  deviceId: string;
  deviceInfo: {
    swVersion?: string;
    fwVersion?: string;
    deviceType?: string;
    model?: string;
    manufacturerName?: string;
  };
}

export interface Subscription {
  subscriptionId: string;
  notifyType: string;
  callbackUrl: string;
  appId?: string;
  channel?: string;
}

/** One page of a list. The Java SDK names the count `totalSize`: the client reads either. */
export interface Page<T> {
  data: T[];
  pageNo: number;
  pageSize: number;
  totalCount: number;
}

/** `20151212T121212Z`: the platform's time format. */
export function platformTime(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** Epoch ms of a platform time (`20151212T121212Z`, UTC), or undefined for anything else. */
export function parsePlatformTime(text: string | undefined): number | undefined {
  const match = text === undefined ? null : /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(year, month - 1, day, hour, minute, second);
}
