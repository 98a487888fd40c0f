// Generated from schema/*.schema.json by scripts/generate.mjs (npm run generate). Do not edit by hand.
// The values of every documented field, in schema order, each as <length>:<text>: what identifies a re-send.
import type { KeyedDigest } from '../core/digest';
import type { FwUpgradeResultNotify, FwUpgradeStateChangeNotify, IotdaBatchTaskStatusUpdate, IotdaBatchTaskUpdate, SwUpgradeResultNotify, SwUpgradeStateChangeNotify } from './notifications';

const field = (value: string | number): string => {
  const text = `${value}`;
  return `${text.length}:${text}`;
};

export const dedupeKeys = {
  fwUpgradeResultNotify: (n: FwUpgradeResultNotify): string =>
    field(n.notifyType) +
    field(n.deviceId) +
    field(n.appId) +
    field(n.operationId) +
    field(n.subOperationId) +
    field(n.curVersion) +
    field(n.targetVersion) +
    field(n.sourceVersion) +
    field(n.status) +
    field(n.statusDesc) +
    field(n.upgradeTime),
  fwUpgradeStateChangeNotify: (n: FwUpgradeStateChangeNotify): string =>
    field(n.notifyType) +
    field(n.deviceId) +
    field(n.appId) +
    field(n.operationId) +
    field(n.subOperationId) +
    field(n.step) +
    field(n.stepDesc),
  "batchtask.status": (n: IotdaBatchTaskStatusUpdate): string =>
    field(n.resource) +
    field(n.event) +
    field(n.notify_data.app_id) +
    field(n.notify_data.task_id) +
    field(n.notify_data.task_type) +
    field(n.notify_data.status) +
    field(n.notify_data.status_desc),
  batchtask: (n: IotdaBatchTaskUpdate): string =>
    field(n.resource) +
    field(n.event) +
    field(n.event_time) +
    field(n.notify_data.body.app_id) +
    field(n.notify_data.body.task_id) +
    field(n.notify_data.body.task_type) +
    field(n.notify_data.body.status) +
    field(n.notify_data.body.status_desc),
  swUpgradeResultNotify: (n: SwUpgradeResultNotify): string =>
    field(n.notifyType) +
    field(n.deviceId) +
    field(n.appId) +
    field(n.operationId) +
    field(n.subOperationId) +
    field(n.curVersion) +
    field(n.targetVersion) +
    field(n.sourceVersion) +
    field(n.swUpgradeResult) +
    field(n.upgradeTime) +
    field(n.resultDesc) +
    field(n.errorCode) +
    field(n.description),
  swUpgradeStateChangeNotify: (n: SwUpgradeStateChangeNotify): string =>
    field(n.notifyType) +
    field(n.deviceId) +
    field(n.appId) +
    field(n.operationId) +
    field(n.subOperationId) +
    field(n.swUpgradeState),
};

export const dedupeDigests = {
  fwUpgradeResultNotify: (d: KeyedDigest, n: FwUpgradeResultNotify): KeyedDigest =>
    d
      .start(0)
      .text(n.deviceId)
      .text(n.appId)
      .text(n.operationId)
      .text(n.subOperationId)
      .text(n.curVersion)
      .text(n.targetVersion)
      .text(n.sourceVersion)
      .text(n.status)
      .text(n.statusDesc)
      .value(n.upgradeTime),
  fwUpgradeStateChangeNotify: (d: KeyedDigest, n: FwUpgradeStateChangeNotify): KeyedDigest =>
    d
      .start(1)
      .text(n.deviceId)
      .text(n.appId)
      .text(n.operationId)
      .text(n.subOperationId)
      .text(n.step)
      .text(n.stepDesc),
  "batchtask.status": (d: KeyedDigest, n: IotdaBatchTaskStatusUpdate): KeyedDigest =>
    d
      .start(2)
      .text(n.notify_data.app_id)
      .text(n.notify_data.task_id)
      .text(n.notify_data.task_type)
      .text(n.notify_data.status)
      .text(n.notify_data.status_desc),
  batchtask: (d: KeyedDigest, n: IotdaBatchTaskUpdate): KeyedDigest =>
    d
      .start(3)
      .text(n.event_time)
      .text(n.notify_data.body.app_id)
      .text(n.notify_data.body.task_id)
      .text(n.notify_data.body.task_type)
      .text(n.notify_data.body.status)
      .text(n.notify_data.body.status_desc),
  swUpgradeResultNotify: (d: KeyedDigest, n: SwUpgradeResultNotify): KeyedDigest =>
    d
      .start(4)
      .text(n.deviceId)
      .text(n.appId)
      .text(n.operationId)
      .text(n.subOperationId)
      .text(n.curVersion)
      .text(n.targetVersion)
      .text(n.sourceVersion)
      .text(n.swUpgradeResult)
      .value(n.upgradeTime)
      .text(n.resultDesc)
      .text(n.errorCode)
      .text(n.description),
  swUpgradeStateChangeNotify: (d: KeyedDigest, n: SwUpgradeStateChangeNotify): KeyedDigest =>
    d
      .start(5)
      .text(n.deviceId)
      .text(n.appId)
      .text(n.operationId)
      .text(n.subOperationId)
      .text(n.swUpgradeState),
};
