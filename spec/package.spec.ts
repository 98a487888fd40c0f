// @runtime-seam: the packed package loaded by require and import, installed by npm
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { allFixtures, fixtureText } from './helpers';
import { freePort } from './support/free-port';
import { until } from './support/wait';

const root = join(__dirname, '..');

async function waitForPort(port: number): Promise<void> {
  await until(async () => {
    const socket = connect(port, '127.0.0.1');
    const connected = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      socket.once('error', () => resolve(false));
    });
    socket.destroy();
    return connected;
  }, `something to listen on port ${port}`);
}

function run(cwd: string, file: string, env: Record<string, string> = {}): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [file], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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

// Each app is a fresh folder outside the repository with the packed tarball and one Express major
// installed by npm, as a user's app gets them: a file missing from the tarball or a dependency missing
// from package.json fails here, where the repository's own node_modules cannot hide it.
// The Express 5 app also installs the optional peers of the subpaths it uses (prom-client, pg,
// better-sqlite3) and pino for the demo's JSON logs; the Express 4 app installs none of them, to show
// the main entry needs none. better-sqlite3 is linked from this repository's node_modules, where it is
// already compiled (npm would otherwise build it from source again: about a minute).
const apps = [
  { major: 4, range: '^4.21.0', extras: {} },
  {
    major: 5,
    range: '^5.0.0',
    extras: { 'prom-client': '^15.1.3', pino: '^10.4.0', pg: '^8.23.1', 'better-sqlite3': `file:${join(root, 'node_modules', 'better-sqlite3')}` },
  },
];

describe('the packed package, installed by npm into a fresh app', function () {
  this.timeout(180_000);
  const work = mkdtempSync(join(tmpdir(), 'huawei-iot-upgrade-router-apps-'));
  const appDir = (major: number): string => join(work, `express${major}`);

  before(() => {
    const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: root, encoding: 'utf8' })) as [
      { filename: string },
    ];
    for (const { major, range, extras } of apps) {
      execFileSync('mkdir', ['-p', appDir(major)]);
      const dependencies = { 'huawei-iot-upgrade-router': `file:${join(work, packed.filename)}`, express: range, ...extras };
      writeFileSync(join(appDir(major), 'package.json'), JSON.stringify({ name: `app-express${major}`, private: true, dependencies }));
      // --ignore-scripts: the linked better-sqlite3 is built already (its install script would compile it again).
      execFileSync('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: appDir(major), stdio: 'inherit' });
    }
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  for (const { major, extras } of apps) {
    const withPeers = 'prom-client' in extras;
    describe(`with express@${major}`, () => {
      it('has that Express major installed', () => {
        const { version } = JSON.parse(readFileSync(join(appDir(major), 'node_modules', 'express', 'package.json'), 'utf8')) as { version: string };
        assert.equal(version.split('.')[0], String(major));
      });

      it('require() gives createUpgradeRouter and schemas', () => {
        writeFileSync(
          join(appDir(major), 'require.cjs'),
          `const { createUpgradeRouter, schemas } = require('huawei-iot-upgrade-router');
           const upgrades = createUpgradeRouter();
           let seen = '';
           upgrades.on('upgradeResult', (result) => { seen = result.swUpgradeResult; });
           upgrades.receive(${JSON.stringify(fixtureText('fail'))});
           console.log(JSON.stringify({ type: typeof createUpgradeRouter, title: schemas.swUpgradeResultNotify.title, seen }));`,
        );
        const printed = execFileSync(process.execPath, ['require.cjs'], { cwd: appDir(major), encoding: 'utf8' });
        assert.deepEqual(JSON.parse(printed), { type: 'function', title: 'SwUpgradeResultNotify', seen: 'FAIL' });
      });

      it('needs no ioredis unless huawei-iot-upgrade-router/redis is imported, which then says what is missing', () => {
        assert.throws(() => execFileSync(process.execPath, ['-e', "require('ioredis')"], { cwd: appDir(major), stdio: 'pipe' }));
        writeFileSync(
          join(appDir(major), 'redis.cjs'),
          `try { require('huawei-iot-upgrade-router/redis'); console.log('loaded'); } catch (error) { console.log(error.code, error.message.split('\\n')[0]); }`,
        );
        const printed = execFileSync(process.execPath, ['redis.cjs'], { cwd: appDir(major), encoding: 'utf8' });
        assert.match(printed, /MODULE_NOT_FOUND Cannot find module 'ioredis'/);
      });

      it(
        withPeers
          ? 'huawei-iot-upgrade-router/prometheus registers the metrics on the installed prom-client, by require and import'
          : 'needs no prom-client unless huawei-iot-upgrade-router/prometheus is imported, which then says what is missing',
        () => {
          writeFileSync(
            join(appDir(major), 'prometheus.cjs'),
            `try {
               const { registerMetrics } = require('huawei-iot-upgrade-router/prometheus');
               const { Registry } = require('prom-client');
               const registry = new Registry();
               registerMetrics(require('huawei-iot-upgrade-router').createUpgradeRouter(), { registry });
               registry.metrics().then((text) => console.log(text.split('\\n').filter((l) => l.includes('event="upgradeResult"')).join()));
             } catch (error) { console.log(error.code, error.message.split('\\n')[0]); }`,
          );
          const printed = execFileSync(process.execPath, ['prometheus.cjs'], { cwd: appDir(major), encoding: 'utf8' });
          if (withPeers) {
            assert.match(printed, /^huawei_iot_upgrade_notifications_total\{event="upgradeResult"\} 0$/m);
            writeFileSync(join(appDir(major), 'prometheus.mjs'), `import { registerMetrics } from 'huawei-iot-upgrade-router/prometheus';\nconsole.log(typeof registerMetrics);`);
            assert.equal(execFileSync(process.execPath, ['prometheus.mjs'], { cwd: appDir(major), encoding: 'utf8' }).trim(), 'function');
          } else {
            assert.match(printed, /MODULE_NOT_FOUND Cannot find module 'prom-client'/);
          }
        },
      );

      it(
        withPeers
          ? 'the journal subpaths load by require and import, and a SQLite journal survives a restart of the app'
          : 'needs neither better-sqlite3 nor pg unless a journal subpath is imported, which then says what is missing',
        () => {
          const script = (subpath: string): string =>
            `try { const m = require('huawei-iot-upgrade-router/${subpath}'); console.log(Object.keys(m).join()); } catch (error) { console.log(error.code, error.message.split('\\n')[0]); }`;
          const load = (subpath: string): string => execFileSync(process.execPath, ['-e', script(subpath)], { cwd: appDir(major), encoding: 'utf8' }).trim();
          if (!withPeers) {
            assert.match(load('sqlite'), /MODULE_NOT_FOUND Cannot find module 'better-sqlite3'/);
            assert.match(load('postgres'), /MODULE_NOT_FOUND Cannot find module 'pg'/);
            return;
          }
          assert.equal(load('sqlite'), 'inspectSqliteJournal,sqliteJournal');
          assert.equal(load('postgres'), 'postgresJournal');
          const esm = `import { sqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import { postgresJournal } from 'huawei-iot-upgrade-router/postgres';
console.log(typeof sqliteJournal, typeof postgresJournal);`;
          writeFileSync(join(appDir(major), 'journals.mjs'), esm);
          assert.equal(execFileSync(process.execPath, ['journals.mjs'], { cwd: appDir(major), encoding: 'utf8' }).trim(), 'function function');
          // One app run receives a push; the next, on the same file, takes its re-send for a duplicate.
          const receiveOnce = `
            const { createUpgradeRouter } = require('huawei-iot-upgrade-router');
            const { sqliteJournal } = require('huawei-iot-upgrade-router/sqlite');
            const router = createUpgradeRouter({ journal: sqliteJournal({ path: 'journal-check.db' }) });
            router.on('upgradeResult', () => {});
            Promise.resolve(router.receive(${JSON.stringify(fixtureText('success'))})).then(async (outcome) => { console.log(outcome); await router.close(); });`;
          const first = execFileSync(process.execPath, ['-e', receiveOnce], { cwd: appDir(major), encoding: 'utf8' }).trim();
          const second = execFileSync(process.execPath, ['-e', receiveOnce], { cwd: appDir(major), encoding: 'utf8' }).trim();
          assert.deepEqual([first, second], ['upgradeResult', 'duplicate']);
        },
      );

      it('import gives the same functions as require (one instance, no dual-package hazard)', () => {
        writeFileSync(
          join(appDir(major), 'import.mjs'),
          `import { createRequire } from 'node:module';
           import { createUpgradeRouter, schemas } from 'huawei-iot-upgrade-router';
           const required = createRequire(import.meta.url)('huawei-iot-upgrade-router');
           console.log(JSON.stringify({ same: createUpgradeRouter === required.createUpgradeRouter && schemas === required.schemas }));`,
        );
        const printed = execFileSync(process.execPath, ['import.mjs'], { cwd: appDir(major), encoding: 'utf8' });
        assert.deepEqual(JSON.parse(printed), { same: true });
      });

      it("the README's quick start runs as written", async () => {
        const readme = readFileSync(join(root, 'README.md'), 'utf8');
        const section = readme.slice(readme.indexOf('## Quick start'));
        const code = /```js[^\n]*\n([\s\S]*?)```/.exec(section)?.[1];
        assert.ok(code, 'the quick start has a js block');
        writeFileSync(join(appDir(major), 'quickstart.mjs'), code);
        const port = await freePort();
        const { child, output } = run(appDir(major), 'quickstart.mjs', { PORT: String(port) });
        try {
          await waitForPort(port);
          const url = `http://127.0.0.1:${port}/v1.0.0/messageReceiver`;
          const ok = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: fixtureText('success') });
          // A firmware campaign's result: the quick start hears the whole family.
          const firmware = await fetch(url, { method: 'POST', body: JSON.stringify(allFixtures.find((f) => f.type === 'fwUpgradeResultNotify')?.body) });
          const bad = await fetch(url, { method: 'POST', body: '{"notifyType": "swUpgradeResultNotify"' });
          assert.deepEqual([ok.status, firmware.status, bad.status], [200, 200, 200]);
          await until(() => output().includes('malformed') && output().includes('fwUpgradeResultNotify'), () => `quick start output: ${output()}`);
          assert.match(output(), /swUpgradeResultNotify 92d3f8da-200a-4143-8d0d-591a7e11de6c/);
          assert.doesNotMatch(output(), /no listener/);
        } finally {
          child.kill();
        }
      });

      it("the platform guide's client and emulator example runs as written, from the packed package", () => {
        const guide = readFileSync(join(root, 'docs', 'platform.md'), 'utf8');
        const code = /```js[^\n]*\n([\s\S]*?)```/.exec(guide)?.[1];
        assert.ok(code, 'the section has a js block');
        writeFileSync(join(appDir(major), 'platform.mjs'), code);
        const printed = execFileSync(process.execPath, ['platform.mjs'], { cwd: appDir(major), encoding: 'utf8', timeout: 20_000 });
        const lines = printed.trim().split('\n').sort();
        assert.equal(lines.length, 3);
        for (const [i, line] of lines.entries()) assert.match(line, new RegExp(`^meter-${i + 1} (success upgrade success|fail .+\\.)$`));
      });

      // The example journals to SQLite: run where better-sqlite3 is installed.
      if (withPeers) it("the platform guide's reconciliation example runs as written, from the packed package", () => {
        const guide = readFileSync(join(root, 'docs', 'platform.md'), 'utf8');
        const section = guide.slice(guide.indexOf('## Reconciliation: the results no push brought'));
        const code = /```js[^\n]*\n([\s\S]*?)```/.exec(section)?.[1];
        assert.ok(code, 'the section has a js block');
        writeFileSync(join(appDir(major), 'reconcile.mjs'), code);
        const printed = execFileSync(process.execPath, ['reconcile.mjs'], { cwd: appDir(major), encoding: 'utf8', timeout: 20_000 });
        const lines = printed.trim().split('\n');
        assert.equal(lines.at(-1), '3 expected, 0 pushed, 3 filled in');
        assert.deepEqual(lines.slice(0, 3).map((line) => line.split(' ')[0]).sort(), ['meter-1', 'meter-2', 'meter-3']);
        for (const line of lines.slice(0, 3)) assert.match(line, /^meter-\d (SUCCESS upgrade success|FAIL .+\.)$/);
      });

      it('examples/server.mjs fed by the bin: one log line per event, a duplicate, /metrics, SIGTERM drains and exits 0', async () => {
        writeFileSync(join(appDir(major), 'server.mjs'), readFileSync(join(root, 'examples', 'server.mjs')));
        const port = await freePort();
        const dashboardPort = await freePort();
        const server = run(appDir(major), 'server.mjs', { PORT: String(port), DASHBOARD_PORT: String(dashboardPort) });
        try {
          await until(() => server.output().includes('demo receiver on'), () => `server output: ${server.output()}`);
          // The demo journals to data/upgrades.db where better-sqlite3 is installed, and says so where it is not.
          assert.match(server.output(), withPeers ? /; journal in data\/upgrades\.db\)/ : /; no journal: npm install better-sqlite3 for one/);
          const bin = join(appDir(major), 'node_modules', '.bin', 'huawei-iot-upgrade-router');
          const simulate = spawnSync(bin, ['simulate', '--demo', '--url', `http://127.0.0.1:${port}/v1.0.0/messageReceiver`], { encoding: 'utf8' });
          assert.equal(simulate.status, 0, simulate.stdout + simulate.stderr);
          assert.equal((simulate.stdout.match(/: 200 in [\d.]+ ms$/gm) ?? []).length, 6, simulate.stdout);
          const lines = (): string[] => server.output().split('\n');
          await until(() => lines().some((line) => line.startsWith('duplicate ')), () => `server output: ${server.output()}`);
          const events = lines().map((line) => line.split(' ')[0]).filter((word) => word !== undefined && /^[a-z]+[A-Z]\w+$|^duplicate$/.test(word));
          assert.deepEqual(events, ['upgradeResult', 'upgradeResult', 'upgradeState', 'firmwareUpgradeResult', 'firmwareUpgradeState', 'duplicate']);
          assert.match(server.output(), /upgradeResult SUCCESS device=\*{6}/);
          assert.match(server.output(), /upgradeResult FAIL device=[0-9a-f-]{36} .*errorCode=120006/);
          // The dashboard is on its own port, on localhost only, not on the callback port: every task the bin played is on it.
          // With a journal it follows the journal, read every half second.
          let tasks: unknown[] = [];
          await until(async () => {
            tasks = (await (await fetch(`http://127.0.0.1:${dashboardPort}/upgrades/api/tasks`)).json()) as unknown[];
            return tasks.length >= 5;
          }, () => `the dashboard to list the 5 tasks played: ${JSON.stringify(tasks)}`);
          assert.equal(tasks.length, 5, JSON.stringify(tasks));
          assert.equal((await fetch(`http://127.0.0.1:${dashboardPort}/upgrades`, { redirect: 'manual' })).status, 301);
          assert.equal((await fetch(`http://127.0.0.1:${port}/upgrades/api/tasks`)).status, 404, 'the fleet is not on the public callback port');
          assert.match(server.output(), new RegExp(`dashboard at http://localhost:${dashboardPort}/upgrades/ \\(this machine only\\)`));
          const stats = (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as { received: number; events: unknown };
          assert.equal(stats.received, 6);
          assert.deepEqual(stats.events, { upgradeResult: 2, upgradeState: 1, firmwareUpgradeResult: 1, firmwareUpgradeState: 1, batchTaskUpdate: 0, batchTaskStatusUpdate: 0, duplicate: 1, invalid: 0 });
          const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
          if (withPeers) {
            const text = await metrics.text();
            assert.match(text, /^huawei_iot_upgrade_notifications_total\{event="duplicate"\} 1$/m);
            assert.match(text, /^huawei_iot_upgrade_ack_duration_seconds_count 6$/m);
          } else {
            assert.equal(metrics.status, 501);
          }
          server.child.kill('SIGTERM');
          assert.equal(await exitOf(server.child), 0, server.output());
          assert.match(server.output(), /SIGTERM: closing\ndrained, exiting/);
        } finally {
          server.child.kill();
        }
      });

      if (withPeers) {
        it('examples/server.mjs with LOG_FORMAT=json: one JSON line per event through pino, the notification as a field', async () => {
          const port = await freePort();
          const server = run(appDir(major), 'server.mjs', { PORT: String(port), DASHBOARD_PORT: String(await freePort()), LOG_FORMAT: 'json' });
          try {
            await until(() => server.output().includes('demo receiver on'), () => `server output: ${server.output()}`);
            const bin = join(appDir(major), 'node_modules', '.bin', 'huawei-iot-upgrade-router');
            const simulate = spawnSync(bin, ['simulate', '--type', 'fwUpgradeResultNotify', '--result', 'FAIL', '--url', `http://127.0.0.1:${port}/v1.0.0/messageReceiver`], { encoding: 'utf8' });
            assert.equal(simulate.status, 0, simulate.stdout);
            await until(() => server.output().includes('"event":"firmwareUpgradeResult"'), () => `server output: ${server.output()}`);
            const record = server
              .output()
              .split('\n')
              .filter((line) => line.startsWith('{'))
              .map((line) => JSON.parse(line) as { event?: string; notification?: { status: string }; service?: string })
              .find((r) => r.event === 'firmwareUpgradeResult');
            assert.equal(record?.notification?.status, 'FAIL');
            assert.equal(record.service, 'upgrade-receiver');
          } finally {
            server.child.kill();
          }
        });
      }

      it('examples/server.mjs with ALLOW_IPS refuses the bin from outside the list: 200, and invalid forbidden', async () => {
        const port = await freePort();
        // The dashboard's port is taken: the receiver says so and goes on without it.
        const taken = createServer().listen(0, '127.0.0.1');
        await once(taken, 'listening');
        const takenPort = (taken.address() as { port: number }).port;
        const server = run(appDir(major), 'server.mjs', { PORT: String(port), ALLOW_IPS: '192.0.2.0/24', DASHBOARD_PORT: String(takenPort) });
        try {
          await until(() => server.output().includes('demo receiver on'), () => `server output: ${server.output()}`);
          const bin = join(appDir(major), 'node_modules', '.bin', 'huawei-iot-upgrade-router');
          const simulate = spawnSync(bin, ['simulate', '--url', `http://127.0.0.1:${port}/v1.0.0/messageReceiver`], { encoding: 'utf8' });
          assert.equal(simulate.status, 0, simulate.stdout);
          await until(() => server.output().includes('invalid forbidden'), () => `server output: ${server.output()}`);
          assert.match(server.output(), /invalid forbidden: caller ::ffff:127\.0\.0\.1 is not in allow\.ips/);
          assert.match(server.output(), new RegExp(`dashboard not served on 127\\.0\\.0\\.1:${takenPort}: listen EADDRINUSE`));
        } finally {
          server.child.kill();
          taken.close();
        }
      });
    });
  }

});
