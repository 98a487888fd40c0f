// Generated from schema/*.schema.json by scripts/generate.mjs (npm run generate). Do not edit by hand.
// The values of every documented field, in schema order, joined by NUL: what identifies a re-send.
import type { FwUpgradeResultNotify, FwUpgradeStateChangeNotify, SwUpgradeResultNotify, SwUpgradeStateChangeNotify } from './notifications';

export const dedupeKeys = {
  fwUpgradeResultNotify: (n: FwUpgradeResultNotify): string => `${n.notifyType}\u0000${n.deviceId}\u0000${n.appId}\u0000${n.operationId}\u0000${n.subOperationId}\u0000${n.curVersion}\u0000${n.targetVersion}\u0000${n.sourceVersion}\u0000${n.status}\u0000${n.statusDesc}\u0000${n.upgradeTime}`,
  fwUpgradeStateChangeNotify: (n: FwUpgradeStateChangeNotify): string => `${n.notifyType}\u0000${n.deviceId}\u0000${n.appId}\u0000${n.operationId}\u0000${n.subOperationId}\u0000${n.step}\u0000${n.stepDesc}`,
  swUpgradeResultNotify: (n: SwUpgradeResultNotify): string => `${n.notifyType}\u0000${n.deviceId}\u0000${n.appId}\u0000${n.operationId}\u0000${n.subOperationId}\u0000${n.curVersion}\u0000${n.targetVersion}\u0000${n.sourceVersion}\u0000${n.swUpgradeResult}\u0000${n.upgradeTime}\u0000${n.resultDesc}\u0000${n.errorCode}\u0000${n.description}`,
  swUpgradeStateChangeNotify: (n: SwUpgradeStateChangeNotify): string => `${n.notifyType}\u0000${n.deviceId}\u0000${n.appId}\u0000${n.operationId}\u0000${n.subOperationId}\u0000${n.swUpgradeState}`,
};
