import type { GeneratedNotificationTypes } from '../generated/notifications';

/**
 * Each notification type this package understands, from its type key (the legacy pushes' notifyType,
 * IoTDA's resource) to payload type. Generated from
 * schema/: a schema file whose notifyType is a constant adds its type here (npm run generate).
 */
export type NotificationTypes = GeneratedNotificationTypes;

export type NotifyType = keyof NotificationTypes;

/** IoTDA's (API v5) task pushes, keyed by their resource: task-level, no device. */
export type IotdaPushType = 'batchtask' | 'batchtask.status';

/** The legacy platform's pushes, keyed by notifyType: one device each. */
export type DeviceNotifyType = Exclude<NotifyType, IotdaPushType>;

/**
 * The event each type is emitted as, and its schema file. Adding a type is one schema file in
 * schema/, `npm run generate`, and one line here; the compiler refuses a type left out.
 */
export const notificationTable = {
  swUpgradeResultNotify: { event: 'upgradeResult', schemaFile: 'sw-upgrade-result-notify.schema.json' },
  swUpgradeStateChangeNotify: { event: 'upgradeState', schemaFile: 'sw-upgrade-state-change-notify.schema.json' },
  fwUpgradeResultNotify: { event: 'firmwareUpgradeResult', schemaFile: 'fw-upgrade-result-notify.schema.json' },
  fwUpgradeStateChangeNotify: { event: 'firmwareUpgradeState', schemaFile: 'fw-upgrade-state-change-notify.schema.json' },
  // IoTDA (API v5): the envelope has no notifyType; its resource tells the forms apart.
  batchtask: { event: 'batchTaskUpdate', schemaFile: 'iotda-batchtask-update.schema.json' },
  'batchtask.status': { event: 'batchTaskStatusUpdate', schemaFile: 'iotda-batchtask-status-update.schema.json' },
} as const satisfies { readonly [T in NotifyType]: { readonly event: string; readonly schemaFile: string } };

export const notifyTypes = Object.keys(notificationTable) as NotifyType[];

/** The legacy platform's notifyTypes (what `simulate` and the emulator push). */
export const deviceNotifyTypes = notifyTypes.filter((type): type is DeviceNotifyType => type !== 'batchtask' && type !== 'batchtask.status');

/** The event a notification type is emitted as, e.g. `upgradeResult` for `swUpgradeResultNotify`. */
export type EventOf<T extends NotifyType> = (typeof notificationTable)[T]['event'];

/** Any notification this package understands. */
export type Notification = NotificationTypes[NotifyType];

/** A legacy push about one device (it has a notifyType and a deviceId). */
export type DeviceNotification = NotificationTypes[DeviceNotifyType];

/** An IoTDA batch task push (task-level: no device). */
export type IotdaTaskPush = NotificationTypes[IotdaPushType];

/**
 * What tells a body's type: its notifyType (the legacy platform), or, when it has none, its resource
 * (IoTDA's envelope, which has no notifyType).
 */
export const typeKeyOf = (body: Readonly<Record<string, unknown>>): unknown => (body.notifyType === undefined ? body.resource : body.notifyType);

/** Whether a checked push is about one device (a legacy push), not an IoTDA task. */
export const isDeviceNotification = (notification: Notification): notification is DeviceNotification => 'notifyType' in notification;
