// Generates lib/generated/notifications.ts from the JSON Schemas in schema/, so the TypeScript types
// cannot drift from what the validator enforces. spec/schema-types.spec.ts regenerates in memory and
// fails when the committed file differs: run `npm run generate:types` after editing a schema.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const schemaDir = join(root, 'schema');
export const outputFile = join(root, 'lib', 'generated', 'notifications.ts');

const banner = `// Generated from schema/*.schema.json by scripts/generate-types.mjs. Do not edit by hand.
// Extra fields are allowed at run time (the schemas do not forbid them) but left out of the types,
// so that a misspelt field name is a compile error.
`;

export async function generateTypes() {
  const files = readdirSync(schemaDir).filter((name) => name.endsWith('.schema.json')).sort();
  const parts = [];
  const map = [];
  for (const file of files) {
    const schema = JSON.parse(readFileSync(join(schemaDir, file), 'utf8'));
    // additionalProperties: false here only shapes the type (no index signature); validation keeps
    // the schema's own default, which lets unknown fields through.
    parts.push(await compile(schema, schema.title, { additionalProperties: false, bannerComment: '', format: true }));
    map.push(`  ${schema.properties.notifyType.const}: ${schema.title};`);
  }
  const mapType = `\n/** Each notifyType, from its schema's notifyType constant, to the type generated from that schema. */\nexport interface GeneratedNotificationTypes {\n${map.join('\n')}\n}\n`;
  return banner + '\n' + parts.join('\n') + mapType;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(outputFile, await generateTypes());
  console.log(`wrote ${outputFile}`);
}
