// What the router can tell about the Express app it is mounted in, read defensively: Express 4 and 5
// differ in these internals, and a plain node:http server has none of them.
import type { IncomingMessage } from 'node:http';

export interface ExpressRequestFields {
  ip?: string;
  route?: { stack?: unknown };
  body?: unknown;
  _body?: boolean;
  baseUrl?: string;
  app?: { get?: (setting: string) => unknown; _router?: { stack?: unknown }; router?: { stack?: unknown } };
}

export type ExpressRequest = IncomingMessage & ExpressRequestFields;

interface Layer {
  handle?: unknown;
  route?: { stack?: unknown };
}

// Routers nest (express.Router() inside express.Router()); a few levels is all real apps use.
const MAX_DEPTH = 8;

function stackHolds(stack: unknown, handlers: readonly unknown[], depth: number): boolean {
  if (!Array.isArray(stack) || depth > MAX_DEPTH) return false;
  return (stack as Array<Layer | null>).some(
    (layer) =>
      handlers.includes(layer?.handle) ||
      stackHolds(layer?.route?.stack, handlers, depth + 1) ||
      stackHolds((layer?.handle as { stack?: unknown } | undefined)?.stack, handlers, depth + 1),
  );
}

// app.post(path, router): Express matched the path already, and req.route is that route. Express
// leaves req.route set after an earlier route called next() (app.all('*', mw) before the mount), so
// only a route whose own stack holds this router counts.
function isOwnRoute(req: ExpressRequest, own: readonly unknown[]): boolean {
  return stackHolds(req.route?.stack, own, MAX_DEPTH);
}

/**
 * Mounted with app.use(path, router), Express strips the mount path: the callback URL itself is "/"
 * (or "" without the trailing slash); anything longer is some other route of the host's.
 */
export function isCallbackPath(req: ExpressRequest, own: readonly unknown[]): boolean {
  if (isOwnRoute(req, own)) return true;
  const url = req.url ?? '/';
  const end = url.indexOf('?');
  const path = end === -1 ? url : url.slice(0, end);
  return path === '/' || path === '';
}

/** Whether `handler` is mounted anywhere in the request's Express app; undefined outside Express. */
export function appMounts(req: ExpressRequest, handler: unknown): boolean | undefined {
  const app = req.app;
  if (app === undefined) return undefined;
  // Express 4 keeps its router in app._router; Express 5 in app.router (a getter that throws in 4).
  try {
    return stackHolds((app._router ?? app.router)?.stack, [handler], 0);
  } catch {
    return undefined;
  }
}

/** Whether Express's `trust proxy` is on, so that req.ip comes from X-Forwarded-For. False outside Express. */
export function trustsProxy(req: ExpressRequest): boolean {
  return typeof req.app?.get === 'function' && Boolean(req.app.get('trust proxy'));
}
