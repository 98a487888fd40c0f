// better-sqlite3 is a native addon: the copy in node_modules is built for this machine's Node and
// will not load on another major. For the Node matrix, this builds it once per major (with npm's own
// node-gyp and the headers of the official build, `--nodedir`) into the cache folder beside that
// Node, and swaps it into node_modules for the run: withNativePeerFor(major, nodePath, run).
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addon = join(root, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');

function nodeGyp() {
  const npmRoot = execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim();
  const candidates = [join(npmRoot, 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')];
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not a dependency of the project: npm's own copy is the usual one
  }
  const found = candidates.find((candidate) => existsSync(candidate));
  if (found === undefined) throw new Error('node-gyp not found (it comes with npm)');
  return found;
}

/** The addon built for the Node binary `node` (an official build with headers beside it). */
function addonFor(node) {
  const nodedir = join(dirname(node), '..');
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  const scratch = join(nodedir, '..', '..', `better-sqlite3-${version}`);
  const built = join(scratch, 'build', 'Release', 'better_sqlite3.node');
  if (existsSync(built)) return built;
  console.log(`building better-sqlite3 for Node ${version} (once; about a minute)`);
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  cpSync(join(root, 'node_modules', 'better-sqlite3'), scratch, { recursive: true, filter: (source) => !source.includes(`${join('better-sqlite3', 'build')}`) });
  execFileSync(node, [nodeGyp(), 'rebuild', '--release', `--nodedir=${nodedir}`], { cwd: scratch, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PATH: `${dirname(node)}:${process.env.PATH}` } });
  return built;
}

/** Runs `run()` with better-sqlite3's addon built for `node` in node_modules, then puts this machine's back. */
export function withNativePeerFor(node, run) {
  if (node === process.execPath || !existsSync(addon)) return run();
  const own = `${addon}.own`;
  const replacement = addonFor(node);
  renameSync(addon, own);
  try {
    copyFileSync(replacement, addon);
    return run();
  } finally {
    rmSync(addon, { force: true });
    renameSync(own, addon);
  }
}
