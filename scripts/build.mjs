// Builds dist/: the CommonJS package with tsc, the validators precompiled from schema/, then a thin ES
// module wrapper around it all. One copy of the code serves both `require` and `import` (Node's
// "ES module wrapper" approach), so there is no dual-package hazard of two module instances.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { precompile } from './precompile.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

rmSync(dist, { recursive: true, force: true });
// Resolved, not joined to ./node_modules: Stryker builds in a sandbox before it links node_modules there.
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});

// The dashboard's page, script and style are served as files: tsc does not copy them.
cpSync(join(root, 'lib', 'dashboard', 'assets'), join(dist, 'dashboard', 'assets'), { recursive: true });

const requireDist = createRequire(import.meta.url);
writeFileSync(join(dist, 'core', 'precompiled-validators.js'), precompile(requireDist(join(dist, 'core', 'schemas.js')).schemas));

// Each entry point gets an ES module wrapper re-exporting the CommonJS module's names.
for (const entry of ['index', 'redis', 'prometheus', 'sqlite', 'postgres', 'platform', 'emulator', 'reconcile', 'rollout', 'iotda']) {
  const names = Object.keys(requireDist(join(dist, `${entry}.js`))).filter((name) => name !== '__esModule');
  writeFileSync(join(dist, `${entry}.mjs`), `import cjs from './${entry}.js';\n\nexport const { ${names.join(', ')} } = cjs;\n`);
  writeFileSync(join(dist, `${entry}.d.mts`), `export * from './${entry}.js';\n`);
  console.log(`built dist/${entry} (exports: ${names.join(', ')})`);
}
