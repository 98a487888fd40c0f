// The bin's platform side: `emulator` runs the emulator as a process and prints where and
// who; `simulate --ca` verifies an HTTPS receiver; `simulate` never prints a token or a password.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { createPlatformClient } from 'huawei-iot-upgrade-router/platform';
import { request } from 'undici';
import { runBin, tempFolder } from './support/journal';
import { until } from './support/wait';
import { startHttpsReceiver, testTls } from './support/platform';

const bin = join(__dirname, '..', 'dist', 'cli', 'index.js');

describe('the bin: huawei-iot-upgrade-router emulator', function () {

  it('starts on HTTPS, prints its URL, credentials and CA; a client logs in with them; SIGINT stops it', async () => {
    const folder = tempFolder('emulator-cli-');
    const caFile = join(folder.dir, 'ca.pem');
    const child = spawn(process.execPath, [bin, 'emulator', '--port', '0', '--tls', '--ca-out', caFile, '--speed', '10', '--seed', '7', '--duration', '30', '--failure-ratio', '0.2', '--silent-ratio', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      await until(() => out.includes('control'), 'the emulator to print where it listens');
      const url = /on (https:\/\/127\.0\.0\.1:\d+) \(time 10x\)/.exec(out)?.[1] ?? '';
      const appId = /appId +(\S+)/.exec(out)?.[1] ?? '';
      const secret = /secret +(\S+)/.exec(out)?.[1] ?? '';
      const fileId = /software V2\.1\.0 fileId=(\w+)/.exec(out)?.[1] ?? '';
      const platform = createPlatformClient({ url, appId, secret, ca: readFileSync(caFile) });
      const { operationId } = await platform.createSoftwareUpgradeTask({ fileId, targets: { devices: ['a', 'b'] } });
      assert.equal((await platform.getTask(operationId)).staResult.total, 2);
      await platform.close();
      // The control surface, over the same HTTPS.
      const state = await request(`${url}/_emulator`, { dispatcher: new (await import('undici')).Agent({ connect: { ca: readFileSync(caFile) } }) });
      assert.equal(state.statusCode, 200);
      assert.ok(String(state.headers['x-platform-emulator']).length > 0);
      assert.equal(((await state.body.json()) as { appId: string }).appId, appId);
      child.kill('SIGINT');
      const [code] = (await once(child, 'exit')) as [number];
      assert.equal(code, 0);
      assert.match(out, /SIGINT: closing/);
    } finally {
      child.kill('SIGKILL');
      folder.remove();
    }
  });

  it('serves HTTPS with your certificate, verifies receivers with --ca, and takes fixed credentials', async () => {
    const { certificates, tls } = await testTls();
    const folder = tempFolder('emulator-cli-');
    const files = { cert: join(folder.dir, 'cert.pem'), key: join(folder.dir, 'key.pem'), ca: join(folder.dir, 'ca.pem') };
    writeFileSync(files.cert, tls.cert);
    writeFileSync(files.key, tls.key);
    writeFileSync(files.ca, certificates.ca);
    const receiver = await startHttpsReceiver();
    const results: string[] = [];
    receiver.upgrades.on('upgradeResult', (notification) => results.push(notification.deviceId));
    const child = spawn(process.execPath, [bin, 'emulator', '--port', '0', '--cert', files.cert, '--key', files.key, '--ca', files.ca, '--app-id', 'fixed-app', '--duration', '1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HUAWEI_IOT_SECRET: 'fixed-secret' },
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      await until(() => out.includes('control'), 'the emulator to print where it listens');
      assert.match(out, /\(time 1x\)/);
      assert.match(out, /secret +\(from \$HUAWEI_IOT_SECRET\)/, 'a secret it was given is not printed');
      assert.doesNotMatch(out, /fixed-secret/);
      const url = /on (https:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] ?? '';
      const fileId = /software V2\.1\.0 fileId=(\w+)/.exec(out)?.[1] ?? '';
      const platform = createPlatformClient({ url, appId: 'fixed-app', secret: 'fixed-secret', ca: certificates.ca });
      await platform.subscribe('swUpgradeResultNotify', receiver.url);
      await platform.createSoftwareUpgradeTask({ fileId, targets: { devices: ['cli-meter'] } });
      await until(() => results.length === 1, 'the result pushed over verified HTTPS');
      assert.deepEqual(results, ['cli-meter']);
      await platform.close();
      // SIGTERM too ends it cleanly.
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number];
      assert.equal(code, 0);
    } finally {
      child.kill('SIGKILL');
      await receiver.close();
      folder.remove();
    }
  });

  it('takes drops, flow control, push rules and device timing from flags, and shows them on GET /_emulator', async () => {
    const args = ['--drop-ratio', '0.25', '--rate-limit', '7', '--rate-window', '1000', '--push-timeout', '2000', '--resend-every', '5000', '--resend-for', '30000', '--invalid-after', '3', '--start-spread', '0', '--duration-spread', '0'];
    const child = spawn(process.execPath, [bin, 'emulator', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      await until(() => out.includes('control'), 'the emulator to print where it listens');
      assert.match(out, /dropping 25 % of all pushes/);
      const url = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] ?? '';
      const state = (await (await fetch(`${url}/_emulator`)).json()) as Record<string, unknown>;
      assert.deepEqual(state['faults'], [{ kind: 'dropPushes', ratio: 0.25, left: null }]);
      assert.deepEqual(state['rateLimit'], { calls: 7, windowMs: 1000 });
      assert.deepEqual(state['pushRules'], { timeoutMs: 2000, keepMs: 30_000, resendMs: 5000, invalidAfter: 3, concurrency: 16 });
      assert.deepEqual(state['devices'], { durationMs: 120_000, failureRatio: 0.1, silentRatio: 0, startSpread: 0, durationSpread: 0 });
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses options that do not go together, in one line', async () => {
    for (const [args, message] of [
      [['--cert', 'x.pem'], /--cert and --key go together/],
      [['--tls', '--cert', 'a', '--key', 'b'], /--tls makes its own certificate/],
      [['--app-id', 'a'], /--app-id needs its secret in \$HUAWEI_IOT_SECRET/],
      [['--app-id', 'a', '--secret', 's'], /secret goes in \$HUAWEI_IOT_SECRET/],
      [['--speed', 'fast'], /--speed must be a number of at least 0/],
      [['--drop-ratio', '2', '--drop-type', 'swUpgradeResultNotify'], /ratio is between 0 and 1/],
      [['--drop-type', 'swUpgradeResultNotify'], /give --drop-ratio too/],
      [['--failure-ratio', '1.5'], /failureRatio must be a number from 0 to 1/],
      [['--rate-limit', '2.5'], /--rate-limit must be a whole number above 0/],
    ] as const) {
      const { code, stderr } = await runBin(['emulator', '--port', '0', ...args], { HUAWEI_IOT_SECRET: '' });
      assert.equal(code, 2);
      assert.match(stderr, message);
    }
    // A port in use: said in one line, nothing left running.
    const taken = createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    try {
      const { code, stderr } = await runBin(['emulator', '--port', String((taken.address() as AddressInfo).port), '--drop-ratio', '0.1']);
      assert.equal(code, 2);
      assert.match(stderr, /EADDRINUSE/);
    } finally {
      taken.close();
    }
  });
});

describe('the bin: simulate over HTTPS', function () {

  it('verifies the receiver with --ca, and without it refuses an unknown CA', async () => {
    const { certificates } = await testTls();
    const receiver = await startHttpsReceiver();
    const results: string[] = [];
    receiver.upgrades.on('upgradeResult', (notification) => results.push(notification.swUpgradeResult));
    // The task below sends state changes too.
    receiver.upgrades.on('upgradeState', () => {});
    const folder = tempFolder('simulate-ca-');
    try {
      const caFile = join(folder.dir, 'ca.pem');
      writeFileSync(caFile, certificates.ca);
      const verified = await runBin(['simulate', '--url', receiver.url, '--ca', caFile, '--result', 'FAIL']);
      assert.equal(verified.code, 0, verified.stdout);
      await until(() => results.length === 1, 'the result');
      const unverified = await runBin(['simulate', '--url', `${receiver.url}?token=s3cret`]);
      assert.equal(unverified.code, 1);
      assert.match(unverified.stdout, /no answer from .*\?token=\*\*\* \(/);
      assert.doesNotMatch(unverified.stdout + unverified.stderr, /s3cret/);
      const task = await runBin(['simulate', '--url', receiver.url, '--ca', caFile, '--task', '20']);
      assert.match(task.stdout, /^expected: 16 SUCCESS, 3 FAIL, 1 device mid-way \(no result\)$/m);
      const notUrl = await runBin(['simulate', '--url', 'not a url']);
      assert.match(notUrl.stdout, /no answer from not a url/);
      const withPassword = await runBin(['simulate', '--url', 'http://user:hunter2@127.0.0.1:1/x']);
      assert.doesNotMatch(withPassword.stdout + withPassword.stderr, /hunter2/);
      assert.match(withPassword.stdout, /user:\*\*\*@127\.0\.0\.1:1/);
    } finally {
      folder.remove();
      await receiver.close();
    }
  });
});
