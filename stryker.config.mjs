// StrykerJS: `npm run mutate` (scripts/mutate.mjs). Mutates the transport and the core, builds the
// package from the mutated source, and runs the in-process specs with per-test coverage. Specs that
// exercise the package only from other processes (the packed tarball, the CLI, Redis, the blocking
// listener) cannot see a mutant and are left out, and so is the generated-files check (Stryker marks
// every file it copies).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'mocha',
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate: ['lib/transport/**/*.ts', 'lib/core/**/*.ts', '!lib/core/**/*.d.ts'],
  buildCommand: 'node scripts/build.mjs',
  mochaOptions: {
    config: '.mocharc.json',
    spec: ['access', 'accounting', 'body', 'dedupe', 'fail-safe', 'family', 'host-parsers', 'hostile', 'listeners', 'loggers', 'node-http', 'options', 'prometheus', 'prototype-keys', 'router', 'stream-destruction', 'thrown-values'].map(
      (name) => `spec/${name}.spec.ts`,
    ),
    extension: ['ts'],
    require: ['tsx/cjs'],
  },
  coverageAnalysis: 'perTest',
  ignoreStatic: true,
  concurrency: 2,
  timeoutMS: 10000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
