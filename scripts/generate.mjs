// Generates lib/generated/ from the JSON Schemas in schema/, so nothing derived from a schema can
// drift from what the validator enforces: the TypeScript types of the notifications, and the function
// that builds each type's duplicate key. spec/schema.spec.ts regenerates in memory and fails when a
// committed file differs: run `npm run generate` after editing a schema.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const schemaDir = join(root, 'schema');
export const outputDir = join(root, 'lib', 'generated');

const header = `// Generated from schema/*.schema.json by scripts/generate.mjs (npm run generate). Do not edit by hand.\n`;

function loadSchemas() {
  return readdirSync(schemaDir)
    .filter((name) => name.endsWith('.schema.json'))
    .sort()
    .map((file) => JSON.parse(readFileSync(join(schemaDir, file), 'utf8')));
}

/**
 * What tells a schema's pushes apart: the legacy pushes' notifyType constant, or IoTDA's resource
 * constant (`batchtask`, `batchtask.status`), whose envelope has no notifyType.
 */
export function typeKeyOf(schema) {
  const key = schema.properties.notifyType?.const ?? schema.properties.resource?.const;
  if (typeof key !== 'string') throw new Error(`${schema.title}: neither notifyType nor resource is a constant`);
  return key;
}

const member = (key) => (/^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key));
const read = (path) => path.map((field) => (/^[A-Za-z_$][\w$]*$/.test(field) ? `.${field}` : `[${JSON.stringify(field)}]`)).join('');

/** The documented required leaf fields, in schema order, each as its path (into nested objects). */
export function leafFields(schema, path = []) {
  return Object.entries(schema.properties)
    .filter(([field]) => schema.required.includes(field))
    .flatMap(([field, property]) => (property.properties === undefined ? [{ path: [...path, field], property }] : leafFields(property, [...path, field])));
}

async function notificationTypes(schemas) {
  const parts = [];
  for (const schema of schemas) {
    // additionalProperties: false here only shapes the type (no index signature); validation keeps
    // the schema's own default, which lets unknown fields through.
    parts.push(await compile(schema, schema.title, { additionalProperties: false, bannerComment: '', format: true }));
  }
  const map = schemas.map((schema) => `  ${member(typeKeyOf(schema))}: ${schema.title};`);
  return (
    `${header}// Extra fields are allowed at run time (the schemas do not forbid them) but left out of the types,\n` +
    `// so that a misspelt field name is a compile error.\n\n${parts.join('\n')}\n` +
    `/** Each type key (a notifyType, or an IoTDA resource), from its schema's constant, to the type generated from that schema. */\n` +
    `export interface GeneratedNotificationTypes {\n${map.join('\n')}\n}\n`
  );
}

// One function per type reading each documented field by name: V8 keeps these property reads
// monomorphic, which makes the key about twice as fast to build as a loop over field names.
// Each value is written as its length, a colon and its text: a value cannot run into the next one
// whatever characters it holds (a NUL separator could appear inside a value, and two different
// notifications then shared a key), and 93 and "93" still give the same key.
function dedupeKeys(schemas) {
  const entries = schemas.map((schema) => {
    const fields = leafFields(schema).map(({ path }) => `field(n${read(path)})`);
    return `  ${member(typeKeyOf(schema))}: (n: ${schema.title}): string =>\n    ${fields.join(' +\n    ')},`;
  });
  // The same fields fed to the in-memory store's keyed digest (lib/core/digest.ts), without building a string.
  // notifyType is left out: validation has fixed it to the type's constant, which seeds the digest instead.
  const digests = schemas.map((schema, index) => {
    const feeds = leafFields(schema)
      .filter(({ property }) => property.const === undefined)
      .map(({ path, property }) => (property.type === 'string' ? `.text(n${read(path)})` : `.value(n${read(path)})`));
    return `  ${member(typeKeyOf(schema))}: (d: KeyedDigest, n: ${schema.title}): KeyedDigest =>\n    d\n      .start(${index})\n      ${feeds.join('\n      ')},`;
  });
  const types = schemas.map((schema) => schema.title).join(', ');
  return (
    `${header}// The values of every documented field, in schema order, each as <length>:<text>: what identifies a re-send.\n` +
    `import type { KeyedDigest } from '../core/digest';\n` +
    `import type { ${types} } from './notifications';\n\n` +
    `const field = (value: string | number): string => {\n  const text = \`\${value}\`;\n  return \`\${text.length}:\${text}\`;\n};\n\n` +
    `export const dedupeKeys = {\n${entries.join('\n')}\n};\n\n` +
    `export const dedupeDigests = {\n${digests.join('\n')}\n};\n`
  );
}

/** Every generated file, by path, with the text it must have. */
export async function generate() {
  const schemas = loadSchemas();
  return {
    [join(outputDir, 'notifications.ts')]: await notificationTypes(schemas),
    [join(outputDir, 'dedupe-keys.ts')]: dedupeKeys(schemas),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [file, text] of Object.entries(await generate())) {
    writeFileSync(file, text);
    console.log(`wrote ${file}`);
  }
}
