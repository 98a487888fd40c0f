import { parse as parseBytes } from 'bytes';
import type { Logger } from './core/emitter';

export interface UpgradeRouterOptions {
  /**
   * The largest body accepted, after gzip/deflate/br is undone: bytes, or a string such as '64kb'.
   * A larger one is answered 200, cut off there, and emitted as `invalid` with reason `too_large`.
   * Default '64kb' (real notifications are under 1 KB).
   */
  limit?: number | string;
  /** Where failures that no `error` listener takes are written. Default: console. */
  logger?: Logger;
}

export interface ResolvedOptions {
  limit: number;
  logger: Logger;
}

export const DEFAULT_LIMIT = 64 * 1024;

export function resolveOptions(options: UpgradeRouterOptions): ResolvedOptions {
  const limit = options.limit === undefined ? DEFAULT_LIMIT : parseBytes(options.limit);
  if (limit === null || !Number.isFinite(limit) || limit < 0) {
    throw new TypeError(`huawei-iot-upgrade-router: limit must be a byte count or a size such as '64kb', got ${String(options.limit)}`);
  }
  return { limit, logger: options.logger ?? console };
}
