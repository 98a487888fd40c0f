// The control surface under /_emulator, for tests in any language (LocalStack's /_localstack and
// /_aws retrospection endpoints are the model): read what was pushed and what failed, inject faults,
// move the clock, add packages, set how devices behave. It has no authentication: the emulator
// listens on 127.0.0.1 unless told otherwise.
import type { PackageType } from '../platform/contract';
import type { PlatformEmulator, PushFilter } from './emulator';
import type { EmulatorFault } from './faults';
import type { EmulatorAnswer, EmulatorRequest } from './northbound';
import type { PushStatus } from './pusher';

const fromQuery = (request: EmulatorRequest): PushFilter => {
  const filter: PushFilter = {};
  const status = request.query.get('status');
  if (status !== null) filter.status = status as PushStatus;
  for (const name of ['notifyType', 'operationId', 'deviceId'] as const) {
    const value = request.query.get(name);
    if (value !== null) filter[name] = value;
  }
  return filter;
};

export function control(emulator: PlatformEmulator, request: EmulatorRequest): EmulatorAnswer {
  const route = `${request.method} ${request.path.replace(/\/$/, '')}`;
  const body = (request.body ?? {}) as Record<string, unknown>;
  switch (route) {
    case 'GET /_emulator':
      return {
        status: 200,
        body: {
          now: new Date(emulator.now()).toISOString(),
          speed: emulator.speed,
          appId: emulator.appId,
          packages: emulator.packages,
          devices: emulator.behaviour,
          rateLimit: emulator.rateLimit,
          pushRules: emulator.pushRules,
          pushes: emulator.pushSummary(),
          callbacks: emulator.callbacks(),
          sessions: emulator.sessions(),
          faults: emulator.faults(),
        },
      };
    case 'GET /_emulator/pushes': {
      const filter = fromQuery(request);
      // The bodies too, unless ?bodies=false: a campaign's pushes can be many.
      const bodies = request.query.get('bodies') !== 'false';
      return { status: 200, body: { summary: emulator.pushSummary(filter), pushes: emulator.pushes(filter).map((record) => (bodies ? record : { ...record, body: undefined })) } };
    }
    case 'GET /_emulator/tasks':
      return { status: 200, body: emulator.tasks() };
    case 'GET /_emulator/callbacks':
      return { status: 200, body: emulator.callbacks() };
    case 'POST /_emulator/faults':
      emulator.inject(body as unknown as EmulatorFault);
      // What is armed now, this fault with the others: a caller sees what it asked for was understood.
      return { status: 201, body: { faults: emulator.faults() } };
    case 'DELETE /_emulator/faults':
      emulator.clearFaults();
      return { status: 204 };
    case 'POST /_emulator/clock': {
      emulator.advance(Number(body['advanceMs']));
      return { status: 200, body: { now: new Date(emulator.now()).toISOString() } };
    }
    case 'POST /_emulator/packages':
      return { status: 201, body: emulator.addPackage(body as { fileType: PackageType; version: string }) };
    case 'POST /_emulator/groups':
      emulator.addDeviceGroup(body['name'] as string, body['deviceIds'] as string[]);
      return { status: 201 };
    case 'PUT /_emulator/models':
      emulator.setDeviceModels(body as Record<string, string>);
      return { status: 204 };
    case 'PUT /_emulator/devices':
      return { status: 200, body: emulator.setBehaviour(body) };
    default:
      return { status: 404, body: { error_code: '404', error_desc: `${route}: no such control route (see the README's emulator section)` } };
  }
}
