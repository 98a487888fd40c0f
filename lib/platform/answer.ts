// What a call's answer comes to, the same for the legacy client and IoTDA's: the body as JSON (or
// its text), a 2xx as the value, anything else as a PlatformError with the platform's code and text;
// and no answer at all as a PlatformError of status 0 saying why.
import { PlatformError, errorEnvelope } from './errors';

export type CallOutcome = { ok: true; body: unknown } | { ok: false; error: PlatformError };

/** The outcome of an answer of `status` with body `text`, for the call named `call`. */
export function outcomeOf(status: number, text: string, call: string): CallOutcome {
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = text;
  }
  if (status >= 200 && status < 300) return { ok: true, body: parsed };
  const { code, description } = errorEnvelope(parsed);
  return { ok: false, error: new PlatformError(status, code, description ?? (typeof parsed === 'string' ? parsed.slice(0, 200) : ''), call) };
}

/** A call that got no whole answer: refused, reset, a TLS failure, or past `timeoutMs`. */
export function noAnswer(cause: unknown, timeoutMs: number, call: string): PlatformError {
  const code = (cause as { code?: string }).code;
  const reason =
    cause instanceof Error && cause.name === 'TimeoutError'
      ? `no whole answer within timeoutMs (${timeoutMs} ms)`
      : code === 'ERR_ANSWER_TOO_LARGE' && cause instanceof Error
        ? cause.message
        : (code ?? (cause instanceof Error ? cause.message : String(cause)));
  return new PlatformError(0, undefined, reason, call, { cause });
}
