// `npm test` after the build: the specs (under c8, their output live) and, beside them, the checks
// that do not need them (types, lint, the import graph, the package, the type tests), whose output is printed when each
// ends. The specs mostly wait on the processes they start; the checks fill the idle CPU. Exits
// non-zero if anything failed.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(script, live) {
  return new Promise((resolve) => {
    const child = spawn(npm, ['run', '--silent', script], { cwd: root, stdio: live ? 'inherit' : ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (data) => (output += data));
    child.stderr?.on('data', (data) => (output += data));
    child.on('close', (code) => {
      if (!live) process.stdout.write(`\n--- npm run ${script}: ${code === 0 ? 'ok' : `failed (exit ${code})`}\n${output}`);
      resolve({ script, code });
    });
  });
}

// The checks one after the other (together they would only compete with the specs for the CPU).
const checks = (async () => {
  const results = [];
  for (const script of ['typecheck', 'lint', 'check:imports', 'check:package', 'test:types']) results.push(await run(script, false));
  return results;
})();
const results = [await run('spec', true), ...(await checks)];
const failed = results.filter((result) => result.code !== 0);
console.log(`\n${failed.length === 0 ? 'all passed' : `failed: ${failed.map((result) => result.script).join(', ')}`}: ${results.map((result) => result.script).join(', ')}`);
process.exit(failed.length === 0 ? 0 : 1);
