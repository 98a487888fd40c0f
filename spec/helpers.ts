import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Express } from './express';
import { createUpgradeRouter, type UpgradeRouter, type UpgradeRouterOptions } from 'huawei-iot-upgrade-router';
import type { Rejection } from 'huawei-iot-upgrade-router';
import type { SwUpgradeResultNotify } from 'huawei-iot-upgrade-router';
import type { Notification, NotifyType, ReceiveContext } from 'huawei-iot-upgrade-router';

export const CALLBACK_PATH = '/v1.0.0/messageReceiver';

const fixtureDir = join(__dirname, 'fixtures', 'sw-upgrade-result-notify');

/** The fixture's text exactly as stored (the reference's example keeps its own formatting). */
export function fixtureText(name: string): string {
  return readFileSync(join(fixtureDir, `${name}.json`), 'utf8');
}

export function fixture(name: string): SwUpgradeResultNotify {
  return JSON.parse(fixtureText(name)) as SwUpgradeResultNotify;
}

/**
 * The fixture as a new notification: fresh task IDs, so duplicate suppression (on by default) takes
 * it for a new one. Specs that send the same fixture twice on purpose use the plain fixture.
 */
export function fresh(name: string): SwUpgradeResultNotify {
  return { ...fixture(name), operationId: randomUUID(), subOperationId: randomUUID() };
}

export function freshText(name: string): string {
  return JSON.stringify(fresh(name), null, 4);
}

export const fixtureNames = readdirSync(fixtureDir)
  .filter((file) => file.endsWith('.json'))
  .map((file) => file.replace(/\.json$/, ''));

/** Every fixture of every notification type: spec/fixtures/<type in kebab case>/<name>.json. */
export const allFixtures: Array<{ type: NotifyType; name: string; text: string; body: Notification }> = readdirSync(join(__dirname, 'fixtures')).flatMap(
  (dir) =>
    readdirSync(join(__dirname, 'fixtures', dir))
      .filter((file) => file.endsWith('.json'))
      .map((file) => {
        const text = readFileSync(join(__dirname, 'fixtures', dir, file), 'utf8');
        const body = JSON.parse(text) as Notification;
        return { type: 'notifyType' in body ? body.notifyType : body.resource, name: `${dir}/${file.replace(/\.json$/, '')}`, text, body };
      }),
);

export type Outcome =
  | { event: 'upgradeResult'; notification: SwUpgradeResultNotify; context: ReceiveContext }
  | { event: 'invalid'; rejection: Rejection };

/** Resolves with the next outcome event (a notification or `invalid`) the router emits. */
export function nextOutcome(upgrades: UpgradeRouter): Promise<Outcome> {
  return new Promise((resolve) => {
    const onResult = (notification: SwUpgradeResultNotify, context: ReceiveContext): void => {
      upgrades.off('invalid', onInvalid);
      resolve({ event: 'upgradeResult', notification, context });
    };
    const onInvalid = (rejection: Rejection): void => {
      upgrades.off('upgradeResult', onResult);
      resolve({ event: 'invalid', rejection });
    };
    upgrades.once('upgradeResult', onResult);
    upgrades.once('invalid', onInvalid);
  });
}

/** Narrows an outcome to a rejection, failing the spec with what came instead. */
export function rejectionOf(outcome: Outcome): Rejection {
  if (outcome.event !== 'invalid') throw new Error(`expected an invalid event, got ${outcome.event}`);
  return outcome.rejection;
}

export function notificationOf(outcome: Outcome): SwUpgradeResultNotify {
  if (outcome.event !== 'upgradeResult') {
    throw new Error(`expected upgradeResult, got invalid: ${outcome.rejection.reason}: ${outcome.rejection.message}`);
  }
  return outcome.notification;
}

/** Every event the router emits, in order, for specs that count them. */
export function recordEvents(upgrades: UpgradeRouter): Array<{ event: string; args: unknown[] }> {
  const seen: Array<{ event: string; args: unknown[] }> = [];
  const events = ['upgradeResult', 'upgradeState', 'firmwareUpgradeResult', 'firmwareUpgradeState', 'batchTaskUpdate', 'batchTaskStatusUpdate', 'duplicate', 'invalid', 'error'] as const;
  for (const event of events) upgrades.on(event, (...args: unknown[]) => void seen.push({ event, args }));
  return seen;
}

// Most specs mount routers with no listener on purpose; their warnings would bury the test report.
// Errors still go to the console; specs about warnings pass a logger of their own.
const quietWarnings = { error: (...args: unknown[]) => console.error(...args), warn: () => {} };

/** An app mounted as the README shows, with a host route beside it to prove fall-through. */
export function mountedApp(options?: UpgradeRouterOptions, before?: (app: Express) => void): { app: Express; upgrades: UpgradeRouter } {
  const app = express();
  before?.(app);
  const upgrades = createUpgradeRouter({ logger: quietWarnings, ...options });
  app.use(CALLBACK_PATH, upgrades);
  app.get(CALLBACK_PATH, (_req, res) => void res.status(418).send('host GET'));
  return { app, upgrades };
}
