// Runs the spec files in parallel (mocha --parallel): once against Express 5, then the files tagged
// `@express-seam` (those about how the router meets its host) against Express 4, the `express4` alias.
// One process tree, so that c8 merges the coverage of both passes.
//
//   node scripts/spec.mjs                     both passes
//   node scripts/spec.mjs spec/router.spec.ts  only the files named (each pass keeps its own filter)
//   SPEC_EXPRESS=4 node scripts/spec.mjs      one pass only
//   SPEC_JOBS=1 node scripts/spec.mjs         one file at a time
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const mocha = require.resolve('mocha/bin/mocha.js');

// The specs mostly wait on processes they started (receivers, postgres, redis, chromium): three jobs a
// core keep both cores busy (two left them a third idle) without making any one spec wait for CPU long.
const jobs = process.env.SPEC_JOBS ?? String(Math.max(2, availableParallelism() * 3));
const named = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
const flags = process.argv.slice(2).filter((arg) => arg.startsWith('-'));
// The longest files first (seconds alone, measured on a 2-core machine): started last, one of them
// would run on alone at the end while the other workers sit idle.
const LONGEST = ['journal-edges', 'journal-crash', 'iotda-kill', 'rollout-kill', 'journal-postgres', 'package', 'iotda-amqp', 'rollout', 'spill-shared-folder', 'cli', 'dashboard-fleet', 'docs', 'rollout-example', 'rollout-gates', 'reconcile', 'journal', 'cli-platform', 'dashboard-browser', 'emulator-campaign', 'cli-reconcile', 'dashboard', 'reconcile-forged', 'redis', 'hostile'];
const rank = (file) => {
  const at = LONGEST.indexOf(file.replace(/^spec\//, '').replace(/\.spec\.ts$/, ''));
  return at === -1 ? LONGEST.length : at;
};
const all = (named.length > 0 ? named : readdirSync(join(root, 'spec')).filter((file) => file.endsWith('.spec.ts')).map((file) => `spec/${file}`)).sort(
  (a, b) => rank(a) - rank(b) || a.localeCompare(b),
);
/** A file is tagged by a line `// @express-seam: why` in its header. */
const seam = (file) => /^\/\/ @express-seam\b/m.test(readFileSync(join(root, file), 'utf8'));

const runs = [
  { major: '5', version: require('express/package.json').version, files: all },
  { major: '4', version: require('express4/package.json').version, files: all.filter(seam) },
];

const only = process.env.SPEC_EXPRESS;
let failed = false;
for (const { major, version, files } of runs.filter((run) => only === undefined || run.major === only)) {
  if (files.length === 0) continue;
  console.log(`\n=== specs against express@${version} (${files.length} files, ${jobs} at a time) ===`);
  const parallel = files.length > 1 && jobs !== '1' ? ['--parallel', '--jobs', jobs] : [];
  const { status } = spawnSync(process.execPath, [mocha, ...parallel, ...flags, ...files.map((file) => relative(root, join(root, file)))], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, EXPRESS_MAJOR: major },
  });
  if (status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
