// Generated from schema/*.schema.json by scripts/generate.mjs (npm run generate). Do not edit by hand.
// The values of every documented field, in schema order, each as <length>:<text>: what identifies a re-send.
import type { FwUpgradeResultNotify, FwUpgradeStateChangeNotify, SwUpgradeResultNotify, SwUpgradeStateChangeNotify } from './notifications';

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
