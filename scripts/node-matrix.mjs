// `node scripts/node-matrix.mjs 22 24`: runs the specs (both Express majors on 24, Express 5 on 22; no coverage) on each
// given Node major, with the official build from the npm registry (scripts/node-binary.mjs) first on
// the PATH, so that the processes the specs start (the bin, npm, forked receivers) run on it too.
// Prints one line per version with its pass count; exits non-zero if any version fails.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withNativePeerFor } from './native-peer.mjs';
import { nodeBinary } from './node-binary.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const results = [];
for (const major of process.argv.slice(2)) {
  const node = nodeBinary(major);
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  console.log(`\n##### specs on Node ${version}`);
  const run = withNativePeerFor(node, () =>
    spawnSync(node, [join(root, 'scripts', 'spec.mjs')], {
      cwd: root,
      encoding: 'utf8',
      // Node 22, between the oldest and the newest line, runs the Express 5 pass only.
      env: { ...process.env, PATH: `${dirname(node)}:${process.env.PATH}`, ...(major === '22' ? { SPEC_EXPRESS: '5' } : {}) },
      maxBuffer: 256 * 1024 * 1024,
    }),
  );
  process.stdout.write(run.stdout.split('\n').filter((line) => /passing|failing|pending|^\s+\d+\) |===/.test(line)).join('\n') + '\n');
  // On failure, mocha's "N failing" sections (the spec's title, assertion and stack) are what a
  // CI log must show; the tail of the whole run used to hide them behind the next run's output.
  if (run.status !== 0) process.stdout.write(failureSections(run.stdout) + run.stderr.slice(-5_000));
  const passing = [...run.stdout.matchAll(/(\d+) passing/g)].reduce((sum, match) => sum + Number(match[1]), 0);
  const failing = [...run.stdout.matchAll(/(\d+) failing/g)].reduce((sum, match) => sum + Number(match[1]), 0);
  results.push({ version, passing, failing, ok: run.status === 0 });
}
console.log('\nNode matrix:');
for (const { version, passing, failing, ok } of results) console.log(`  Node ${version}: ${passing} passed, ${failing} failed${ok ? '' : ' (exit non-zero)'}`);
process.exit(results.every((result) => result.ok) ? 0 : 1);

function failureSections(stdout) {
  const sections = [...stdout.matchAll(/^ {2}\d+ failing$[\s\S]*?(?=^=== |(?![\s\S]))/gm)].map((match) => match[0].slice(0, 8_000));
  return sections.length > 0 ? sections.join('\n') : stdout.slice(-20_000);
}
