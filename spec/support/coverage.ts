// Mocha's parallel mode runs spec files in worker processes and ends them with a signal when the run
// is over, before V8 writes their coverage at exit: c8 then saw only part of the suite. Each worker
// writes what it has covered after every spec file instead (v8.takeCoverage() adds a file to
// NODE_V8_COVERAGE's folder; c8 merges them all).
import { takeCoverage } from 'node:v8';

export const mochaHooks = {
  afterAll(): void {
    if (process.env['NODE_V8_COVERAGE'] !== undefined) takeCoverage();
  },
};
