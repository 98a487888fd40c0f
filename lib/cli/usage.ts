/** A mistake in the command line: reported in one line, with a pointer to --help, and exit code 2. */
export class UsageError extends Error {}

/** A whole-number flag of at least `min`; undefined when not given. */
export function wholeArg(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${name} must be a whole number of at least ${min}`);
  return n;
}

/** The exit codes of every command: 1 is each command's own "not all is well" (see its --help). */
export const EXIT = { ok: 0, notWell: 1, usage: 2, unreachable: 3 } as const;

// Errors of the network and of Postgres's connection: the other side was not there.
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', '57P01', '57P03', '08001', '08006']);

/**
 * Whether `error` says the platform or the journal could not be reached (exit 3): no answer from the
 * platform, a refused or lost connection, a journal that cannot be opened. Anything else that stops a
 * command is a usage error (exit 2).
 */
export function unreachable(error: unknown): boolean {
  for (let cause: unknown = error, depth = 0; cause !== undefined && cause !== null && depth < 5; cause = (cause as { cause?: unknown }).cause, depth += 1) {
    const { name, status, code } = cause as { name?: unknown; status?: unknown; code?: unknown };
    if (name === 'PlatformError' && status === 0) return true;
    // A journal a newer release migrated cannot be used either: the operator's fix is the same kind.
    if (typeof code === 'string' && (NETWORK.has(code) || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_BUSY' || code === 'ERR_JOURNAL_SCHEMA_NEWER')) return true;
  }
  return false;
}
