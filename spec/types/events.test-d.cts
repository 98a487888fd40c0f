// Type tests, compiled by `npm run test:types` against the built package's CommonJS types. Each line
// marked with the expect-error directive must NOT compile: if it ever compiles, tsc fails this file.
import { createServer } from 'node:http';
import express = require('express');
import { expectTypeOf } from 'expect-type';
import type { ErrorObject } from 'ajv';
import {
  createUpgradeRouter,
  isDeviceNotification,
  schemas,
  type Delivered,
  type DeviceNotification,
  type IotdaBatchTaskStatusUpdate,
  type IotdaBatchTaskUpdate,
  type IotdaTaskPush,
  type Notification,
  type ReceiveContext,
  type Rejection,
  type RejectionReason,
  type SwUpgradeResultNotify,
  type UpgradeRouter,
  type DedupeStore,
  type FwUpgradeResultNotify,
  type FwUpgradeStateChangeNotify,
  type NotifyType,
  type SwUpgradeStateChangeNotify,
  type UpgradeRouterStats,
} from 'huawei-iot-upgrade-router';

const upgrades = createUpgradeRouter({ limit: '64kb', logger: console });
expectTypeOf(upgrades).toEqualTypeOf<UpgradeRouter>();

// Mounting: as Express middleware (4 and 5 share these types), as a route, and as a node:http listener.
const app = express();
app.use('/v1.0.0/messageReceiver', upgrades);
app.use('/v1.0.0/messageReceiver', upgrades, upgrades.errorHandler);
app.post('/hooks/upgrade', upgrades);
createServer(upgrades);

// Event payloads.
upgrades.on('upgradeResult', (result, context) => {
  expectTypeOf(result).toEqualTypeOf<SwUpgradeResultNotify>();
  expectTypeOf(result.swUpgradeResult).toEqualTypeOf<'SUCCESS' | 'FAIL'>();
  expectTypeOf(result.notifyType).toEqualTypeOf<'swUpgradeResultNotify'>();
  expectTypeOf(result.upgradeTime).toEqualTypeOf<number | string>();
  expectTypeOf(result.deviceId).toEqualTypeOf<string>();
  expectTypeOf(context).toEqualTypeOf<ReceiveContext>();
  expectTypeOf(context.receivedAt).toEqualTypeOf<Date>();
  expectTypeOf(context.ip).toEqualTypeOf<string | undefined>();
  // @ts-expect-error a misspelt field is a compile error: the type has no index signature
  void result.swUpgradeResults;
  // @ts-expect-error swUpgradeResult is SUCCESS or FAIL only
  if (result.swUpgradeResult === 'PARTIAL') return;
});

upgrades.on('invalid', (rejection) => {
  expectTypeOf(rejection).toEqualTypeOf<Rejection>();
  expectTypeOf(rejection.reason).toEqualTypeOf<RejectionReason>();
  expectTypeOf<RejectionReason>().toEqualTypeOf<'malformed' | 'too_large' | 'aborted' | 'forbidden' | 'unknown_type' | 'schema'>();
  expectTypeOf(rejection.message).toEqualTypeOf<string>();
  // @ts-expect-error errors exist only once the reason says schema
  void rejection.errors;
  switch (rejection.reason) {
    case 'schema':
      expectTypeOf(rejection.errors).toEqualTypeOf<ErrorObject[]>();
      expectTypeOf(rejection.body).toEqualTypeOf<Record<string, unknown>>();
      break;
    case 'malformed':
      expectTypeOf(rejection.raw).toEqualTypeOf<Buffer | undefined>();
      expectTypeOf(rejection.body).toEqualTypeOf<unknown>();
      break;
    case 'too_large':
      expectTypeOf(rejection.limit).toEqualTypeOf<number | undefined>();
      break;
    case 'unknown_type':
      expectTypeOf(rejection.body).toEqualTypeOf<Record<string, unknown>>();
      break;
    case 'aborted':
    case 'forbidden':
      expectTypeOf(rejection.context).toEqualTypeOf<ReceiveContext>();
      // @ts-expect-error nothing was read from an aborted or refused request
      void rejection.body;
      break;
  }
});

upgrades.on('error', (error, notification) => {
  expectTypeOf(error).toEqualTypeOf<Error>();
  expectTypeOf(notification).toEqualTypeOf<Delivered | undefined>();
});

// Listeners may be async; methods chain and return the router.
expectTypeOf(upgrades.on('upgradeResult', async () => {}).once('invalid', () => {})).toEqualTypeOf<UpgradeRouter>();
expectTypeOf(upgrades.setMaxListeners(20).on('invalid', () => {})).toEqualTypeOf<UpgradeRouter>();
expectTypeOf(upgrades.getMaxListeners()).toEqualTypeOf<number>();
expectTypeOf(upgrades.listeners('upgradeResult')).toEqualTypeOf<Array<(notification: SwUpgradeResultNotify, context: ReceiveContext) => unknown>>();
type OutcomeName = 'upgradeResult' | 'upgradeState' | 'firmwareUpgradeResult' | 'firmwareUpgradeState' | 'batchTaskUpdate' | 'batchTaskStatusUpdate' | 'duplicate' | 'invalid';
// 'refused' only with a failing journal and onJournalError 'refuse'.
expectTypeOf(upgrades.receive({})).toEqualTypeOf<OutcomeName | 'refused' | Promise<OutcomeName | 'refused'>>();

// The rest of the family: one typed event per notifyType, and duplicate for any of them.
upgrades.on('upgradeState', (state, context) => {
  expectTypeOf(state).toEqualTypeOf<SwUpgradeStateChangeNotify>();
  expectTypeOf(state.swUpgradeState).toEqualTypeOf<'downloading' | 'downloaded' | 'updating' | 'idle' | 'otacreated' | 'RequestDownload'>();
  expectTypeOf(context).toEqualTypeOf<ReceiveContext>();
});
upgrades.on('firmwareUpgradeResult', (result) => {
  expectTypeOf(result).toEqualTypeOf<FwUpgradeResultNotify>();
  expectTypeOf(result.status).toEqualTypeOf<'SUCCESS' | 'FAIL'>();
  expectTypeOf(result.upgradeTime).toEqualTypeOf<number | string>();
  // @ts-expect-error firmware results have status, not swUpgradeResult
  void result.swUpgradeResult;
});
upgrades.on('firmwareUpgradeState', (state) => {
  expectTypeOf(state).toEqualTypeOf<FwUpgradeStateChangeNotify>();
  expectTypeOf(state.step).toEqualTypeOf<'0' | '1' | '2' | '3'>();
});
upgrades.on('duplicate', (notification, context) => {
  expectTypeOf(notification).toEqualTypeOf<Notification>();
  expectTypeOf(context).toEqualTypeOf<ReceiveContext>();
  // @ts-expect-error an IoTDA task push has no notifyType: narrow first
  void notification.notifyType;
  if (isDeviceNotification(notification) && notification.notifyType === 'fwUpgradeResultNotify') expectTypeOf(notification).toEqualTypeOf<FwUpgradeResultNotify>();
});
expectTypeOf<NotifyType>().toEqualTypeOf<'swUpgradeResultNotify' | 'swUpgradeStateChangeNotify' | 'fwUpgradeResultNotify' | 'fwUpgradeStateChangeNotify' | 'batchtask' | 'batchtask.status'>();

// IoTDA's task pushes: one typed event per form, the fields as the platform names them.
upgrades.on('batchTaskUpdate', (push, context) => {
  expectTypeOf(push).toEqualTypeOf<IotdaBatchTaskUpdate>();
  expectTypeOf(push.notify_data.body.status).toEqualTypeOf<'Waitting' | 'Processing' | 'Success' | 'PartialSuccess' | 'Fail' | 'Stopped'>();
  expectTypeOf(push.notify_data.body.task_type).toEqualTypeOf<string>();
  expectTypeOf(push.request_id).toEqualTypeOf<string | undefined>();
  expectTypeOf(context).toEqualTypeOf<ReceiveContext>();
  // @ts-expect-error a task push has no device
  void push.deviceId;
});
upgrades.on('batchTaskStatusUpdate', (push) => {
  expectTypeOf(push).toEqualTypeOf<IotdaBatchTaskStatusUpdate>();
  expectTypeOf(push.notify_data.task_id).toEqualTypeOf<string>();
});

// Options.
const store: DedupeStore = { seen: (key: string, ttlMs: number) => key.length > ttlMs };
const asyncStore: DedupeStore = { seen: async () => Promise.resolve(false) };
createUpgradeRouter({ types: ['swUpgradeResultNotify', 'fwUpgradeResultNotify'], dedupe: { ttl: 60_000, max: 100, store }, allow: { ips: ['10.0.0.0/8'], token: 't' } });
createUpgradeRouter({ dedupe: false });
createUpgradeRouter({ dedupe: { store: asyncStore } });
// @ts-expect-error types are notifyType values
createUpgradeRouter({ types: ['deviceAdded'] });
// @ts-expect-error dedupe is false or options, not true
createUpgradeRouter({ dedupe: true });
// @ts-expect-error a store answers a boolean
createUpgradeRouter({ dedupe: { store: { seen: () => 'yes' } } });
// @ts-expect-error allow.ips is a list
createUpgradeRouter({ allow: { ips: '10.0.0.0/8' } });
const stats: UpgradeRouterStats = upgrades.stats();
expectTypeOf(stats.events.duplicate).toEqualTypeOf<number>();
expectTypeOf(stats.invalid.forbidden).toEqualTypeOf<number>();
expectTypeOf(upgrades.drain(1000)).toEqualTypeOf<Promise<{ drained: boolean; pending: number }>>();

// @ts-expect-error an unknown event name is a compile error
upgrades.on('upgradeResults', () => {});
// @ts-expect-error so is one from Node's EventEmitter vocabulary
upgrades.on('newListener', () => {});
// @ts-expect-error a listener with the wrong argument type is a compile error
upgrades.on('upgradeResult', (result: string) => result);
// @ts-expect-error invalid listeners get a Rejection, not a notification
upgrades.on('invalid', (rejection: SwUpgradeResultNotify) => rejection);
// @ts-expect-error off() checks names too
upgrades.off('upgrade', () => {});
// @ts-expect-error limit is a number or a size string
createUpgradeRouter({ limit: true });
// @ts-expect-error unknown options are refused
createUpgradeRouter({ limt: 1024 });

// The notification type lists exactly the 13 documented fields.
expectTypeOf<keyof SwUpgradeResultNotify>().toEqualTypeOf<
  | 'notifyType'
  | 'deviceId'
  | 'appId'
  | 'operationId'
  | 'subOperationId'
  | 'curVersion'
  | 'targetVersion'
  | 'sourceVersion'
  | 'swUpgradeResult'
  | 'upgradeTime'
  | 'resultDesc'
  | 'errorCode'
  | 'description'
>();
expectTypeOf(schemas.swUpgradeResultNotify).toBeObject();

// The Redis subpath, as a CommonJS file sees it.
import { redisDedupeStore, type RedisDedupeStore, type RedisDedupeStoreOptions } from 'huawei-iot-upgrade-router/redis';
const shared: RedisDedupeStore = redisDedupeStore({ url: 'redis://127.0.0.1:6379', prefix: 'app:', timeoutMs: 250 });
createUpgradeRouter({ dedupe: { store: shared } });
expectTypeOf(shared.seen('k', 1000)).toEqualTypeOf<boolean | Promise<boolean>>();
expectTypeOf(shared.close()).toEqualTypeOf<Promise<void>>();
expectTypeOf<RedisDedupeStoreOptions['client']>().not.toBeAny();
// @ts-expect-error the url is a string
redisDedupeStore({ url: 6379 });

// The whole family in one handler: the union, narrowed by notifyType.
upgrades.on('notification', (notification, context) => {
  expectTypeOf(notification).toEqualTypeOf<Notification>();
  expectTypeOf(context).toEqualTypeOf<ReceiveContext>();
  if (isDeviceNotification(notification)) {
    expectTypeOf(notification).toEqualTypeOf<DeviceNotification>();
    if (notification.notifyType === 'fwUpgradeResultNotify') expectTypeOf(notification).toEqualTypeOf<FwUpgradeResultNotify>();
  } else {
    expectTypeOf(notification).toEqualTypeOf<IotdaTaskPush>();
    expectTypeOf(notification.resource).toEqualTypeOf<'batchtask' | 'batchtask.status'>();
  }
  // @ts-expect-error swUpgradeResult exists on one member of the union only
  void notification.swUpgradeResult;
});

// allow.mode 'report': a forbidden rejection, observed only.
upgrades.on('forbidden', (rejection) => {
  expectTypeOf(rejection.reason).toEqualTypeOf<'forbidden'>();
  expectTypeOf(rejection.raw).toEqualTypeOf<Buffer | undefined>();
});
createUpgradeRouter({ allow: { ips: ['10.0.0.0/8'], mode: 'report' }, unknownTypes: 'next' });
// @ts-expect-error mode is 'enforce' or 'report'
createUpgradeRouter({ allow: { mode: 'warn' } });
// @ts-expect-error unknownTypes is 'invalid' or 'next'
createUpgradeRouter({ unknownTypes: 'pass' });
// A logger with warn() and a return value (pino's methods return void, winston's the logger itself).
createUpgradeRouter({ logger: { error: () => 1, warn: () => 1 } });
// @ts-expect-error a logger is an object with error(), not a function
createUpgradeRouter({ logger: console.log });
expectTypeOf(upgrades.stats().unheard.firmwareUpgradeResult).toEqualTypeOf<number>();
expectTypeOf(upgrades.stats().passedOn).toEqualTypeOf<number>();

// The loggers people use type-check as they are.
import pino = require('pino');
import winston = require('winston');
createUpgradeRouter({ logger: pino() });
createUpgradeRouter({ logger: winston.createLogger() });
createUpgradeRouter({ logger: console });
