import { randomUUID } from 'node:crypto';
import type { DeviceNotifyType, NotificationTypes } from '../core/notification-types';

export type Result = 'SUCCESS' | 'FAIL';

const hex = (): string => randomUUID().replaceAll('-', '');
const APP_ID = 'Q7wuDY3n0Wx2TQnEmhArQ0JbUwYa';

/** The four IDs every notification of the family carries, fresh each time. */
const ids = () => ({ deviceId: randomUUID(), appId: APP_ID, operationId: hex(), subOperationId: hex() });

/** What the platform sends, with fresh IDs each time; typed, so a sample cannot drift from its schema. */
export const samples: { [T in DeviceNotifyType]: (result: Result) => NotificationTypes[T] } = {
  swUpgradeResultNotify: (result) => ({
    notifyType: 'swUpgradeResultNotify',
    ...ids(),
    curVersion: result === 'SUCCESS' ? 'V2.1.0' : 'V2.0.3',
    targetVersion: 'V2.1.0',
    sourceVersion: 'V2.0.3',
    swUpgradeResult: result,
    upgradeTime: result === 'SUCCESS' ? '186' : '600',
    resultDesc: result === 'SUCCESS' ? 'upgrade success' : 'upgrade failed',
    errorCode: result === 'SUCCESS' ? '0' : '120006',
    description: result === 'SUCCESS' ? '' : 'download package timeout',
  }),
  swUpgradeStateChangeNotify: () => ({
    notifyType: 'swUpgradeStateChangeNotify',
    ...ids(),
    swUpgradeState: 'downloading',
  }),
  fwUpgradeResultNotify: (result) => ({
    notifyType: 'fwUpgradeResultNotify',
    ...ids(),
    curVersion: result === 'SUCCESS' ? 'FW_1.1.0' : 'FW_1.0.7',
    targetVersion: 'FW_1.1.0',
    sourceVersion: 'FW_1.0.7',
    status: result,
    statusDesc: result === 'SUCCESS' ? 'SUCCESS: The device upgrade is successful.' : 'FAIL: The device upgrade fails.',
    upgradeTime: '412',
  }),
  fwUpgradeStateChangeNotify: () => ({
    notifyType: 'fwUpgradeStateChangeNotify',
    ...ids(),
    step: '1',
    stepDesc: 'downloading',
  }),
};

/** The API reference's own swUpgradeResultNotify example, placeholders masked by Huawei as published. */
export const referenceExample: NotificationTypes['swUpgradeResultNotify'] = {
  notifyType: 'swUpgradeResultNotify',
  deviceId: '******',
  appId: '***********',
  operationId: '***********',
  subOperationId: '***********',
  curVersion: '1.3',
  targetVersion: '1.5',
  sourceVersion: '1.0',
  swUpgradeResult: 'SUCCESS',
  upgradeTime: '***',
  resultDesc: '***',
  errorCode: '***',
  description: '***',
};
