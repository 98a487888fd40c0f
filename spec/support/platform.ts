// A local HTTPS loop for the platform specs: a test CA, the emulator on HTTPS, and receivers (the
// package's router, mounted as the README shows) on HTTPS with certificates from the same CA.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createTestCertificates, type TestCertificates } from 'huawei-iot-upgrade-router/emulator';
import type { UpgradeRouter, UpgradeRouterOptions } from 'huawei-iot-upgrade-router';
import type { Express } from '../express';
import { CALLBACK_PATH, mountedApp } from '../helpers';

let shared: Promise<{ certificates: TestCertificates; tls: { cert: string; key: string } }> | undefined;

/** One CA and one certificate for 127.0.0.1 and localhost, made once per run (key generation is the slow part). */
export function testTls(): Promise<{ certificates: TestCertificates; tls: { cert: string; key: string } }> {
  shared ??= (async () => {
    const certificates = await createTestCertificates();
    return { certificates, tls: await certificates.issue(['127.0.0.1', 'localhost']) };
  })();
  return shared;
}

export interface HttpsReceiver {
  url: string;
  upgrades: UpgradeRouter;
  app: Express;
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** The router mounted as the specs mount it (`mountedApp`), behind an HTTPS server on 127.0.0.1 (`port` 0: a free one). */
export async function startHttpsReceiver(options: UpgradeRouterOptions = {}, port = 0, before?: (app: Express) => void): Promise<HttpsReceiver> {
  const { tls } = await testTls();
  const { app, upgrades } = mountedApp(options, before);
  const server = createServer(tls, app);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${bound}${CALLBACK_PATH}`,
    upgrades,
    app,
    server,
    port: bound,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
