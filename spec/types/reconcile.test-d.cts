// Type tests for reconciliation: the `reconciledResult` event's payload, what it leaves out, and that
// `notification` listeners are not told of it. Each line marked with the expect-error directive must NOT compile.
import { expectTypeOf } from 'expect-type';
import { createUpgradeRouter, isDeviceDelivered, type Delivered, type DeviceNotification, type IotdaDeviceResult, type IotdaTaskPush, type Notification, type ReceiveContext, type ReconciledResult } from 'huawei-iot-upgrade-router';
import { createReconciler, type TaskReport } from 'huawei-iot-upgrade-router/reconcile';
import { createPlatformClient } from 'huawei-iot-upgrade-router/platform';

const router = createUpgradeRouter();
router.on('reconciledResult', (result, context) => {
  expectTypeOf(result).toEqualTypeOf<ReconciledResult>();
  expectTypeOf(context).toEqualTypeOf<ReceiveContext>();
  expectTypeOf(result.result).toEqualTypeOf<'SUCCESS' | 'FAIL'>();
  expectTypeOf(result.detailInfo).toEqualTypeOf<string | undefined>();
  // @ts-expect-error the query does not give the device's versions: absent, not invented
  void result.curVersion;
  // @ts-expect-error nor the device's errorCode
  void result.errorCode;
});
router.on('notification', (notification) => expectTypeOf(notification).toEqualTypeOf<Notification>());
router.on('deadLetter', (delivered) => {
  expectTypeOf(delivered).toEqualTypeOf<Delivered>();
  if (!isDeviceDelivered(delivered)) expectTypeOf(delivered).toEqualTypeOf<IotdaTaskPush | IotdaDeviceResult>();
  else if (delivered.notifyType === 'reconciledResult') expectTypeOf(delivered.subOperationId).toEqualTypeOf<string>();
  else expectTypeOf(delivered).toEqualTypeOf<DeviceNotification>();
});
// @ts-expect-error a filled-in result is no push: a listener for it takes no Notification
router.on('reconciledResult', (result: Notification) => void result);

const client = createPlatformClient({ url: 'https://iot.example.com:8743', appId: 'app', secret: 's' });
const reconciler = createReconciler({ router, client, intervalMs: 60_000 });
expectTypeOf(reconciler.reconcile('op')).resolves.toEqualTypeOf<TaskReport>();
expectTypeOf(reconciler.reconcileAll()).resolves.toEqualTypeOf<TaskReport[] | undefined>();
// @ts-expect-error the client is required
createReconciler({ router });
// @ts-expect-error times are milliseconds, numbers
createReconciler({ router, client, resendWindowMs: '12m' });
