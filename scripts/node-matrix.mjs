// `node scripts/node-matrix.mjs 22 24 [spec files]`: runs the specs (no coverage) on each given Node
// major, with the official build from the npm registry (scripts/node-binary.mjs) first on the PATH, so
// that the processes the specs start (the bin, npm, forked receivers) run on it too. The newest major
// given runs every file, in both Express passes; an older one (between this machine's Node, which
// `npm test` covers whole, and the newest) runs the files tagged `// @runtime-seam: why`, the ones
// that meet Node itself (its HTTP parser and streams, fetch and TLS, module loading, the native addon)
// against Express 5: the rest is the package's own logic, which a Node line between two that pass
// does not change, and running it three times cost CI a third of its time. Files named on the
// command line run on every line. The lines run side by side, each with its spec files in parallel,
// sharing the machine's jobs. Prints one line per version with its pass count; exits non-zero if any
// version fails.
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withModernNativePeer } from './native-peer.mjs';
import { cacheFolder, nodeBinary } from './node-binary.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const majors = process.argv.slice(2).filter((arg) => /^\d+$/.test(arg));
const files = process.argv.slice(2).filter((arg) => !/^\d+$/.test(arg));
const nodes = majors.map((major) => ({ major, node: nodeBinary(major) }));
const newest = String(Math.max(...majors.map(Number)));
const runtimeSeams = readdirSync(join(root, 'spec'))
  .filter((file) => file.endsWith('.spec.ts') && /^\/\/ @runtime-seam\b/m.test(readFileSync(join(root, 'spec', file), 'utf8')))
  .map((file) => `spec/${file}`);
// Three jobs a core in all, shared by file count: a line of a dozen files needs fewer than the whole suite.
const jobsOf = (whole) => process.env.SPEC_JOBS ?? String(Math.max(2, Math.round((availableParallelism() * 3 * (whole ? 2 : 1)) / (nodes.length + 1))));

function runLine({ major, node }) {
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  return new Promise((resolve) => {
    const whole = major === newest || files.length > 0;
    const child = spawn(node, [join(root, 'scripts', 'spec.mjs'), ...(whole ? files : runtimeSeams)], {
      cwd: root,
      env: { ...process.env, PATH: `${dirname(node)}:${process.env.PATH}`, SPEC_JOBS: jobsOf(whole), ...(whole ? {} : { SPEC_EXPRESS: '5' }) },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data) => (stdout += data));
    child.stderr.on('data', (data) => (stderr += data));
    child.on('close', (status) => resolve({ version, status, stdout, stderr }));
  });
}

const runs = await withModernNativePeer(majors, cacheFolder(), () => Promise.all(nodes.map(runLine)));
const results = [];
for (const { version, status, stdout, stderr } of runs) {
  console.log(`\n##### specs on Node ${version}`);
  process.stdout.write(stdout.split('\n').filter((line) => /passing|failing|pending|^\s+\d+\) |===/.test(line)).join('\n') + '\n');
  // On failure, mocha's "N failing" sections (the spec's title, assertion and stack) are what a
  // CI log must show; the tail of the whole run would hide them behind the next run's output.
  if (status !== 0) process.stdout.write(failureSections(stdout) + stderr.slice(-5_000));
  const passing = [...stdout.matchAll(/(\d+) passing/g)].reduce((sum, match) => sum + Number(match[1]), 0);
  const failing = [...stdout.matchAll(/(\d+) failing/g)].reduce((sum, match) => sum + Number(match[1]), 0);
  results.push({ version, passing, failing, ok: status === 0 });
}
console.log('\nNode matrix:');
for (const { version, passing, failing, ok } of results) console.log(`  Node ${version}: ${passing} passed, ${failing} failed${ok ? '' : ' (exit non-zero)'}`);
process.exit(results.every((result) => result.ok) ? 0 : 1);

function failureSections(stdout) {
  const sections = [...stdout.matchAll(/^ {2}\d+ failing$[\s\S]*?(?=^=== |(?![\s\S]))/gm)].map((match) => match[0].slice(0, 8_000));
  return sections.length > 0 ? sections.join('\n') : stdout.slice(-20_000);
}
