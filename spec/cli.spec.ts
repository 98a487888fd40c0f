import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUpgradeRouter, type UpgradeRouter } from 'huawei-iot-upgrade-router';
import { CALLBACK_PATH, recordEvents } from './helpers';
import { runBin } from './support/journal';
import { REFUSING_PORT } from './support/free-port';

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

  it('exits 3 when the platform or the journal cannot be reached, 2 on a usage error', async () => {
    const closed = REFUSING_PORT;
    const platform = await runBin(['reconcile', '--task', 'op-1', '--url', `http://127.0.0.1:${closed}`, '--app-id', 'app', '--json'], { HUAWEI_IOT_SECRET: 's', DATABASE_URL: '' });
    assert.equal(platform.code, 3, platform.stderr);
    assert.match(platform.stderr, /ECONNREFUSED/);
    const postgres = await runBin(['journal', '--postgres', `postgres://postgres@127.0.0.1:${closed}/x`, 'stats']);
    assert.equal(postgres.code, 3, postgres.stderr);
    const sqlite = await runBin(['journal', '--db', join(tmpdir(), `missing-${closed}.db`), 'stats']);
    assert.equal(sqlite.code, 3, sqlite.stderr);
    const usage = await runBin(['reconcile', '--url', `http://127.0.0.1:${closed}`]);
    assert.equal(usage.code, 2, usage.stderr);
  });

  it('exits 1 when nothing answers, or the answer is not 200', async () => {
    const refused = await cli(['simulate', '--url', `http://127.0.0.1:${REFUSING_PORT}${CALLBACK_PATH}`]);
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
      [[], /a command is needed: simulate, journal, emulator/],
      [['deploy'], /unknown command "deploy": the commands are simulate, journal, emulator/],
      [['simulate', '--type', 'deviceAdded'], /--type must be one of/],
      [['simulate', '--result', 'MAYBE'], /--result must be SUCCESS or FAIL/],
      [['simulate', '--type', 'fwUpgradeStateChangeNotify', '--result', 'FAIL'], /--result does not apply/],
      [['simulate', '--repeat', '0'], /--repeat must be a whole number/],
      [['simulate', '--nope'], /Unknown option/],
      [['simulate', '--concurrency', 'lots'], /--concurrency must be a whole number/],
      [['simulate', '--body', 'x.json', '--type', 'fwUpgradeResultNotify'], /--body sends the file as it is: --type does not apply/],
    ] as Array<[string[], RegExp]>) {
      const { code, stderr } = await cli(args);
      assert.equal(code, 2, args.join(' '));
      assert.match(stderr, reason);
      // One line and the hint, not the whole help text.
      assert.equal(stderr.trim().split('\n').length, 1, stderr);
    }
    assert.match((await cli(['simulate', '--repeat', '0'])).stderr, /^huawei-iot-upgrade-router: --repeat must be a whole number of at least 1 \(see --help\)$/m);
    assert.deepEqual(events(), []);
  });

  it('--device and --operation set those IDs, for a real campaign', async () => {
    const { code } = await cli(['simulate', '--url', url, '--type', 'fwUpgradeResultNotify', '--result', 'FAIL', '--device', 'dev-42', '--operation', 'op-7']);
    assert.equal(code, 0);
    const notification = seen[0]?.args[0] as { deviceId: string; operationId: string; status: string };
    assert.deepEqual([notification.deviceId, notification.operationId, notification.status], ['dev-42', 'op-7', 'FAIL']);
  });

  it('--body FILE sends your own JSON as it is; a file that cannot be read exits 2 with one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'simulate-'));
    const file = join(dir, 'mine.json');
    const mine = { ...referenceLike(), deviceId: 'from-a-file' };
    writeFileSync(file, JSON.stringify(mine));
    const { code, stdout } = await cli(['simulate', '--url', url, '--body', file, '--repeat', '2']);
    assert.equal(code, 0, stdout);
    assert.deepEqual(events(), ['upgradeResult', 'duplicate']);
    assert.deepEqual(seen[0]?.args[0], mine);
    const missing = await cli(['simulate', '--url', url, '--body', join(dir, 'nope.json')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^huawei-iot-upgrade-router: ENOENT/);
    rmSync(dir, { recursive: true });
  });

  it('--concurrency N keeps up to N requests in flight', async () => {
    let inFlight = 0;
    let most = 0;
    upgrades.on('upgradeResult', () => {});
    const slow = createServer((req, res) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      req.resume();
      setTimeout(() => {
        inFlight -= 1;
        res.end();
      }, 100);
    }).listen(0, '127.0.0.1');
    await once(slow, 'listening');
    try {
      const slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/`;
      const { code } = await cli(['simulate', '--url', slowUrl, '--repeat', '8', '--concurrency', '4']);
      assert.equal(code, 0);
      assert.equal(most, 4);
    } finally {
      slow.close();
    }
  });
});

function referenceLike(): Record<string, string> {
  return {
    notifyType: 'swUpgradeResultNotify',
    deviceId: 'd',
    appId: 'a',
    operationId: `op-${Date.now()}`,
    subOperationId: 's',
    curVersion: '1',
    targetVersion: '2',
    sourceVersion: '1',
    swUpgradeResult: 'FAIL',
    upgradeTime: '9',
    resultDesc: 'failed',
    errorCode: '120006',
    description: 'timeout',
  };
}
