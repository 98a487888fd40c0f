// The names a documentation fragment may use without defining them: what the surrounding text says
// the reader already has (their app, the router they made, …). Checked by spec/docs.spec.ts.
// Imported by the reader in an earlier block of the same page.
declare const express: typeof import('express');
declare const createUpgradeRouter: typeof import('huawei-iot-upgrade-router').createUpgradeRouter;
declare const app: import('express').Express;
declare const server: import('node:http').Server;
declare const upgrades: import('huawei-iot-upgrade-router').UpgradeRouter;
declare const journal: import('huawei-iot-upgrade-router').Journal;
declare const dashboard: import('huawei-iot-upgrade-router').UpgradeDashboard;
declare const operationId: string;
declare const deviceIds: string[];
/** Your authentication middleware. */
declare const requireAuth: import('express').RequestHandler;
/** Your own storage of a result. */
declare function saveResult(result: import('huawei-iot-upgrade-router').SwUpgradeResultNotify, options: { idempotencyKey: string | undefined }): Promise<void>;
/** Your own alerting. */
declare function alert(message: string): void;
/** Your app's handling of the platform's other pushes. */
declare function handleOtherPush(body: unknown): void;
