import type { SwUpgradeResultNotify } from './generated/notifications';

/**
 * Each notification type this package understands: its payload type (generated from its schema),
 * the event it is emitted as, and its schema file in schema/. Adding a type is one schema file,
 * `npm run generate:types`, and one entry in each of the two tables below.
 */
export interface NotificationTypes {
  swUpgradeResultNotify: SwUpgradeResultNotify;
}

export type NotifyType = keyof NotificationTypes;

export const notificationTable = {
  swUpgradeResultNotify: { event: 'upgradeResult', schemaFile: 'sw-upgrade-result-notify.schema.json' },
} as const satisfies { readonly [T in NotifyType]: { readonly event: string; readonly schemaFile: string } };

/** The event a notification type is emitted as, e.g. `upgradeResult` for `swUpgradeResultNotify`. */
export type EventOf<T extends NotifyType> = (typeof notificationTable)[T]['event'];

/** Any notification this package understands. */
export type Notification = NotificationTypes[NotifyType];
