// Every failure of a platform call is one type: the HTTP status, the platform's code and its text,
// read from either error envelope the platform is seen to use.

/** A call the platform refused, or one that got no answer (`status` 0). */
export class PlatformError extends Error {
  override readonly name = 'PlatformError';
  constructor(
    /** The HTTP status; 0 when no answer came (refused connection, TLS failure, timeout). */
    readonly status: number,
    /** The platform's code (`error_code` or `resultcode`), e.g. `1010005`; undefined when the body has none. */
    readonly code: string | undefined,
    /** The platform's text (`error_desc` or `resultmsg`), or what went wrong on the way. */
    readonly description: string,
    /** `POST /iodm/northbound/v1.5.0/operations/softwareUpgrade`: which call failed. */
    readonly call: string,
    options?: { cause?: unknown },
  ) {
    super(`${call}: ${status === 0 ? 'no answer' : `HTTP ${status}`}${code === undefined ? '' : ` ${code}`} ${description}`, options);
  }
}

/**
 * The code and text of an error body. The reference documents `{error_code, error_desc}`; the expired
 * token error is seen as `{resultcode, resultmsg}` (northbound.md §1.4): both are read.
 */
export function errorEnvelope(body: unknown): { code: string | undefined; description: string | undefined } {
  if (typeof body !== 'object' || body === null) return { code: undefined, description: undefined };
  const fields = body as Record<string, unknown>;
  const text = (value: unknown): string | undefined => (typeof value === 'string' || typeof value === 'number' ? String(value) : undefined);
  // IoTDA (API v5) and its gateway say error_msg.
  return { code: text(fields['error_code']) ?? text(fields['resultcode']), description: text(fields['error_desc']) ?? text(fields['resultmsg']) ?? text(fields['error_msg']) };
}
