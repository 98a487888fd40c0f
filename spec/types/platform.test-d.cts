// Type tests for the platform client and the emulator, against the built package's
// CommonJS types. Each line marked with the expect-error directive must NOT compile.
import { expectTypeOf } from 'expect-type';
import {
  createPlatformClient,
  PlatformError,
  type EnsuredSubscriptions,
  type Page,
  type SubTaskStatus,
  type TaskStatus,
  type UpgradeSubTask,
  type UpgradeTask,
} from 'huawei-iot-upgrade-router/platform';
import { startPlatformEmulator, type PlatformEmulator, type PushRecord } from 'huawei-iot-upgrade-router/emulator';

const platform = createPlatformClient({ url: 'https://iot.example.com:8743', appId: 'app', secret: 's', ca: 'PEM', rateLimit: false });
// @ts-expect-error secret is required
createPlatformClient({ url: 'https://x', appId: 'app' });
// @ts-expect-error appKeyHeader is app_key or x-app-key
createPlatformClient({ url: 'https://x', appId: 'a', secret: 's', appKeyHeader: 'appkey' });

expectTypeOf(platform.getTask('op')).resolves.toEqualTypeOf<UpgradeTask>();
expectTypeOf<UpgradeTask['status']>().toEqualTypeOf<TaskStatus>();
expectTypeOf<TaskStatus>().toEqualTypeOf<'wait' | 'processing' | 'failed' | 'success' | 'stop'>();
expectTypeOf<SubTaskStatus>().toEqualTypeOf<'wait' | 'processing' | 'fail' | 'success' | 'stop'>();
expectTypeOf(platform.subTasks('op')).toEqualTypeOf<AsyncIterable<UpgradeSubTask>>();
expectTypeOf(platform.listSubTasks('op', { status: 'fail', pageSize: 100 })).resolves.toEqualTypeOf<Page<UpgradeSubTask>>();
// @ts-expect-error a sub-task is 'fail', not 'failed' (that is a task's word)
void platform.subTasks('op', { status: 'failed' });
expectTypeOf(platform.createSoftwareUpgradeTask({ fileId: 'f', targets: { devices: ['d'] } })).resolves.toEqualTypeOf<{ operationId: string }>();
void platform.createFirmwareUpgradeTask({ fileId: 'f', targets: { deviceGroups: ['g'], deviceType: 't', model: 'm', manufacturerName: 'x' } });
// @ts-expect-error groups need the device kind they hold
void platform.createFirmwareUpgradeTask({ fileId: 'f', targets: { deviceGroups: ['g'] } });
expectTypeOf(platform.ensureSubscriptions('https://me:8443/cb')).resolves.toEqualTypeOf<EnsuredSubscriptions>();
// @ts-expect-error only the four upgrade pushes
void platform.ensureSubscriptions('https://me:8443/cb', ['deviceAdded']);

const error = new PlatformError(403, '1010005', 'Invalid access token or appId.', 'GET /x');
expectTypeOf(error.status).toEqualTypeOf<number>();
expectTypeOf(error.code).toEqualTypeOf<string | undefined>();
expectTypeOf(error).toExtend<Error>();

expectTypeOf(startPlatformEmulator({ speed: 60, devices: { failureRatio: 0.2 } })).resolves.toEqualTypeOf<PlatformEmulator>();
declare const emulator: PlatformEmulator;
emulator.inject({ kind: 'expiredToken', envelope: 'error_code' });
emulator.inject({ kind: 'status', status: 503, times: 2 });
// @ts-expect-error a status fault needs its status
emulator.inject({ kind: 'status' });
// @ts-expect-error no such fault
emulator.inject({ kind: 'explode' });
expectTypeOf(emulator.pushes({ status: 'failed' })).toEqualTypeOf<PushRecord[]>();
expectTypeOf<PushRecord['status']>().toEqualTypeOf<'pending' | 'delivered' | 'failed' | 'dropped'>();
// @ts-expect-error push statuses are pending, delivered, failed, dropped
emulator.pushes({ status: 'lost' });
