// Generated from schema/*.schema.json by scripts/generate.mjs (npm run generate). Do not edit by hand.
// Extra fields are allowed at run time (the schemas do not forbid them) but left out of the types,
// so that a misspelt field name is a compile error.

/**
 * Firmware upgrade result notification (固件升级结果通知), pushed by the Huawei IoT platform (northbound API v1.0.0) when a firmware upgrade task for a device finishes. All 11 documented fields are mandatory; unknown extra fields are allowed and kept.
 */
export interface FwUpgradeResultNotify {
  /**
   * Notification type (通知类型); always fwUpgradeResultNotify.
   */
  notifyType: "fwUpgradeResultNotify";
  /**
   * Device ID (设备ID) assigned by the platform at registration.
   */
  deviceId: string;
  /**
   * Application ID (应用ID) of the application the device belongs to.
   */
  appId: string;
  /**
   * Firmware upgrade task ID (固件升级任务ID).
   */
  operationId: string;
  /**
   * Firmware upgrade sub-task ID (固件升级子任务ID), one per device.
   */
  subOperationId: string;
  /**
   * The device's current firmware version (设备当前的固件版本).
   */
  curVersion: string;
  /**
   * The firmware version the upgrade aims at (设备要升级的目标固件版本).
   */
  targetVersion: string;
  /**
   * The device's firmware version before the upgrade (设备的源固件版本).
   */
  sourceVersion: string;
  /**
   * Upgrade result (升级结果): SUCCESS or FAIL.
   */
  status: "SUCCESS" | "FAIL";
  /**
   * Description of the upgrade result (升级结果描述).
   */
  statusDesc: string;
  /**
   * Firmware upgrade duration (固件升级时长), unit undocumented. Typed long in one reference and String in the others: both are accepted and kept as sent.
   */
  upgradeTime: number | string;
}

/**
 * Firmware upgrade state change notification (固件升级状态变更通知), pushed by the Huawei IoT platform (northbound API v1.0.0) when the state of a device's firmware upgrade changes. All documented fields are mandatory; unknown extra fields are allowed and kept.
 */
export interface FwUpgradeStateChangeNotify {
  /**
   * Notification type (通知类型); always fwUpgradeStateChangeNotify.
   */
  notifyType: "fwUpgradeStateChangeNotify";
  /**
   * Device ID (设备ID) assigned by the platform at registration.
   */
  deviceId: string;
  /**
   * Application ID (应用ID) of the application the device belongs to.
   */
  appId: string;
  /**
   * Firmware upgrade task ID (固件升级任务ID).
   */
  operationId: string;
  /**
   * Firmware upgrade sub-task ID (固件升级子任务ID), one per device.
   */
  subOperationId: string;
  /**
   * Firmware upgrade state (固件升级状态), a string: "0" idle, "1" downloading, "2" downloaded, "3" updating.
   */
  step: "0" | "1" | "2" | "3";
  /**
   * Description of the upgrade state (升级状态描述): idle, downloading, downloaded or updating, matching step.
   */
  stepDesc: string;
}

/**
 * Software upgrade result notification (软件升级结果通知), pushed by the Huawei IoT platform (northbound API v1.0.0) when a software upgrade task for a device finishes. All 13 documented fields are mandatory; unknown extra fields are allowed and kept.
 */
export interface SwUpgradeResultNotify {
  /**
   * Notification type (通知类型); always swUpgradeResultNotify.
   */
  notifyType: "swUpgradeResultNotify";
  /**
   * Device ID (设备ID) assigned by the platform at registration.
   */
  deviceId: string;
  /**
   * Application ID (应用ID) of the application the device belongs to.
   */
  appId: string;
  /**
   * Software upgrade task ID (软件升级任务ID).
   */
  operationId: string;
  /**
   * Software upgrade sub-task ID (软件升级子任务ID), one per device.
   */
  subOperationId: string;
  /**
   * The device's current software version (设备当前软件版本).
   */
  curVersion: string;
  /**
   * The software version the upgrade aims at (设备要升级的目标软件版本).
   */
  targetVersion: string;
  /**
   * The device's software version before the upgrade (设备源软件版本).
   */
  sourceVersion: string;
  /**
   * Software upgrade result (软件升级结果): SUCCESS or FAIL.
   */
  swUpgradeResult: "SUCCESS" | "FAIL";
  /**
   * Upgrade duration (升级时长), unit undocumented. The Chinese reference types it long, the English reference and the SDKs String: both are accepted and kept as sent.
   */
  upgradeTime: number | string;
  /**
   * Description of the upgrade result (升级结果描述).
   */
  resultDesc: string;
  /**
   * Status error code reported by the device (设备上报的状态错误码); an opaque string.
   */
  errorCode: string;
  /**
   * Description of the error cause (错误原因描述).
   */
  description: string;
}

/**
 * Software upgrade state change notification (软件升级状态变更通知), pushed by the Huawei IoT platform (northbound API v1.0.0) when the state of a device's software upgrade changes. All documented fields are mandatory; unknown extra fields are allowed and kept.
 */
export interface SwUpgradeStateChangeNotify {
  /**
   * Notification type (通知类型); always swUpgradeStateChangeNotify.
   */
  notifyType: "swUpgradeStateChangeNotify";
  /**
   * Device ID (设备ID) assigned by the platform at registration.
   */
  deviceId: string;
  /**
   * Application ID (应用ID) of the application the device belongs to.
   */
  appId: string;
  /**
   * Software upgrade task ID (软件升级任务ID).
   */
  operationId: string;
  /**
   * Software upgrade sub-task ID (软件升级子任务ID), one per device.
   */
  subOperationId: string;
  /**
   * Software upgrade state (软件升级状态): downloading (the device is downloading the package), downloaded (download finished), updating (upgrading), idle; otacreated and RequestDownload are listed by one Chinese reference page.
   */
  swUpgradeState: "downloading" | "downloaded" | "updating" | "idle" | "otacreated" | "RequestDownload";
}

/** Each notifyType, from its schema's notifyType constant, to the type generated from that schema. */
export interface GeneratedNotificationTypes {
  fwUpgradeResultNotify: FwUpgradeResultNotify;
  fwUpgradeStateChangeNotify: FwUpgradeStateChangeNotify;
  swUpgradeResultNotify: SwUpgradeResultNotify;
  swUpgradeStateChangeNotify: SwUpgradeStateChangeNotify;
}
