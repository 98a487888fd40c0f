// Runs the spec suite once against Express 5 and once against Express 4 (the `express4` alias), in
// one process tree so that c8 merges the coverage of both runs.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const mocha = require.resolve('mocha/bin/mocha.js');
const runs = [
  { major: '5', version: require('express/package.json').version, args: [] },
  // The packed-package spec installs both majors itself, and the journal's crash, disk and Postgres
  // specs run receivers on node:http in processes of their own: running them twice would only repeat them.
  {
    major: '4',
    version: require('express4/package.json').version,
    // The platform client and the emulator do not touch Express; their campaign needs it only as a host.
    args: [
      'spec/package.spec.ts',
      'spec/journal-crash.spec.ts',
      'spec/journal-failure.spec.ts',
      'spec/journal-postgres.spec.ts',
      'spec/platform-client.spec.ts',
      'spec/emulator-campaign.spec.ts',
      'spec/cli-platform.spec.ts',
      'spec/reconcile.spec.ts',
      'spec/reconcile-kill.spec.ts',
      'spec/cli-reconcile.spec.ts',
      // The dashboard's fleet-scale specs are about the fold, its queries and its HTTP answers, not the
      // host: how it mounts in Express 4 is in spec/dashboard.spec.ts and spec/dashboard-browser.spec.ts.
      'spec/dashboard-fleet.spec.ts',
      // The docs' examples run against the package in processes of their own.
      'spec/docs.spec.ts',
    ].flatMap((spec) => ['--exclude', spec]),
  },
];

// SPEC_EXPRESS=5 runs the Express 5 pass only (the Node matrix's middle line: Express 4 runs on the
// oldest and the newest Node line, which keeps CI near 20 minutes).
const only = process.env.SPEC_EXPRESS;
let failed = false;
for (const { major, version, args } of runs.filter((run) => only === undefined || run.major === only)) {
  console.log(`\n=== specs against express@${version} ===`);
  const { status } = spawnSync(process.execPath, [mocha, ...args, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, EXPRESS_MAJOR: major },
  });
  if (status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
