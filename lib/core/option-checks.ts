import { isJsonObject } from './parse-json';
import { codedError } from './errors';

// Options are checked, not guessed: a typo, a wrong type or an unset environment variable
// in the options used to turn a feature off without a word and lose results. One table says what each
// option must be, with an example for the message; checkOptions() walks it and throws a TypeError that
// names the option, or, for a key nobody knows, the nearest known one.

/** What is wrong with `value` ("must be an array, got the string \"x\""), or undefined when it is fine. */
type Check = (value: unknown) => string | undefined;

interface OptionRule {
  check: Check;
  /** How the option is written correctly, shown in the message. */
  example: string;
  /** The keys inside an object value, checked in turn. */
  keys?: OptionTable;
  /**
   * Present means set: `undefined` is refused rather than taken as the default. For settings whose
   * absence turns a protection off (`token: process.env.CALLBACK_TOKEN` with the variable unset).
   */
  presentMeansSet?: boolean;
}

export type OptionTable = Readonly<Record<string, OptionRule>>;

export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value === 'object' ? 'an object' : typeof value === 'function' ? 'a function' : typeof value;
}

const got = (value: unknown): string => `got ${kindOf(value)}`;
const pem = (value: unknown): string | undefined => (typeof value === 'string' || Buffer.isBuffer(value) ? undefined : `must be PEM text or a Buffer, ${got(value)}`);


export const checks = {
  object: (value: unknown) => (isJsonObject(value) ? undefined : `must be an object, ${got(value)}`),
  oneOf:
    (...allowed: readonly unknown[]): Check =>
    (value) =>
      allowed.includes(value) ? undefined : `must be ${allowed.map((v) => JSON.stringify(v)).join(' or ')}, ${got(value)}`,
  wholeNumber: (value: unknown) =>
    typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? undefined : `must be a positive whole number, ${got(value)}`,
  nonEmptyString: (value: unknown) => (typeof value === 'string' && value !== '' ? undefined : `must be a non-empty string, ${got(value)}`),
  arrayOf:
    (item: Check, { nonEmpty = false } = {}): Check =>
    (value) => {
      if (!Array.isArray(value)) return `must be an array, ${got(value)}`;
      if (nonEmpty && value.length === 0) return 'must not be empty';
      for (const [i, entry] of (value as unknown[]).entries()) {
        const wrong = item(entry);
        if (wrong !== undefined) return `\u0000[${i}] ${wrong}`;
      }
      return undefined;
    },
  // A logger or a store is often a class instance (pino, winston, a Redis store): any object will do.
  withMethod:
    (method: string): Check =>
    (value) =>
      isJsonObject(value) && typeof value[method] === 'function'
        ? undefined
        : `must be an object with ${/^[aeiou]/.test(method) ? 'an' : 'a'} ${method}() method, ${got(value)}`,
  fn: (value: unknown) => (typeof value === 'function' ? undefined : `must be a function, ${got(value)}`),
  falseOrObject: (value: unknown) => (value === false || isJsonObject(value) ? undefined : `must be false or an object, ${got(value)}`),
  /** A certificate or key: PEM text or a Buffer. */
  pem,
  /** CAs to trust: one PEM, or a list of them. */
  pemOrList: (value: unknown) => (Array.isArray(value) ? checks.arrayOf(pem)(value) : pem(value)),
  countFrom:
    (least: number): Check =>
    (value) =>
      typeof value === 'number' && Number.isSafeInteger(value) && value >= least ? undefined : `must be a whole number of at least ${least}, ${got(value)}`,
} as const;


/** A required option that is missing: the same wording as the option checks. */
export function requireOption(value: unknown, name: string, example: string): void {
  if (value === undefined) fail(`${name} is required, got ${kindOf(value)}; for example ${example}`);
}

function fail(message: string): never {
  throw codedError('ERR_INVALID_OPTION', `huawei-iot-upgrade-router: ${message}`, { kind: TypeError });
}

/** Levenshtein distance, for "did you mean". Names are short, so the plain table is cheap enough. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** Every option's path ("allow.ips"), for suggestions across levels (`token` at the top means `allow.token`). */
function paths(table: OptionTable, prefix = ''): string[] {
  return Object.entries(table).flatMap(([key, rule]) => [`${prefix}${key}`, ...(rule.keys ? paths(rule.keys, `${prefix}${key}.`) : [])]);
}

function nearest(key: string, known: readonly string[]): string | undefined {
  let best: { path: string; score: number } | undefined;
  for (const path of known) {
    const leaf = path.slice(path.lastIndexOf('.') + 1);
    const score = Math.min(distance(key, leaf), distance(key, path));
    if (best === undefined || score < best.score) best = { path, score };
  }
  return best !== undefined && best.score <= Math.max(2, Math.floor(key.length / 3)) ? best.path : undefined;
}

function walk(value: Record<string, unknown>, table: OptionTable, prefix: string, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(table, key)) {
      const suggestion = nearest(key, known);
      fail(`unknown option ${prefix}${key}${suggestion === undefined ? `; known options: ${Object.keys(table).map((k) => `${prefix}${k}`).join(', ')}` : `: did you mean ${suggestion}?`}`);
    }
  }
  for (const [key, rule] of Object.entries(table)) {
    // A key that is present must hold a usable value: `undefined` there is an unset variable, not "default".
    if (!Object.hasOwn(value, key)) continue;
    const option = value[key];
    if (option === undefined && rule.presentMeansSet !== true) continue;
    const wrong = rule.check(option);
    // "\0[i]" marks a list item's message, written right after the name: allow.ips[0] must be ...
    if (wrong !== undefined) fail(`${prefix}${key}${wrong.startsWith('\u0000') ? wrong.slice(1) : ` ${wrong}`}; for example ${rule.example}`);
    if (rule.keys && isJsonObject(option)) walk(option, rule.keys, `${prefix}${key}.`, known);
  }
}

/** Throws a TypeError naming the first option that is unknown or of the wrong kind. */
export function checkOptions(options: unknown, table: OptionTable): void {
  if (options === undefined) return;
  if (!isJsonObject(options)) fail(`options must be an object, ${got(options)}`);
  walk(options, table, '', paths(table));
}
