// The dashboard's rollouts: their views as JSON, and, with `rolloutActions: true`, an operator's
// requests (pause, resume, abort, approve, retry) as POSTs with a JSON body. A form on another site
// cannot send one (its content type needs a preflight the dashboard never answers), and the requests
// go through the same `authorize` as every other route.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extensionOf } from '../router/extension';
import type { UpgradeRouter } from '../router/router';
import { ROLLOUTS, type AttachedRollouts } from '../rollout/attached';
import { ROLLOUT_ACTIONS, type RolloutAction } from '../rollout/requests';
import { json } from './answer';

const MAX_BODY = 16 * 1024;


/** The body as JSON; a body too large is read to its end (so that the answer reaches the caller) and refused. */
function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY) return reject(Object.assign(new Error(`a request body is at most ${MAX_BODY} bytes`), { status: 413 }));
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(text === '' ? {} : JSON.parse(text));
      } catch {
        reject(new Error('the body is not JSON'));
      }
    });
    req.on('error', reject);
  });
}

/** A retry's selection from a JSON body: lists of strings and a boolean, nothing else. */
function selectionOf(body: unknown): { reasons?: string[]; codes?: string[]; timedOut?: boolean } | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body is a JSON object';
  const { reasons, codes, timedOut, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) return `unknown field ${unknown[0] as string}: a retry takes reasons, codes and timedOut`;
  const strings = (value: unknown): boolean => value === undefined || (Array.isArray(value) && value.every((item) => typeof item === 'string'));
  if (!strings(reasons) || !strings(codes)) return 'reasons and codes are lists of strings';
  if (timedOut !== undefined && typeof timedOut !== 'boolean') return 'timedOut is true or false';
  return { ...(reasons !== undefined && { reasons: reasons as string[] }), ...(codes !== undefined && { codes: codes as string[] }), ...(timedOut !== undefined && { timedOut }) };
}

/** Serves /api/rollouts routes; false for any other path. */
export function serveRollouts(router: UpgradeRouter, actions: boolean, req: IncomingMessage, res: ServerResponse, path: string): boolean {
  const match = /^\/api\/rollouts(?:\/([^/]+)(?:\/([a-z]+))?)?$/.exec(path);
  if (match === null) return false;
  const rollouts: AttachedRollouts | undefined = extensionOf(router)?.attached(ROLLOUTS);
  const fail = (error: unknown): void => json(res, (error as { code?: unknown }).code === 'ERR_ROLLOUT_NOT_FOUND' ? 404 : 503, { error: (error as Error).message });
  if (rollouts === undefined) {
    // No rollouts on this router (createRollouts attaches them): none to list, none to find.
    if (match[1] === undefined) json(res, 200, []);
    else json(res, 404, { error: 'no rollouts on this router: create them with createRollouts({ router, client })' });
    return true;
  }
  let id: string | undefined;
  try {
    id = match[1] === undefined ? undefined : decodeURIComponent(match[1]);
  } catch {
    json(res, 400, { error: 'the rollout id is not a valid URL component' });
    return true;
  }
  const action = match[2];
  if (action === undefined) {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      json(res, 405, { error: 'method not allowed' });
      return true;
    }
    const read = id === undefined ? rollouts.list() : rollouts.get(id);
    read.then((found) => (found === undefined ? json(res, 404, { error: `no rollout ${JSON.stringify(id)}` }) : json(res, 200, found)), fail);
    return true;
  }
  if (id === undefined || !ROLLOUT_ACTIONS.some((known) => known === action)) {
    json(res, 404, { error: 'not found' });
    return true;
  }
  if (req.method !== 'POST') {
    json(res, 405, { error: 'an action is a POST' });
    return true;
  }
  if (!actions) {
    json(res, 403, { error: 'rollout actions are off: give the dashboard rolloutActions: true (behind your authentication or authorize)' });
    return true;
  }
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
    json(res, 415, { error: 'an action is sent as application/json' });
    return true;
  }
  const rolloutId = id;
  readJson(req).then(
    (body) => {
      const selection = action === 'retry' ? selectionOf(body) : {};
      if (typeof selection === 'string') return json(res, 400, { error: selection });
      rollouts.request(rolloutId, action as RolloutAction, selection).then((request) => json(res, 202, { request }), fail);
    },
    (error: unknown) => json(res, (error as { status?: number }).status ?? 400, { error: (error as Error).message }),
  );
  return true;
}
