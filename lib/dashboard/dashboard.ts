// The upgrade dashboard: a request handler to mount where the host chooses, behind its own
// authentication (it shows device identifiers). It serves a JSON API, a CSV per task, a live stream
// (Server-Sent Events) and one self-contained page; nothing is fetched from anywhere else.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { checkOptions, checks, kindOf, type OptionTable } from '../option-checks';
import type { Journal } from '../journal/journal';
import { RECONCILE, type NextFunction, type ReconcileAccess, type UpgradeRouter } from '../router';
import type { MissingDevice, StuckDevice, TaskReport } from '../reconcile/check';
import { log, type Logger } from '../core/log';
import { asError, describeThrown } from '../core/thrown';
import { devicesCsv } from './csv';
import { UpgradeFold, type DeviceRow, type FoldLimits, type TaskSummary } from './fold';
import { followJournal, followRouter } from './sources';

export interface UpgradeDashboardOptions {
  /** The router whose pushes are shown; without a journal, from its events since start. */
  router: UpgradeRouter;
  /** The router's journal: the view is read from it, so it survives a restart and covers every instance sharing it. */
  journal?: Journal;
  /** A device in progress with no push for this long is counted as stale. Default one hour. */
  staleAfterMs?: number;
  /** What the fold keeps in memory; the least recently active go first. */
  limits?: FoldLimits;
  /** Where a journal that cannot be read is reported (once until it can be again). Default: console. */
  logger?: Logger;
}

/** A device row as the API gives it: with whether it is stale. */
export interface DashboardDevice extends DeviceRow {
  stale: boolean;
}

/** With a reconciler on the router: what the platform said of the task at its latest check. */
export interface PlatformSummary {
  /** The task's status on the platform. */
  status: TaskReport['status'];
  /** Devices in the task. */
  expected: number;
  /** Final results pushes brought, and those filled in by reconciliation. */
  received: number;
  filledIn: number;
  /** Devices finished on the platform whose result is not here yet; devices still waiting; stuck ones. */
  missing: number;
  waiting: number;
  stuck: number;
  checkedAt: Date;
}

/** A task's summary, with the platform's view beside it when a reconciler checks the task. */
export interface DashboardTask extends TaskSummary {
  platform?: PlatformSummary;
}

/** One task: its summary, its devices, and, with a reconciler, the devices that never reported. */
export interface DashboardTaskDetail {
  task: DashboardTask;
  devices: DashboardDevice[];
  /** The platform's finished devices with no result here yet, and those stuck waiting (from the reconciler's latest check). */
  neverReported?: { missing: MissingDevice[]; stuck: StuckDevice[] };
}

export interface UpgradeDashboard {
  (req: IncomingMessage, res: ServerResponse, next?: NextFunction): void;
  /** Every task's summary, most recently active first. */
  tasks(): DashboardTask[];
  /** One task's summary and devices (most recently active first), or undefined for a task never seen. */
  task(operationId: string): DashboardTaskDetail | undefined;
  /** Stops following the router or the journal and ends the live streams. */
  close(): void;
}

const optionTable: OptionTable = {
  router: {
    check: (value) => (typeof value === 'function' && typeof (value as { on?: unknown }).on === 'function' ? undefined : `must be a router made by createUpgradeRouter(), got ${kindOf(value)}`),
    example: 'createUpgradeDashboard({ router: upgrades })',
  },
  journal: { check: checks.withMethod('notificationsAfter'), example: 'createUpgradeDashboard({ router, journal }) with the journal given to the router' },
  staleAfterMs: { check: checks.wholeNumber, example: 'createUpgradeDashboard({ router, staleAfterMs: 60 * 60_000 })' },
  logger: { check: checks.withMethod('error'), example: 'createUpgradeDashboard({ router, logger: console })' },
  limits: {
    check: checks.object,
    example: 'createUpgradeDashboard({ router, limits: { tasks: 1000, devices: 200_000 } })',
    keys: {
      tasks: { check: checks.wholeNumber, example: 'limits: { tasks: 1000 }' },
      devices: { check: checks.wholeNumber, example: 'limits: { devices: 200_000 } (all tasks together)' },
    },
  },
};

const assets = join(__dirname, 'assets');
const asset = (name: string): Buffer => readFileSync(join(assets, name));

// No inline script or style, nothing from another origin; the page may not be framed.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const STREAM_THROTTLE_MS = 250;
const HEARTBEAT_MS = 15_000;

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}

const json = (res: ServerResponse, status: number, value: unknown): void => send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));

/** Creates the dashboard; mount it with `app.use('/upgrades', requireAuth, dashboard)`. */
export function createUpgradeDashboard(options: UpgradeDashboardOptions): UpgradeDashboard {
  checkOptions(options, optionTable);
  if ((options as Partial<UpgradeDashboardOptions> | undefined)?.router === undefined) {
    throw new TypeError('huawei-iot-upgrade-router: router is required; for example createUpgradeDashboard({ router: upgrades })');
  }
  const staleAfterMs = options.staleAfterMs ?? 60 * 60_000;
  const fold = new UpgradeFold(staleAfterMs, options.limits);
  const page = { html: asset('index.html'), js: asset('app.js'), css: asset('app.css'), icon: asset('favicon.svg') };
  const streams = new Set<ServerResponse>();

  // Live updates: one 'change' event per quarter second at most, whatever the rate of pushes.
  let pending: NodeJS.Timeout | undefined;
  const changed = (): void => {
    if (pending !== undefined || streams.size === 0) return;
    pending = setTimeout(() => {
      pending = undefined;
      for (const stream of streams) stream.write(`event: change\ndata: ${Date.now()}\n\n`);
    }, STREAM_THROTTLE_MS);
  };
  const apply = (notification: Parameters<UpgradeFold['apply']>[0], at: Date): void => {
    fold.apply(notification, at);
    changed();
  };
  let failing = false;
  const stop =
    options.journal === undefined
      ? followRouter(options.router, apply)
      : followJournal(
          options.journal,
          (notification, at) => fold.apply(notification, at),
          () => {
            failing = false;
            changed();
          },
          (error) => {
            if (failing) return;
            failing = true;
            log(options.logger ?? console, 'error', `the upgrade dashboard could not read the journal (it keeps trying): ${describeThrown(error)}`, { error: asError(error, 'the journal threw') });
          },
        );
  const heartbeat = setInterval(() => {
    for (const stream of streams) stream.write(': still here\n\n');
  }, HEARTBEAT_MS).unref();

  // The reconciler, when one is attached to the router (now or later): its latest report per task.
  const access = (options.router as unknown as Partial<Record<typeof RECONCILE, ReconcileAccess>>)[RECONCILE];
  const reportOf = (operationId: string): TaskReport | undefined => access?.reconciler?.report(operationId);
  const withPlatform = (summary: TaskSummary): DashboardTask => {
    const report = reportOf(summary.operationId);
    if (report === undefined) return summary;
    const { status, expected, received, filledIn, waiting, checkedAt } = report;
    return { ...summary, platform: { status, expected, received, filledIn, missing: report.missing.length, waiting, stuck: report.stuck.length, checkedAt } };
  };
  const tasks = (): DashboardTask[] => fold.tasks().map(withPlatform);

  const task = (operationId: string): DashboardTaskDetail | undefined => {
    const now = Date.now();
    const found = fold.task(operationId, now);
    if (found === undefined) return undefined;
    const detail: DashboardTaskDetail = {
      task: withPlatform(found.task),
      devices: found.devices.map((device) => ({ ...device, stale: device.result === null && device.lastSeen.getTime() < now - staleAfterMs })),
    };
    const report = reportOf(operationId);
    if (report !== undefined) detail.neverReported = { missing: report.missing, stuck: report.stuck };
    return detail;
  };

  const stream = (req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Content-Type-Options': 'nosniff' });
    // The browser reconnects by itself after a second when the stream breaks.
    res.write('retry: 1000\n\n');
    streams.add(res);
    req.on('close', () => streams.delete(res));
  };

  function handle(req: IncomingMessage, res: ServerResponse, next?: NextFunction): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      if (next !== undefined) return next();
      return json(res, 405, { error: 'method not allowed' });
    }
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    const path = url.pathname;
    if (path === '/' || path === '') {
      // Mounted at /upgrades, a request for /upgrades arrives as '/': the page's relative links need the slash.
      const original = (req as IncomingMessage & { originalUrl?: string }).originalUrl;
      if (original !== undefined && !new URL(original, 'http://dashboard.invalid').pathname.endsWith('/')) {
        res.statusCode = 301;
        res.setHeader('Location', `${new URL(original, 'http://dashboard.invalid').pathname}/${url.search}`);
        res.end();
        return;
      }
      res.setHeader('Content-Security-Policy', CSP);
      res.setHeader('X-Frame-Options', 'DENY');
      res.setHeader('Referrer-Policy', 'no-referrer');
      return send(res, 200, 'text/html; charset=utf-8', page.html);
    }
    if (path === '/app.js') return send(res, 200, 'text/javascript; charset=utf-8', page.js);
    if (path === '/app.css') return send(res, 200, 'text/css; charset=utf-8', page.css);
    if (path === '/favicon.svg') return send(res, 200, 'image/svg+xml', page.icon);
    if (path === '/api/tasks') return json(res, 200, tasks());
    if (path === '/api/stream') return stream(req, res);
    const match = /^\/api\/tasks\/([^/]+)$/.exec(path);
    if (match !== null) {
      let raw: string;
      try {
        raw = decodeURIComponent(match[1] as string);
      } catch {
        return json(res, 400, { error: 'the task id is not a valid URL component' });
      }
      const csv = raw.endsWith('.csv');
      const operationId = csv ? raw.slice(0, -'.csv'.length) : raw;
      const found = task(operationId);
      if (found === undefined) return json(res, 404, { error: `no task ${JSON.stringify(operationId)}` });
      if (!csv) return json(res, 200, found);
      res.setHeader('Content-Disposition', `attachment; filename="task-${operationId.replace(/[^A-Za-z0-9._-]/g, '_')}.csv"`);
      return send(res, 200, 'text/csv; charset=utf-8', devicesCsv(found.devices));
    }
    if (next !== undefined) return next();
    json(res, 404, { error: 'not found' });
  }

  return Object.assign(handle, {
    tasks,
    task,
    close: () => {
      stop();
      clearInterval(heartbeat);
      clearTimeout(pending);
      for (const open of streams) open.end();
      streams.clear();
    },
  });
}
