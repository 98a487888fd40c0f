// npm run mutate: StrykerJS over lib/transport and lib/core (stryker.config.mjs). Not part of npm test:
// it takes tens of minutes. Stryker 10 needs Node 22, so it runs on an official Node 22 binary from
// the registry when this machine's Node is older. The property-based suites run fewer cases per
// mutant (HOSTILE_RUNS) than in npm test: a mutant is killed by the first failing case.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeBinary } from './node-binary.mjs';

const stryker = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', '@stryker-mutator', 'core', 'bin', 'stryker.js');
const node = nodeBinary(22);
const { status } = spawnSync(node, [stryker, 'run', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, HOSTILE_RUNS: process.env.HOSTILE_RUNS ?? '40', PATH: `${node.replace(/\/node$/, '')}:${process.env.PATH}` },
});
process.exit(status ?? 1);
