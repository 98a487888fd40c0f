import { settle } from './thrown';

/** Where the router writes what no listener takes, and its warnings: console, pino, winston, or your own. */
export interface Logger {
  error(message: string, ...details: unknown[]): unknown;
  /** Used for warnings when present (console, pino and winston have it); `error` otherwise. */
  warn?(message: string, ...details: unknown[]): unknown;
}

/**
 * Writes through the user's logger without letting it break the request path: a logger that throws,
 * or returns a promise that rejects, is ignored (there is nothing else left to report to).
 */
export function log(logger: Logger, level: 'error' | 'warn', message: string, ...details: unknown[]): void {
  try {
    const text = `huawei-iot-upgrade-router: ${message}`;
    const result: unknown = level === 'warn' && typeof logger.warn === 'function' ? logger.warn(text, ...details) : logger.error(text, ...details);
    if ((typeof result === 'object' && result !== null) || typeof result === 'function') settle(result).catch(noop);
  } catch {
    // Nothing else is left to report to.
  }
}

function noop(): void {}
