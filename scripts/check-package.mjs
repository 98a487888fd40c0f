// Packs the package as npm would publish it and checks the tarball: only what users need is in it,
// publint finds nothing to fix, and @arethetypeswrong/cli finds the types right for require and import.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const out = mkdtempSync(join(tmpdir(), 'huawei-iot-upgrade-router-pack-'));

try {
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out], { cwd: root, encoding: 'utf8' }));
  const tarball = join(out, packed.filename);
  // The dashboard's page, style and icon are served from dist/dashboard/assets.
  // The guides and the changelog ship: the README links to them, and a reader of node_modules has them.
  const allowed = /^(package\.json|README\.md|CHANGELOG\.md|LICENSE|docs\/[\w.-]+\.(md|png)|schema\/[\w.-]+\.schema\.json|dist\/[\w./-]+\.(js|mjs|d\.ts|d\.mts|js\.map)|dist\/dashboard\/assets\/[\w.-]+\.(html|css|svg))$/;
  const stray = packed.files.map((file) => file.path).filter((path) => !allowed.test(path));
  if (stray.length > 0) throw new Error(`the tarball holds files users do not need:\n  ${stray.join('\n  ')}`);
  for (const needed of ['dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'dist/index.d.mts', 'dist/redis.js', 'dist/redis.mjs', 'dist/redis.d.ts', 'dist/redis.d.mts', 'dist/prometheus.js', 'dist/prometheus.mjs', 'dist/prometheus.d.ts', 'dist/prometheus.d.mts', 'dist/sqlite.js', 'dist/sqlite.mjs', 'dist/postgres.js', 'dist/postgres.mjs', 'dist/platform.js', 'dist/platform.mjs', 'dist/platform.d.ts', 'dist/emulator.js', 'dist/emulator.mjs', 'dist/emulator.d.ts', 'dist/reconcile.js', 'dist/reconcile.mjs', 'dist/reconcile.d.ts', 'dist/rollout.js', 'dist/rollout.mjs', 'dist/rollout.d.ts', 'dist/iotda.js', 'dist/iotda.mjs', 'dist/iotda.d.ts', 'dist/journal/sqlite-worker.js', 'dist/dashboard/assets/index.html', 'dist/dashboard/assets/app.js', 'dist/dashboard/assets/rollouts.js', 'schema/sw-upgrade-result-notify.schema.json', 'LICENSE', 'README.md', 'CHANGELOG.md']) {
    if (!packed.files.some((file) => file.path === needed)) throw new Error(`the tarball lacks ${needed}`);
  }
  // Every guide and its screenshot: spec/docs.spec.ts checks that user docs link only to files that ship.
  for (const name of readdirSync(join(root, 'docs'))) {
    if (!packed.files.some((file) => file.path === `docs/${name}`)) throw new Error(`the tarball lacks docs/${name}`);
  }
  // npm warns about, and may block, a dependency's install-time scripts: users install none from us.
  const { scripts = {} } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const installScripts = ['preinstall', 'install', 'postinstall', 'prepare'].filter((name) => name in scripts);
  if (installScripts.length > 0) throw new Error(`package.json has install-time scripts users would run: ${installScripts.join(', ')}`);
  console.log(`tarball: ${packed.files.length} files, ${packed.size} bytes packed, ${packed.unpackedSize} unpacked`);
  execFileSync(bin('publint'), ['run', tarball, '--strict'], { cwd: root, stdio: 'inherit' });
  execFileSync(bin('attw'), [tarball], { cwd: root, stdio: 'inherit' });
} finally {
  rmSync(out, { recursive: true, force: true });
}
