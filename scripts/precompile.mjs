// Compiles each notification type's JSON Schema to validation code (Ajv standalone), at build time:
// loading Ajv and compiling at start-up took about 100 ms of the router's start-up, the precompiled
// module a few. The schemas in schema/ stay the source; the output goes to dist/ only.
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import ajvFormats from 'ajv-formats';

/**
 * Options chosen for untrusted input (README, "Security"): stop at the first error (all-errors mode
 * costs orders of magnitude more on a hostile body), no $data, and `required` counts own properties
 * only (an inherited property does not satisfy it).
 */
export const ajvOptions = { allErrors: false, ownProperties: true, allowUnionTypes: true, strict: true };

/** CommonJS source exporting one validate function per notifyType. */
export function precompile(schemasByType) {
  const ajv = new Ajv({ ...ajvOptions, code: { source: true } });
  (ajvFormats.default ?? ajvFormats)(ajv);
  const refs = {};
  for (const [type, schema] of Object.entries(schemasByType)) {
    ajv.addSchema(schema);
    refs[type] = schema.$id;
  }
  return `// Generated from schema/ by scripts/precompile.mjs at build time. Do not edit.\n${(standaloneCode.default ?? standaloneCode)(ajv, refs)}`;
}
