// The dashboard over HTTP: its page, JSON API, CSV exports and live stream, behind `authorize`.
// Every answer is bounded: devices come a page at a time, exports are streamed, streams are capped.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { NextFunction, UpgradeRouter } from '../router/router';
import { serveRollouts } from './rollouts';
import { json, send } from './answer';
import { log, type Logger } from '../core/log';
import { asError, describeThrown } from '../core/thrown';
import { checkQuery, queryOf, type DeviceQuery } from './query';
import type { ChangeStreams } from './streams';
import type { UpgradeDashboard, UpgradeDashboardOptions } from './api';

const assets = join(__dirname, 'assets');
const asset = (name: string): Buffer => readFileSync(join(assets, name));

// No inline script or style, nothing from another origin; the page may not be framed.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/** How long a JSON answer is reused, and how many are kept. */
const ANSWER_MS = 200;
const ANSWERS = 64;


/** What the HTTP side reads: the dashboard's own methods, its exports and its streams. */
export interface HandlerParts {
  api: Pick<UpgradeDashboard, 'tasks' | 'task' | 'devices' | 'versions' | 'health' | 'notReported' | 'neverPushed'>;
  /** Whether the fold holds the task. */
  has(operationId: string): boolean;
  /** Streams a CSV: every task's summary, or the devices `query` picks (of one task, or of all). */
  csv: { tasks(res: ServerResponse): void; devices(res: ServerResponse, operationId: string | undefined, query: DeviceQuery): void };
  streams: ChangeStreams;
  authorize: UpgradeDashboardOptions['authorize'];
  logger: Logger;
  /** Whose rollouts the /api/rollouts routes show, and whether they take actions. */
  router: UpgradeRouter;
  rolloutActions: boolean;
}

/** The request handler, and a way to drop the answers it keeps (when what they say changed at once). */
export function dashboardHandler(parts: HandlerParts): { handle: (req: IncomingMessage, res: ServerResponse, next?: NextFunction) => void; forget: () => void } {
  const { api, streams, logger } = parts;
  const page = { html: asset('index.html'), js: asset('app.js'), rollouts: asset('rollouts.js'), css: asset('app.css'), icon: asset('favicon.svg') };
  // Every open tab asks the same questions on the same change, within a few milliseconds: an answer
  // is reused for a fifth of a second (less than the stream's quarter second between changes), so
  // three tabs cost about what one does.
  const answers = new Map<string, { at: number; body: string }>();
  const answer = (res: ServerResponse, key: string, build: () => unknown): void => {
    const now = performance.now();
    const held = answers.get(key);
    if (held !== undefined && now - held.at < ANSWER_MS) return send(res, 200, 'application/json; charset=utf-8', held.body);
    const body = JSON.stringify(build());
    answers.delete(key);
    answers.set(key, { at: now, body });
    if (answers.size > ANSWERS) answers.delete(answers.keys().next().value as string);
    send(res, 200, 'application/json; charset=utf-8', body);
  };

  function serve(req: IncomingMessage, res: ServerResponse, next?: NextFunction): void {
    if (serveRollouts(parts.router, parts.rolloutActions, req, res, new URL(req.url ?? '/', 'http://dashboard.invalid').pathname)) return;
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
    if (path === '/rollouts.js') return send(res, 200, 'text/javascript; charset=utf-8', page.rollouts);
    if (path === '/app.css') return send(res, 200, 'text/css; charset=utf-8', page.css);
    if (path === '/favicon.svg') return send(res, 200, 'image/svg+xml', page.icon);
    const key = path + url.search;
    if (path === '/api/tasks') return answer(res, key, api.tasks);
    if (path === '/api/tasks.csv') return parts.csv.tasks(res);
    if (path === '/api/versions') return answer(res, key, api.versions);
    if (path === '/api/health') return answer(res, key, api.health);
    if (path === '/api/stream') {
      if (streams.open(req, res)) return;
      res.setHeader('Retry-After', '10');
      return json(res, 503, { error: 'too many live streams are open; the page falls back to reloading every few seconds' });
    }
    const query = queryOf(url.searchParams);
    if (path === '/api/devices.csv') {
      const problem = checkQuery(query);
      if (problem !== undefined) return json(res, 400, { error: problem });
      return parts.csv.devices(res, undefined, query);
    }
    // /api/tasks/ID, /api/tasks/ID/devices and /api/tasks/ID/devices.csv: the ID is one path segment
    // (a / in it is sent as %2F), so no task id can reach another route.
    const match = /^\/api\/tasks\/([^/]+)(\/devices(?:\.csv)?|\/not-reported)?$/.exec(path);
    if (match === null) {
      if (next !== undefined) return next();
      return json(res, 404, { error: 'not found' });
    }
    let operationId: string;
    try {
      operationId = decodeURIComponent(match[1] as string);
    } catch {
      return json(res, 400, { error: 'the task id is not a valid URL component' });
    }
    const rest = match[2];
    if (rest === '/not-reported') {
      const problem = checkQuery(query);
      if (problem !== undefined) return json(res, 400, { error: problem });
      const listed = api.notReported(operationId, query);
      if (listed !== undefined) return json(res, 200, listed);
      // Without a list, the platform's own: its devices still waiting, less those heard from here.
      api.neverPushed(operationId, query).then(
        (found) =>
          found === undefined
            ? json(res, 404, { error: `no list of devices for task ${JSON.stringify(operationId)}: give one with dashboard.expect(), or attach a reconciler (createReconciler) to read the platform's` })
            : json(res, 200, found),
        (error: unknown) => {
          if ((error as { code?: unknown }).code === 'ERR_RECONCILE_LOCK_HELD') return json(res, 503, { error: (error as Error).message });
          log(logger, 'error', `the upgrade dashboard could not read the platform's waiting devices: ${describeThrown(error)}`, { error: asError(error, 'the read threw') });
          json(res, 503, { error: "the platform's waiting devices could not be read now; try again" });
        },
      );
      return;
    }
    if (!parts.has(operationId)) return json(res, 404, { error: `no task ${JSON.stringify(operationId)}` });
    if (rest === undefined) return answer(res, key, () => api.task(operationId));
    const problem = checkQuery(query);
    if (problem !== undefined) return json(res, 400, { error: problem });
    if (rest === '/devices') return answer(res, key, () => api.devices(operationId, query));
    return parts.csv.devices(res, operationId, query);
  }

  function handle(req: IncomingMessage, res: ServerResponse, next?: NextFunction): void {
    const { authorize } = parts;
    if (authorize === undefined) return serve(req, res, next);
    const refuse = (...thrown: unknown[]): void => {
      const [error] = thrown;
      if (thrown.length > 0) log(logger, 'error', `the upgrade dashboard's authorize threw; the request was refused: ${describeThrown(error)}`, { error: asError(error, 'authorize threw') });
      json(res, 403, { error: 'forbidden' });
    };
    let allowed: boolean | Promise<boolean>;
    try {
      allowed = authorize(req);
    } catch (error) {
      return refuse(error);
    }
    if (allowed === true) return serve(req, res, next);
    if (allowed === false || typeof (allowed as Partial<Promise<boolean>> | undefined)?.then !== 'function') return refuse();
    allowed.then(
      // Only true serves: a JavaScript authorize resolving a truthy non-boolean is a mistake, not a yes.
      (yes) => ((yes as unknown) === true ? serve(req, res, next) : refuse()),
      (error: unknown) => refuse(error),
    );
  }

  return { handle, forget: () => answers.clear() };
}
