// The 'huawei-iot-upgrade-router/iotda' subpath: Huawei Cloud IoTDA (API v5), the platform new
// tenants get: its request signing (AK/SK), the batch task client, and the devices' outcomes read
// from each task into the router's journal.
export { signRequest, parseAuthorization, signingTime, EMPTY_BODY_SHA256 } from './iotda/sign';
export type { ParsedAuthorization, RequestToSign, SigningKeys } from './iotda/sign';
export { createIotdaClient, IotdaClient } from './iotda/client';
export type { CreateBatchTaskOptions, IotdaClientOptions } from './iotda/client';
export { FINAL_DETAIL_STATUSES, FIRST_MARKER, MAX_DETAIL_LIMIT, MAX_OFFSET, MAX_TASK_TARGETS } from './iotda/contract';
export type { BatchTask, BatchTaskStatus, BatchTaskType, IotdaDevice, ListBatchTasksAnswer, OtaPackage, Page, ShowBatchTaskAnswer, TaskDetail, TaskDetailStatus, TaskPolicy, TaskProgress } from './iotda/contract';
export { PlatformError } from './platform/errors';
export { createIotdaResults } from './iotda/results';
export type { IotdaResults, IotdaResultsOptions, PullReport } from './iotda/results';
export type { IotdaDeviceResult } from './core/events';
export { createIotdaAmqpConsumer, iotdaAmqpUsername } from './iotda/amqp';
export type { IotdaAmqpConsumer, IotdaAmqpOptions } from './iotda/amqp';
