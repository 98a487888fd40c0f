// A task's devices filtered, searched, sorted and paged on the server: the page never downloads a
// whole task (a 200 000-device task is 131 MB of JSON, and building it blocked the pushes' answers
// for seconds). A view is kept a second at most, so three tabs refreshing on every change cost one
// walk over the devices a second, not one per tab per change.
import type { Device, DeviceRow, Task } from './fold';

export const SORT_KEYS = ['lastSeen', 'firstSeen', 'deviceId', 'state', 'result', 'errorCode', 'sourceVersion', 'targetVersion', 'upgradeTime'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

/**
 * Which devices: 'all', 'succeeded', 'failed', 'reconciled', 'in progress', 'stale', or one value of
 * a field: 'state:downloading', 'errorCode:120006', 'sourceVersion:V1'.
 */
export type DeviceFilter = 'all' | 'succeeded' | 'failed' | 'reconciled' | 'in progress' | 'stale' | `state:${string}` | `errorCode:${string}` | `sourceVersion:${string}`;

export interface DeviceQuery {
  filter?: DeviceFilter;
  /** Part of a device id or sub-task id, any case. */
  search?: string;
  /** Default 'lastSeen' (most recently active first). */
  sort?: SortKey;
  /** Default 'desc' for times, 'asc' for the rest. */
  order?: 'asc' | 'desc';
  offset?: number;
  /** Devices on the page; default 100, at most 1 000. */
  limit?: number;
}

/** A device row as the API gives it: with whether it is stale, and the text the `errorCodes` option gives its code. */
export interface DashboardDevice extends DeviceRow {
  stale: boolean;
  errorText: string | null;
}

export interface DevicePage {
  /** Devices matching the filter and search. */
  total: number;
  offset: number;
  limit: number;
  devices: DashboardDevice[];
}

export const MAX_PAGE = 1000;
const VIEW_MS = 1000;
/** Tasks with fewer devices than this are walked afresh on every read (a few milliseconds at most). */
const BIG_TASK = 5000;
/** A view of a task that did not change is kept longer, but not for ever: devices turn stale with time alone. */
const STILL_MS = 30_000;
const VIEWS = 16;

const FIELD_FILTERS = ['state', 'errorCode', 'sourceVersion'] as const;

/** Why a query cannot be answered, for a 400; undefined when it can. */
export function checkQuery(query: DeviceQuery): string | undefined {
  const { filter, sort, order, offset, limit } = query;
  if (filter !== undefined && !['all', 'succeeded', 'failed', 'reconciled', 'in progress', 'stale'].includes(filter) && !FIELD_FILTERS.some((field) => filter.startsWith(`${field}:`))) {
    return `filter must be all, succeeded, failed, reconciled, in progress, stale, or state:, errorCode:, sourceVersion: and a value; got ${JSON.stringify(filter)}`;
  }
  if (sort !== undefined && !(SORT_KEYS as readonly string[]).includes(sort)) return `sort must be one of ${SORT_KEYS.join(', ')}; got ${JSON.stringify(sort)}`;
  if (order !== undefined && !['asc', 'desc'].includes(order)) return `order must be asc or desc; got ${JSON.stringify(order)}`;
  if (offset !== undefined && !(Number.isSafeInteger(offset) && offset >= 0)) return `offset must be a whole number; got ${String(offset)}`;
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 1 && limit <= MAX_PAGE)) return `limit must be a whole number from 1 to ${MAX_PAGE}; got ${String(limit)}`;
  return undefined;
}

/** The query a URL's search parameters name (unchecked: see checkQuery). */
export function queryOf(params: URLSearchParams): DeviceQuery {
  const query: DeviceQuery = {};
  const text = (name: string): string | undefined => params.get(name) ?? undefined;
  const filter = text('filter');
  if (filter !== undefined) query.filter = filter as DeviceFilter;
  const search = text('search');
  if (search !== undefined && search !== '') query.search = search;
  const sort = text('sort');
  if (sort !== undefined) query.sort = sort as SortKey;
  const order = text('order');
  if (order !== undefined) query.order = order as 'asc' | 'desc';
  const offset = text('offset');
  if (offset !== undefined) query.offset = Number(offset);
  const limit = text('limit');
  if (limit !== undefined) query.limit = Number(limit);
  return query;
}

function matcher(query: DeviceQuery, isStale: (device: Device) => boolean): ((device: Device) => boolean) | undefined {
  const { filter = 'all', search } = query;
  const pattern = search === undefined ? undefined : new RegExp(search.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
  const found = pattern === undefined ? undefined : (device: Device): boolean => pattern.test(device.deviceId) || pattern.test(device.subOperationId);
  let kept: ((device: Device) => boolean) | undefined;
  if (filter === 'succeeded') kept = (device) => device.result === 'SUCCESS';
  else if (filter === 'failed') kept = (device) => device.result === 'FAIL';
  else if (filter === 'reconciled') kept = (device) => device.reconciled;
  else if (filter === 'in progress') kept = (device) => device.result === null;
  else if (filter === 'stale') kept = isStale;
  else if (filter !== 'all') {
    const colon = filter.indexOf(':');
    const field = filter.slice(0, colon) as (typeof FIELD_FILTERS)[number];
    const value = filter.slice(colon + 1);
    kept = field === 'state' ? (device) => device.result === null && device.state === value : (device) => device[field] === value;
  }
  if (kept === undefined) return found;
  if (found === undefined) return kept;
  const both = kept;
  return (device) => both(device) && found(device);
}

const compareText = (a: string | null, b: string | null): number => (a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1);
const asNumber = (value: string | null): number => (value === null || value === '' ? Number.NaN : Number(value));

function comparator(sort: SortKey): (a: Device, b: Device) => number {
  if (sort === 'lastSeen' || sort === 'firstSeen') return (a, b) => a[sort] - b[sort];
  if (sort === 'upgradeTime') {
    return (a, b) => {
      const x = asNumber(a.upgradeTime);
      const y = asNumber(b.upgradeTime);
      if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) === Number.isNaN(y) ? compareText(a.upgradeTime, b.upgradeTime) : Number.isNaN(x) ? 1 : -1;
      return x - y;
    };
  }
  return (a, b) => compareText(a[sort], b[sort]);
}

interface View {
  task: Task;
  version: number;
  builtAt: number;
  rows: Device[];
}

/** Views of tasks' devices, each rebuilt at most once a second while its task changes. */
export class DeviceViews {
  readonly #views = new Map<string, View>();
  readonly #isStale: (task: Task, device: Device, now: number) => boolean;

  readonly #stale: (operationId: string, inMs: number) => void;

  /** `staleRead` hears of a view served older than its task, and when it can be rebuilt. */
  constructor(isStale: (task: Task, device: Device, now: number) => boolean, staleRead: (operationId: string, inMs: number) => void) {
    this.#isStale = isStale;
    this.#stale = staleRead;
  }

  /** The devices of `task` that `query` picks, in its order (not paged). */
  rows(task: Task, query: DeviceQuery, now: number): Device[] {
    const sort = query.sort ?? 'lastSeen';
    const order = query.order ?? (sort === 'lastSeen' || sort === 'firstSeen' ? 'desc' : 'asc');
    const key = JSON.stringify([task.operationId, query.filter ?? 'all', query.search ?? '', sort, order]);
    const held = this.#views.get(key);
    if (held !== undefined && held.task === task) {
      const age = now - held.builtAt;
      const current = held.version === task.version;
      // A small task's view is rebuilt whenever it changed; a big one's at most once a second, and
      // whoever read it stale is told of a change once it can be rebuilt, so no change stays unseen.
      if ((current && age < STILL_MS) || (!current && age < VIEW_MS && task.devices.size >= BIG_TASK)) {
        if (!current) this.#stale(task.operationId, VIEW_MS - age);
        this.#views.delete(key);
        this.#views.set(key, held);
        return held.rows;
      }
    }
    const keep = matcher(query, (device) => this.#isStale(task, device, now));
    // The map's order is least recently active first: most recently active first is its reverse.
    let rows = keep === undefined ? [...task.devices.values()] : [...task.devices.values()].filter(keep);
    if (sort !== 'lastSeen') rows.sort(comparator(sort));
    if (order === 'desc') rows = rows.reverse();
    this.#views.delete(key);
    this.#views.set(key, { task, version: task.version, builtAt: now, rows });
    if (this.#views.size > VIEWS) this.#views.delete(this.#views.keys().next().value as string);
    return rows;
  }

  /**
   * One page of the devices `query` picks. Unfiltered in activity order (what the page shows first)
   * it walks the task's map without building a view: no copy of 200 000 entries a second for the GC.
   */
  page(task: Task, query: DeviceQuery, offset: number, limit: number, now: number): { total: number; rows: Device[] } {
    const sort = query.sort ?? 'lastSeen';
    if ((query.filter ?? 'all') !== 'all' || query.search !== undefined || sort !== 'lastSeen') {
      const rows = this.rows(task, query, now);
      return { total: rows.length, rows: rows.slice(offset, offset + limit) };
    }
    const total = task.devices.size;
    const wanted = Math.min(offset + limit, total);
    const rows: Device[] = [];
    if (query.order === 'asc') {
      for (const device of task.devices.values()) {
        if (rows.length === wanted) break;
        rows.push(device);
      }
      return { total, rows: rows.slice(offset) };
    }
    // Most recently active first: the last `wanted` entries of the map, newest first.
    let skip = total - wanted;
    for (const device of task.devices.values()) {
      if (skip > 0) skip -= 1;
      else rows.push(device);
    }
    return { total, rows: rows.reverse().slice(offset) };
  }

  /** Forgets every view (the dashboard closed). */
  clear(): void {
    this.#views.clear();
  }
}

/** A device as the API and the CSV give it. */
export function rowOf(device: Device, stale: boolean, errorText: string | null): DashboardDevice {
  return {
    deviceId: device.deviceId,
    subOperationId: device.subOperationId,
    state: device.state,
    result: device.result,
    errorCode: device.errorCode,
    errorText,
    resultDesc: device.resultDesc,
    description: device.description,
    statusDesc: device.statusDesc,
    reconciled: device.reconciled,
    sourceVersion: device.sourceVersion,
    curVersion: device.curVersion,
    targetVersion: device.targetVersion,
    upgradeTime: device.upgradeTime,
    firstSeen: new Date(device.firstSeen),
    lastSeen: new Date(device.lastSeen),
    stale,
    history: device.history.map((entry) => ({ ...entry, at: new Date(entry.at) })),
  };
}
