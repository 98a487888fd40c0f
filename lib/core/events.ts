import type { ErrorObject } from 'ajv';
import type { DeviceNotification, EventOf, Notification, NotificationTypes, NotifyType } from './notification-types';

/** Facts about one delivery, handed to every listener beside the payload. */
export interface ReceiveContext {
  /** When the router started handling the request. */
  receivedAt: Date;
  /** The sender's address: Express's `req.ip` (so `trust proxy` applies), else the socket's. */
  ip: string | undefined;
  /** With a journal: the entry's id, the same on every delivery of it (key idempotent work on it). */
  id?: string;
  /** With a journal: which delivery of the entry this is, 1 for the first. */
  attempt?: number;
}

/** What `deadLetter` reports beside the notification. */
export interface DeadLetter {
  /** The journal entry's id: `huawei-iot-upgrade-router journal replay <id>` delivers it again. */
  id: string;
  /** Attempts made, the last included. */
  attempts: number;
  /** The last failure. */
  error: Error;
}

interface RejectionBase {
  /** A sentence saying what was wrong, for logs. */
  message: string;
  context: ReceiveContext;
}

/** The body was not a JSON object: unparsable, empty, not UTF-8, undecodable, or JSON of another kind. */
export interface MalformedRejection extends RejectionBase {
  reason: 'malformed';
  /** The parsed JSON value, when the body was JSON but not an object. */
  body?: unknown;
  /** The bytes received (after Content-Encoding was undone), when they could be read. */
  raw?: Buffer;
}

/** The body, after Content-Encoding was undone, was larger than the `limit` option. Reading stopped there. */
export interface TooLargeRejection extends RejectionBase {
  reason: 'too_large';
  /**
   * The limit, in bytes, that the body went over: the router's `limit`, or, when a body parser before
   * the router refused it, that parser's own limit (absent if the parser did not say).
   */
  limit?: number;
  /** The first `limit` bytes received (after Content-Encoding was undone), when the router read them. */
  raw?: Buffer;
}

/** The sender closed the connection before the whole body arrived, so no answer could be sent. */
export interface AbortedRejection extends RejectionBase {
  reason: 'aborted';
}

/**
 * A caller refused by the `allow` option. Its body is read all the same (up to `limit`), so that what a
 * misconfiguration refused can be replayed: `router.receive(rejection.raw)`.
 */
export interface ForbiddenRejection extends RejectionBase {
  reason: 'forbidden';
  /** The bytes received (after Content-Encoding was undone), when the body could be read whole. */
  raw?: Buffer;
  /** The parsed JSON value, when the body was JSON. */
  body?: unknown;
}

/** A JSON object whose `notifyType` is missing or is not one this router handles. */
export interface UnknownTypeRejection extends RejectionBase {
  reason: 'unknown_type';
  body: Record<string, unknown>;
}

/** A known `notifyType` whose body fails that type's JSON Schema. */
export interface SchemaRejection extends RejectionBase {
  reason: 'schema';
  body: Record<string, unknown>;
  /** The validator's errors (Ajv stops at the first one: all-errors mode is slow on hostile input). */
  errors: ErrorObject[];
}

/** Why a request did not become a notification event; `reason` tells the variants apart. */
export type Rejection =
  | MalformedRejection
  | TooLargeRejection
  | AbortedRejection
  | ForbiddenRejection
  | UnknownTypeRejection
  | SchemaRejection;

export type RejectionReason = Rejection['reason'];

/**
 * A device's final result that the platform reports and no push brought: found by the reconciler
 * (`huawei-iot-upgrade-router/reconcile`) in the task's sub-tasks. It carries what the query gives;
 * what only the push carries (versions, errorCode, upgradeTime) is absent, never invented.
 */
export interface ReconciledResult {
  /** Not a platform notifyType: tells a reconciled result apart in `error` and `deadLetter`. */
  notifyType: 'reconciledResult';
  /** The application the reconciler's client logged in as. */
  appId: string;
  operationId: string;
  subOperationId: string;
  deviceId: string;
  operateType: 'software_upgrade' | 'firmware_upgrade';
  /** The sub-task's `success` or `fail`, as a push says it. */
  result: 'SUCCESS' | 'FAIL';
  /** The platform's detail text for the sub-task (a failure's reason), when it gives one. */
  detailInfo?: string;
  /** The sub-task's extendInfo, as the platform gives it. */
  extendInfo?: Record<string, unknown>;
  /** The sub-task's times, in the platform's format (`20151212T121212Z`, UTC). */
  createTime: string;
  startTime?: string;
  stopTime?: string;
}

/**
 * IoTDA: a device's final outcome in a batch task, read from the task's details
 * (`huawei-iot-upgrade-router/iotda`'s results): IoTDA pushes no device's result. It carries what the
 * details give; versions are not among them.
 */
export interface IotdaDeviceResult {
  /** Not a platform notifyType: tells an IoTDA result apart in `error` and `deadLetter`. */
  notifyType: 'iotdaDeviceResult';
  taskId: string;
  taskType: string;
  /** The detail's `target`. */
  deviceId: string;
  /** The device's final status in the task. */
  status: 'Success' | 'Fail' | 'Stopped';
  /** The detail's `output`, when it has one. */
  output?: string;
  /** Why it failed, as the platform says it. */
  error?: { error_code: string; error_msg: string };
  /** The OTA package the task installs, when the task names one. */
  packageId?: string;
}

/** What a journal delivers: a push, or a result filled in from the platform. */
export type Delivered = Notification | ReconciledResult | IotdaDeviceResult;

/** What is about one device of the legacy platform: a push, or a result the reconciler filled in. */
export type DeviceDelivered = DeviceNotification | ReconciledResult;

/** Whether what was delivered is about one device (not an IoTDA task push). */
export const isDeviceDelivered = (delivered: Delivered): delivered is DeviceDelivered => 'notifyType' in delivered && delivered.notifyType !== 'iotdaDeviceResult';

/** One event per notification type, named by the table in notification-types.ts. */
export type NotificationEvents = {
  [T in NotifyType as EventOf<T>]: [notification: NotificationTypes[T], context: ReceiveContext];
};

/** Every event the router emits, with its listener's arguments. */
export interface UpgradeRouterEvents extends NotificationEvents {
  /** A valid notification already seen within `dedupe.ttl`: the platform re-sent it. */
  duplicate: [notification: Notification, context: ReceiveContext];
  /** Anything received that is not a valid notification. */
  invalid: [rejection: Rejection];
  /** A listener threw or its promise rejected; `notification` is what it was handling, if any. */
  error: [error: Error, notification?: Delivered];
  /**
   * Every valid notification of any type, right after its own event (not for duplicates): for code
   * that wants one handler for the whole family.
   */
  notification: [notification: Notification, context: ReceiveContext];
  /**
   * With `allow.mode: 'report'`: a caller that `allow` would have refused. It is served as usual;
   * this event only says so (`raw` and `body` are not set: the notification comes as its own event).
   */
  forbidden: [rejection: ForbiddenRejection];
  /**
   * With a journal: a notification whose delivery failed `delivery.attempts` times. It stays in the
   * journal as dead, for inspection and replay (`huawei-iot-upgrade-router journal dead`).
   */
  deadLetter: [notification: Delivered, dead: DeadLetter];
  /**
   * A final result no push brought, filled in from the platform by the reconciler (never for a
   * sub-task whose result push arrived; through the journal, at least once, never twice). Not sent to
   * `notification` listeners: it is not a push.
   */
  reconciledResult: [result: ReconciledResult, context: ReceiveContext];
  /**
   * IoTDA: a device's final outcome in a batch task, read from the task's details by
   * `createIotdaResults` (through the journal: at least once, never twice for a device, task and
   * status). Not sent to `notification` listeners: it is not a push.
   */
  iotdaDeviceResult: [result: IotdaDeviceResult, context: ReceiveContext];
}

export type UpgradeEventName = keyof UpgradeRouterEvents;

/** A listener for event `E`; it may return a promise, whose rejection is reported as `error`. */
export type Listener<E extends UpgradeEventName> = (...args: UpgradeRouterEvents[E]) => unknown;
