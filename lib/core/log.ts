import { ignore, mayBeThenable, settle } from './thrown';

/** Where the router writes what no listener takes, and its warnings: console, pino, winston, or your own. */
export interface Logger {
  error(message: string, ...details: unknown[]): unknown;
  /** Used for warnings when present (console, pino and winston have it); `error` otherwise. */
  warn?(message: string, ...details: unknown[]): unknown;
}

/** What goes with a log line: the failure, and what it concerned. */
export interface LogDetails {
  error?: Error;
  notification?: unknown;
  /** For an error listener that failed: the failure it was handling. */
  handling?: Error;
}

type Write = (level: 'error' | 'warn', message: string, details: LogDetails) => unknown;

// An Error as fields a JSON logger keeps: JSON.stringify(new Error()) is "{}".
const errorFields = (error: Error): Record<string, unknown> => ({ name: error.name, message: error.message, stack: error.stack });

// Called on the logger itself (pino's and winston's methods need their `this`). The first argument is a
// string or, for pino, the details object.
function methodOf(logger: Logger, level: 'error' | 'warn'): (first: unknown, ...rest: unknown[]) => unknown {
  const untyped = logger as unknown as Record<'error' | 'warn', ((...args: unknown[]) => unknown) | undefined>;
  return (first, ...rest) => (level === 'warn' && typeof untyped.warn === 'function' ? untyped.warn(first, ...rest) : logger.error(first as string, ...rest));
}

/**
 * Each logger family's own way to take structured details, so that a JSON logger keeps them as
 * fields: pino wants the object first (`err` gets its error serializer), winston wants it
 * after the message with plain values, console prints the values after the message.
 */
function writerFor(logger: Logger): Write {
  const shape = logger as unknown as Record<string, unknown>;
  if (typeof shape['bindings'] === 'function' && typeof shape['child'] === 'function') {
    return (level, message, { error, handling, notification }) =>
      methodOf(logger, level)({ ...(error && { err: error }), ...(handling && { handling: errorFields(handling) }), ...(notification !== undefined && { notification }) }, message);
  }
  if (typeof shape['configure'] === 'function' && typeof shape['add'] === 'function') {
    return (level, message, { error, handling, notification }) =>
      methodOf(logger, level)(message, {
        ...(error && { error: errorFields(error) }),
        ...(handling && { handling: errorFields(handling) }),
        ...(notification !== undefined && { notification }),
      });
  }
  return (level, message, details) => methodOf(logger, level)(message, ...Object.values(details as Record<string, unknown>).filter((value) => value !== undefined));
}

const writers = new WeakMap<Logger, Write>();

/**
 * Writes through the user's logger without letting it break the request path: a logger that throws,
 * or returns a promise that rejects, is ignored (there is nothing else left to report to).
 */
export function log(logger: Logger, level: 'error' | 'warn', message: string, details: LogDetails = {}): void {
  try {
    let write = writers.get(logger);
    if (write === undefined) writers.set(logger, (write = writerFor(logger)));
    const result = write(level, `huawei-iot-upgrade-router: ${message}`, details);
    if (mayBeThenable(result)) settle(result).catch(ignore);
  } catch {
    // Nothing else is left to report to.
  }
}

