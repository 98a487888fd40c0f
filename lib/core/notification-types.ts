import type { GeneratedNotificationTypes } from '../generated/notifications';

/**
 * Each notification type this package understands, from notifyType to payload type. Generated from
 * schema/: a schema file whose notifyType is a constant adds its type here (npm run generate).
 */
export type NotificationTypes = GeneratedNotificationTypes;

export type NotifyType = keyof NotificationTypes;

/**
 * The event each type is emitted as, and its schema file. Adding a type is one schema file in
 * schema/, `npm run generate`, and one line here; the compiler refuses a type left out.
 */
export const notificationTable = {
  swUpgradeResultNotify: { event: 'upgradeResult', schemaFile: 'sw-upgrade-result-notify.schema.json' },
  swUpgradeStateChangeNotify: { event: 'upgradeState', schemaFile: 'sw-upgrade-state-change-notify.schema.json' },
  fwUpgradeResultNotify: { event: 'firmwareUpgradeResult', schemaFile: 'fw-upgrade-result-notify.schema.json' },
  fwUpgradeStateChangeNotify: { event: 'firmwareUpgradeState', schemaFile: 'fw-upgrade-state-change-notify.schema.json' },
} as const satisfies { readonly [T in NotifyType]: { readonly event: string; readonly schemaFile: string } };

export const notifyTypes = Object.keys(notificationTable) as NotifyType[];

/** The event a notification type is emitted as, e.g. `upgradeResult` for `swUpgradeResultNotify`. */
export type EventOf<T extends NotifyType> = (typeof notificationTable)[T]['event'];

/** Any notification this package understands. */
export type Notification = NotificationTypes[NotifyType];
