import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { fixtureText } from './helpers';

const root = join(__dirname, '..');
// Inside the repository, so the packed package finds express and its own dependencies in
// node_modules/ above, as it would in a user's app.
const consumer = join(root, 'spec', '.tmp', 'consumer');

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  return typeof address === 'object' && address !== null ? address.port : 0;
}

async function waitForPort(port: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const socket = connect(port, '127.0.0.1');
    const connected = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      socket.once('error', () => resolve(false));
    });
    socket.destroy();
    if (connected) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listened on port ${port} within 10 s`);
}

function run(file: string, env: Record<string, string> = {}): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [file], { cwd: consumer, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr.on('data', (data: Buffer) => (output += data.toString()));
  return { child, output: () => output };
}

async function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let attempt = 0; attempt < 100 && !condition(); attempt += 1) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(condition(), what);
}

describe('the packed package, as users install it', function () {
  this.timeout(60_000);

  before(() => {
    rmSync(consumer, { recursive: true, force: true });
    const installed = join(consumer, 'node_modules', 'huawei-iot-upgrade-router');
    mkdirSync(installed, { recursive: true });
    const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', consumer], { cwd: root, encoding: 'utf8' })) as [
      { filename: string },
    ];
    execFileSync('tar', ['-xzf', join(consumer, packed.filename), '-C', installed, '--strip-components=1']);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  });

  it('require() gives createUpgradeRouter and schemas', () => {
    writeFileSync(
      join(consumer, 'require.cjs'),
      `const { createUpgradeRouter, schemas } = require('huawei-iot-upgrade-router');
       const upgrades = createUpgradeRouter();
       let seen = '';
       upgrades.on('upgradeResult', (result) => { seen = result.swUpgradeResult; });
       upgrades.receive(${JSON.stringify(fixtureText('fail'))});
       console.log(JSON.stringify({ type: typeof createUpgradeRouter, title: schemas.swUpgradeResultNotify.title, seen }));`,
    );
    const printed = execFileSync(process.execPath, ['require.cjs'], { cwd: consumer, encoding: 'utf8' });
    assert.deepEqual(JSON.parse(printed), { type: 'function', title: 'SwUpgradeResultNotify', seen: 'FAIL' });
  });

  it('import gives the same functions as require (one instance, no dual-package hazard)', () => {
    writeFileSync(
      join(consumer, 'import.mjs'),
      `import { createRequire } from 'node:module';
       import { createUpgradeRouter, schemas } from 'huawei-iot-upgrade-router';
       const required = createRequire(import.meta.url)('huawei-iot-upgrade-router');
       console.log(JSON.stringify({ same: createUpgradeRouter === required.createUpgradeRouter && schemas === required.schemas }));`,
    );
    const printed = execFileSync(process.execPath, ['import.mjs'], { cwd: consumer, encoding: 'utf8' });
    assert.deepEqual(JSON.parse(printed), { same: true });
  });

  it("the README's quick start runs as written", async () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Quick start'));
    const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(code, 'the quick start has a js block');
    writeFileSync(join(consumer, 'quickstart.mjs'), code);
    const port = await freePort();
    const { child, output } = run('quickstart.mjs', { PORT: String(port) });
    try {
      await waitForPort(port);
      const url = `http://127.0.0.1:${port}/v1.0.0/messageReceiver`;
      const ok = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: fixtureText('success') });
      const bad = await fetch(url, { method: 'POST', body: '{"notifyType": "swUpgradeResultNotify"' });
      assert.deepEqual([ok.status, bad.status], [200, 200]);
      await until(() => output().includes('malformed'), `quick start output: ${output()}`);
      assert.match(output(), /92d3f8da-200a-4143-8d0d-591a7e11de6c SUCCESS/);
    } finally {
      child.kill();
    }
  });

  it('npm start serves examples/server.mjs, and npm run simulate gets 200s and one log line per event', async () => {
    for (const file of ['server.mjs', 'simulate.mjs']) writeFileSync(join(consumer, file), readFileSync(join(root, 'examples', file)));
    const port = await freePort();
    const server = run('server.mjs', { PORT: String(port) });
    try {
      await until(() => server.output().includes('demo receiver on'), `server output: ${server.output()}`);
      const simulate = run('simulate.mjs', { RECEIVER_URL: `http://127.0.0.1:${port}/v1.0.0/messageReceiver` });
      assert.equal(await exitOf(simulate.child), 0, simulate.output());
      assert.match(simulate.output(), /reference example \(SUCCESS\): 200 in/);
      assert.match(simulate.output(), /realistic FAIL result: 200 in/);
      await until(() => (server.output().match(/^upgradeResult /gm) ?? []).length === 2, `server output: ${server.output()}`);
      assert.match(server.output(), /upgradeResult SUCCESS device=\*{6}/);
      assert.match(server.output(), /upgradeResult FAIL device=[0-9a-f-]{36} .*errorCode=120006/);
    } finally {
      server.child.kill();
    }
  });

  it('npm run simulate exits non-zero when nothing answers', async () => {
    const port = await freePort();
    const simulate = run('simulate.mjs', { RECEIVER_URL: `http://127.0.0.1:${port}/v1.0.0/messageReceiver` });
    assert.equal(await exitOf(simulate.child), 1);
    assert.match(simulate.output(), /no answer/);
  });
});
