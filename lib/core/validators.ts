import { Ajv, type ValidateFunction } from 'ajv';
// import-require, not a default import: tsc then emits no interop helper for this CommonJS module.
import ajvFormats = require('ajv-formats');
import { notificationTable, type NotifyType } from '../notification-types';
import { schemas } from '../schemas';

export type Validators = { readonly [T in NotifyType]: ValidateFunction };

let cached: Validators | undefined;

/**
 * Compiled once per process and shared by every router: compiling is the slow part of start-up.
 * Options chosen for untrusted input (see README, "Security"): stop at the first error (all-errors mode
 * costs orders of magnitude more on a hostile body), no $data, and `required` counts own properties only.
 */
export function getValidators(): Validators {
  if (cached) return cached;
  const ajv = new Ajv({ allErrors: false, ownProperties: true, allowUnionTypes: true, strict: true });
  ajvFormats.default(ajv);
  const compiled: Partial<Record<NotifyType, ValidateFunction>> = {};
  for (const type of Object.keys(notificationTable) as NotifyType[]) compiled[type] = ajv.compile(schemas[type]);
  cached = compiled as Validators;
  return cached;
}
