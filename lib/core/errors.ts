// Every error the package throws or emits carries a stable `code` (listed in docs/errors.md): code
// that handles one tests the code, never the message, which may be reworded.

/** An error the package made; `code` is one of docs/errors.md. */
export interface CodedError extends Error {
  code: string;
}

type ErrorKind = typeof Error | typeof TypeError | typeof RangeError;

/** An Error (or TypeError, RangeError) with a stable `code`. */
export function codedError(code: string, message: string, options: { cause?: unknown; kind?: ErrorKind } = {}): CodedError {
  const Kind = options.kind ?? Error;
  const error = (options.cause === undefined ? new Kind(message) : new Kind(message, { cause: options.cause })) as CodedError;
  error.code = code;
  return error;
}
