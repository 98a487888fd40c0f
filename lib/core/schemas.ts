import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SchemaObject } from 'ajv';
import { notificationTable, type NotifyType } from './notification-types';

// lib/core/ (run from source) and dist/core/ (built) both sit two levels below the package root, beside schema/,
// so the JSON files stay the single source of truth at run time too.
const schemaDir = join(__dirname, '..', '..', 'schema');

function loadSchema(file: string): SchemaObject {
  return JSON.parse(readFileSync(join(schemaDir, file), 'utf8')) as SchemaObject;
}

/** The JSON Schema of each notification type, as shipped in the package's schema/ folder. */
export const schemas: { readonly [T in NotifyType]: SchemaObject } = Object.fromEntries(
  Object.entries(notificationTable).map(([type, entry]) => [type, loadSchema(entry.schemaFile)]),
) as { [T in NotifyType]: SchemaObject };
