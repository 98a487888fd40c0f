// The northbound routes: the same paths, bodies, enums and error codes as the client (one contract,
// ../platform/contract.ts). Each route answers as the reference documents; what the emulator does
// not model answers 400 with a text that says so.
import { randomUUID } from 'node:crypto';
import { MAX_PAGE_SIZE, UPGRADE_NOTIFY_TYPES, paths, type OperateType, type Subscription, type VersionPackage } from '../platform/contract';
import { EmulatorError, type App, type Apps } from './apps';
import type { EmulatedPackage, Tasks } from './tasks';

export interface EmulatorRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** The body's text as received (IoTDA's signature covers it). */
  raw?: string;
  /** The request's path and query as received. */
  url?: string;
}

export interface EmulatorAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Northbound {
  apps: Apps;
  tasks: Tasks;
  /** Per application, the callback URL of each subscribed notifyType. */
  subscriptions: Map<string, Map<string, Subscription>>;
}

const header = (request: EmulatorRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
};

const field = (body: unknown, name: string): string | undefined => {
  const value = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
  return typeof value === 'string' ? value : undefined;
};

/** pageNo >= 0 and 1 <= pageSize <= 100, else 123029; the documented defaults 0 and 10. */
function paged<T>(request: EmulatorRequest, rows: T[]): { data: T[]; pageNo: number; pageSize: number; totalCount: number } {
  const pageNo = Number(request.query.get('pageNo') ?? 0);
  const pageSize = Number(request.query.get('pageSize') ?? 10);
  if (!Number.isInteger(pageNo) || pageNo < 0 || !Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) throw new EmulatorError('pageBeyondLimit');
  return { data: rows.slice(pageNo * pageSize, (pageNo + 1) * pageSize), pageNo, pageSize, totalCount: rows.length };
}

const filters = (request: EmulatorRequest, names: string[]): Record<string, string | undefined> =>
  Object.fromEntries(names.map((name) => [name, request.query.get(name) ?? undefined]));

/** The rows whose fields equal every filter given; an absent filter matches every row. */
export function matching<T extends object>(rows: T[], wanted: Record<string, string | undefined>): T[] {
  return rows.filter((row) => Object.entries(wanted).every(([name, value]) => value === undefined || (row as Record<string, unknown>)[name] === value));
}

export function northbound(state: Northbound, request: EmulatorRequest): EmulatorAnswer {
  const { method, path } = request;
  if (method === 'POST' && path === paths.login) {
    // Form-encoded, as documented; the body parser gives the form's fields.
    return { status: 200, body: state.apps.login(field(request.body, 'appId'), field(request.body, 'secret')) };
  }
  if (method === 'POST' && path === paths.refreshToken) {
    return { status: 200, body: state.apps.refresh(field(request.body, 'appId'), field(request.body, 'secret'), field(request.body, 'refreshToken')) };
  }
  const app = state.apps.authorize(header(request, 'app_key') ?? header(request, 'x-app-key'), header(request, 'authorization'));
  const upgrade: Record<string, OperateType> = { [paths.softwareUpgrade]: 'software_upgrade', [paths.firmwareUpgrade]: 'firmware_upgrade' };
  if (method === 'POST' && upgrade[path] !== undefined) {
    return { status: 200, body: { operationId: state.tasks.create(app.appId, upgrade[path], request.body) } };
  }
  if (method === 'GET' && path === paths.operations) {
    const query = filters(request, ['operationType', 'operationStatus', 'deviceId']);
    const tasks = matching(state.tasks.list(app.appId, query['deviceId']), { operateType: query['operationType'], status: query['operationStatus'] });
    return { status: 200, body: paged(request, tasks) };
  }
  const operation = new RegExp(`^${paths.operations}/([^/]+)(/subOperations)?$`).exec(path);
  if (method === 'GET' && operation !== null) {
    const operationId = decodeURIComponent(operation[1] as string);
    if (operation[2] === undefined) return { status: 200, body: state.tasks.get(app.appId, operationId) };
    return { status: 200, body: paged(request, state.tasks.subTasks(app.appId, operationId, request.query.get('subOperationStatus') ?? undefined)) };
  }
  if (path === paths.categories && method === 'GET') {
    const rows = matching([...state.tasks.packages.values()], filters(request, ['fileType', 'deviceType', 'model', 'manufacturerName', 'version']));
    return { status: 200, body: paged(request, rows.map(withoutFromVersion)) };
  }
  const category = new RegExp(`^${paths.categories}/([^/]+)$`).exec(path);
  if (category !== null && method === 'GET') {
    return { status: 200, body: withoutFromVersion(state.tasks.getPackage(decodeURIComponent(category[1] as string))) };
  }
  const device = new RegExp(`^${paths.devices}/([^/]+)$`).exec(path);
  if (device !== null && method === 'GET') return { status: 200, body: state.tasks.device(app.appId, decodeURIComponent(device[1] as string)) };
  if (method === 'POST' && path === paths.subscribe) return subscribe(state, app, request.body);
  if (method === 'GET' && path === paths.subscriptions) {
    const rows = matching([...(state.subscriptions.get(app.appId)?.values() ?? [])], filters(request, ['notifyType', 'callbackUrl']));
    const { data, ...page } = paged(request, rows);
    return { status: 200, body: { ...page, subscriptions: data } };
  }
  const subscription = new RegExp(`^${paths.subscriptions}/([^/]+)$`).exec(path);
  if (method === 'DELETE' && subscription !== null) {
    const subscriptionId = decodeURIComponent(subscription[1] as string);
    const mine = state.subscriptions.get(app.appId);
    const found = [...(mine?.values() ?? [])].find((row) => row.subscriptionId === subscriptionId);
    if (found === undefined) throw new EmulatorError('notFound', 'error_code', 'The subscription does not exist.');
    mine?.delete(found.notifyType);
    return { status: 204 };
  }
  throw new EmulatorError('badRequest', 'error_code', `${method} ${path} is not a northbound API the emulator knows.`);
}

/** What the platform answers for a package: the emulator's own `fromVersion` is not part of it. */
function withoutFromVersion(row: EmulatedPackage): VersionPackage {
  const answer: VersionPackage & { fromVersion?: string } = { ...row };
  delete answer.fromVersion;
  return answer;
}

function subscribe(state: Northbound, app: App, body: unknown): EmulatorAnswer {
  const notifyType = field(body, 'notifyType');
  // The REST reference says callbackUrl; the Java and Python SDK DTOs send callbackurl.
  const callbackUrl = field(body, 'callbackUrl') ?? field(body, 'callbackurl');
  if (notifyType === undefined || callbackUrl === undefined) throw new EmulatorError('parameterMissing');
  if (!(UPGRADE_NOTIFY_TYPES as readonly string[]).includes(notifyType)) {
    throw new EmulatorError('badRequest', 'error_code', `notifyType ${notifyType} is not an upgrade push (the emulator models the four).`);
  }
  if (!URL.canParse(callbackUrl) || !/^https?:$/.test(new URL(callbackUrl).protocol)) throw new EmulatorError('badRequest', 'error_code', 'callbackUrl must be an http(s) URL.');
  let mine = state.subscriptions.get(app.appId);
  if (mine === undefined) {
    mine = new Map();
    state.subscriptions.set(app.appId, mine);
  }
  // A second subscription of a type replaces the first: one callback URL per type.
  mine.set(notifyType, { subscriptionId: mine.get(notifyType)?.subscriptionId ?? randomUUID(), notifyType, callbackUrl, appId: app.appId, channel: 'HTTP' });
  return { status: 200 };
}
