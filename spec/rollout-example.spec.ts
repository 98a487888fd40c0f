// examples/rollout.mjs runs as the guide says: a good firmware completes with each device sent once
// and one result each; a bad one halts after the canary, nobody else sent it.
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
    const { code, stdout, stderr } = await run({ DEVICES: '300', WAVES: '10%,100%', SOAK_MINUTES: '1' });
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^status: completed$/m);
    assert.match(stdout, /^devices targeted: 300 of 300, each once: true; tasks: 3, the largest 256 devices$/m);
    assert.match(stdout, /results at the listener: 300 \(.*\), one each: true$/m);
  });

  it('a bad firmware: halted after the canary, the top reason named, nobody else sent it', async () => {
    const { code, stdout, stderr } = await run({ DEVICES: '300', WAVES: '60,100%', SOAK_MINUTES: '1', FAILURE_RATIO: '0.4' });
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^status: halted \(.* failed or timed out: at most 5 % may; top reason: .+\)$/m);
    assert.match(stdout, /^devices targeted: 60 of 300, each once: true; tasks: 1/m);
  });
});
