import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createUpgradeRouter, type UpgradeRouter } from 'huawei-iot-upgrade-router';
import { CALLBACK_PATH, recordEvents } from './helpers';

const bin = join(__dirname, '..', 'dist', 'cli', 'index.js');

/** Runs the built bin as a user would and resolves with its exit code and output. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

describe('the bin: huawei-iot-upgrade-router simulate', function () {
  this.timeout(30_000);
  let server: Server;
  let upgrades: UpgradeRouter;
  let seen: ReturnType<typeof recordEvents>;
  let url = '';

  beforeEach(async () => {
    upgrades = createUpgradeRouter();
    seen = recordEvents(upgrades);
    server = createServer(upgrades).listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${CALLBACK_PATH}`;
  });
  afterEach(() => server.close());

  const events = (): string[] => seen.map((e) => e.event);

  it('sends one swUpgradeResultNotify SUCCESS by default and prints the status and time', async () => {
    const { code, stdout } = await cli(['simulate', '--url', url]);
    assert.equal(code, 0);
    assert.match(stdout, /^swUpgradeResultNotify SUCCESS: 200 in [\d.]+ ms$/m);
    assert.deepEqual(events(), ['upgradeResult']);
    assert.equal((seen[0]?.args[0] as { swUpgradeResult: string }).swUpgradeResult, 'SUCCESS');
  });

  const byType = {
    swUpgradeResultNotify: 'upgradeResult',
    swUpgradeStateChangeNotify: 'upgradeState',
    fwUpgradeResultNotify: 'firmwareUpgradeResult',
    fwUpgradeStateChangeNotify: 'firmwareUpgradeState',
  };
  for (const [type, event] of Object.entries(byType)) {
    it(`--type ${type}: a valid notification of that type, fresh IDs each run`, async () => {
      assert.equal((await cli(['simulate', '--url', url, '--type', type])).code, 0);
      assert.equal((await cli(['simulate', '--url', url, '--type', type])).code, 0);
      assert.deepEqual(events(), [event, event]);
    });
  }

  it('--result FAIL for both result types', async () => {
    await cli(['simulate', '--url', url, '--result', 'FAIL']);
    await cli(['simulate', '--url', url, '--type', 'fwUpgradeResultNotify', '--result', 'fail']);
    assert.deepEqual(
      seen.map((e) => {
        const n = e.args[0] as { swUpgradeResult?: string; status?: string };
        return n.swUpgradeResult ?? n.status;
      }),
      ['FAIL', 'FAIL'],
    );
  });

  it('--repeat N sends the same body N times: one event, then duplicates', async () => {
    const { code, stdout } = await cli(['simulate', '--url', url, '--repeat', '3']);
    assert.equal(code, 0);
    assert.equal((stdout.match(/#\d: 200/g) ?? []).length, 3);
    assert.deepEqual(events(), ['upgradeResult', 'duplicate', 'duplicate']);
  });

  it('--reference sends the API reference example; --demo one of each type and a repeat', async () => {
    await cli(['simulate', '--url', url, '--reference']);
    assert.equal((seen[0]?.args[0] as { deviceId: string }).deviceId, '******');
    const { code } = await cli(['simulate', '--demo'], { RECEIVER_URL: url });
    assert.equal(code, 0);
    assert.deepEqual(events().slice(1), ['duplicate', 'upgradeResult', 'upgradeState', 'firmwareUpgradeResult', 'firmwareUpgradeState', 'duplicate']);
  });

  it('exits 1 when nothing answers, or the answer is not 200', async () => {
    server.close();
    const refused = await cli(['simulate', '--url', url]);
    assert.equal(refused.code, 1);
    assert.match(refused.stdout, /no answer from/);

    const failing = createServer((_req, res) => res.writeHead(503).end()).listen(0, '127.0.0.1');
    await once(failing, 'listening');
    try {
      const answered = await cli(['simulate', '--url', `http://127.0.0.1:${(failing.address() as AddressInfo).port}/`]);
      assert.equal(answered.code, 1);
      assert.match(answered.stdout, /: 503 in/);
    } finally {
      failing.close();
    }
  });

  it('--help prints the usage; bad usage exits 2 with the reason', async () => {
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: huawei-iot-upgrade-router simulate/);
    for (const [args, reason] of [
      [[], /the one command is `simulate`/],
      [['simulate', '--type', 'deviceAdded'], /--type must be one of/],
      [['simulate', '--result', 'MAYBE'], /--result must be SUCCESS or FAIL/],
      [['simulate', '--type', 'fwUpgradeStateChangeNotify', '--result', 'FAIL'], /--result does not apply/],
      [['simulate', '--repeat', '0'], /--repeat must be a whole number/],
      [['simulate', '--nope'], /Unknown option/],
    ] as Array<[string[], RegExp]>) {
      const { code, stderr } = await cli(args);
      assert.equal(code, 2, args.join(' '));
      assert.match(stderr, reason);
    }
    assert.deepEqual(events(), []);
  });
});
