// examples/rollout.mjs runs as the guide says: a firmware completes with each device sent once and
// one result each. (A bad firmware's halt is spec/rollout.spec.ts's; the 10 000-device figures are in
// docs/rollout.md.)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const example = join(__dirname, '..', 'examples', 'rollout.mjs');

function run(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [example], { env: { ...process.env, ...env }, timeout: 90_000 }, (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }));
  });
}

describe('examples/rollout.mjs', function () {
  this.timeout(120_000);

  it('a good firmware: completed, every device sent once, one result each', async () => {
    const { code, stdout, stderr } = await run({ DEVICES: '150', WAVES: '20,100%', SOAK_MINUTES: '1' });
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^status: completed$/m);
    assert.match(stdout, /^devices targeted: 150 of 150, each once: true; tasks: 2, the largest 130 devices$/m);
    assert.match(stdout, /results at the listener: 150 \(.*\), one each: true$/m);
  });
});
