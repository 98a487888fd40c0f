// The 'huawei-iot-upgrade-router/emulator' subpath: a local, stateful stand-in for the platform, for
// tests and demos. `createTestCertificates` needs the optional peer @peculiar/x509.
export { EMULATOR_VERSION, PlatformEmulator } from './emulator/emulator';
export { startPlatformEmulator } from './emulator/http';
export type { PlatformEmulatorOptions, PushFilter, PushSummary } from './emulator/emulator';
export type { EmulatorFault } from './emulator/faults';
export type { CallbackState, PushRecord, PushRules, PushStatus } from './emulator/pusher';
export type { DeviceBehaviour, EmulatedPackage, UpgradePush } from './emulator/tasks';
export { createTestCertificates } from './emulator/certificates';
export type { TestCertificates } from './emulator/certificates';
export type { IotdaEmulation, IotdaPackage, IotdaPushRecord } from './emulator/iotda';
export type { IotdaAmqpTarget } from './emulator/amqp-forwarder';
