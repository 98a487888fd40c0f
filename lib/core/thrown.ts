// Listeners, loggers and duplicate stores are the user's code and may throw anything: undefined, a
// symbol, Object.create(null), an object whose toString or message getter throws, a revoked proxy
// (on which even `instanceof` throws). Turning such a value into text must not throw in its turn:
// that crashed the process.
import { codedError } from './errors';

const UNPRINTABLE = '(a value that cannot be converted to text)';

function isError(value: unknown): value is Error {
  try {
    return value instanceof Error;
  } catch {
    return false;
  }
}

/** A sentence for `value` that never throws: the message of an Error, else String(value). */
export function describeThrown(value: unknown): string {
  try {
    const text: unknown = isError(value) ? value.message : value;
    return String(text);
  } catch {
    return UNPRINTABLE;
  }
}

/** `value` itself when it is an Error, else an Error that says what was thrown and keeps it as `cause`. */
export function asError(value: unknown, what: string): Error {
  return isError(value) ? value : codedError('ERR_NON_ERROR_THROWN', `${what} a non-Error value: ${describeThrown(value)}`, { cause: value });
}

/** Whether `value` could be a thenable: only objects and functions can. Reading `then` is left to settle(). */
export function mayBeThenable(value: unknown): boolean {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

/**
 * A promise that settles as `value` would, created without throwing: `new Promise` catches a `then`
 * getter that throws (Promise.resolve() would throw it at the caller), so nothing escapes.
 */
export function settle<T>(value: T | PromiseLike<T>): Promise<T> {
  return new Promise<T>((resolve) => resolve(value));
}

/**
 * The handler for a promise whose failures are handled already, or do not matter (a logger's): it
 * keeps the promise from counting as unhandled.
 */
export function ignore(): void {}
