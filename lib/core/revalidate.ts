// A body kept as invalid, looked at again on the operator's word (`journal replay ID` of an invalid
// entry): a push refused by `allow` (a wrong token during a campaign) or by an older
// schema becomes a notification if it is one.
import type { ErrorObject } from 'ajv';
import { isDeviceNotification, notificationTable, typeKeyOf, type Notification, type NotifyType } from './notification-types';
import type { RecheckedPush } from './intake';
import { dedupeKey } from './dedupe';
import { isJsonObject } from './parse-json';
import { Receiver } from './receiver';
import { validators } from './validators';

export type Revalidated = { ok: true; notification: RecheckedPush } | { ok: false; why: string };

/** `text` (the body kept, or the bytes received) checked as the router checks a push. */
export function revalidate(body: string | Buffer, keyed = true): Revalidated {
  const parsed = Receiver.parse(body);
  if (!parsed.ok) return { ok: false, why: `it is not JSON: ${parsed.message}` };
  if (!isJsonObject(parsed.value)) return { ok: false, why: 'it is JSON but not an object' };
  const key = typeKeyOf(parsed.value);
  if (typeof key !== 'string' || !Object.hasOwn(notificationTable, key)) {
    const field = parsed.value.notifyType === undefined && parsed.value.resource !== undefined ? 'resource' : 'notifyType';
    return { ok: false, why: `${field} ${JSON.stringify(key)} is not an upgrade push` };
  }
  const type = key as NotifyType;
  const validate = validators[type];
  if (!validate(parsed.value)) {
    // Ajv always sets at least one error when it returns false.
    const [first] = validate.errors as [ErrorObject, ...ErrorObject[]];
    return { ok: false, why: `it still fails its schema: ${first.instancePath || '(root)'} ${String(first.message)}` };
  }
  const notification = parsed.value as unknown as Notification;
  return {
    ok: true,
    notification: {
      key: keyed ? dedupeKey(type, notification) : null,
      event: notificationTable[type].event,
      notifyType: type,
      deviceId: isDeviceNotification(notification) ? notification.deviceId : null,
      body: JSON.stringify(notification),
    },
  };
}
