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
export const ajvOptions = { allErrors: false, ownProperties: true, allowUnionTypes: true, strict: true, unicode: false };

// `unicode: false` makes minLength read `.length` instead of counting code points in a loop over
// every character (a third of the validation time of a push). The two agree for the only
// length the schemas use, minLength 1; any other would count UTF-16 units, so it is refused here.
function checkLengths(schema, title = schema.title) {
  for (const [field, property] of Object.entries(schema.properties)) {
    if (property.maxLength !== undefined || (property.minLength !== undefined && property.minLength !== 1)) {
      throw new Error(`${title}.${field}: only minLength 1 is supported (ajv runs with unicode: false); count code points before adding another length`);
    }
    if (property.properties !== undefined) checkLengths(property, `${title}.${field}`);
  }
}

/** CommonJS source exporting one validate function per notifyType. */
export function precompile(schemasByType) {
  const ajv = new Ajv({ ...ajvOptions, code: { source: true } });
  (ajvFormats.default ?? ajvFormats)(ajv);
  const refs = {};
  for (const [type, schema] of Object.entries(schemasByType)) {
    checkLengths(schema);
    ajv.addSchema(schema);
    refs[type] = schema.$id;
  }
  return `// Generated from schema/ by scripts/precompile.mjs at build time. Do not edit.\n${(standaloneCode.default ?? standaloneCode)(ajv, refs)}`;
}
