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

// better-sqlite3 12 on Node 24 can abort the process when the garbage collector finalizes a statement
// (node::RemoveEnvironmentCleanupHook asserts; WiseLibs/better-sqlite3#1515, closed unfixed): it
// happened here in the spec run of Node 24. Version 13 (Node-API, Node >= 22) does not, and ships a
// prebuilt linux-x64 binary, so from Node 24 on the specs run against it, as the README tells users to.
const MODERN = 'better-sqlite3@13.2.0';
const MODERN_FROM_MAJOR = 24;

/** better-sqlite3 13's package, unpacked once beside the Node binaries. */
function modernPackage(node) {
  const folder = join(dirname(node), '..', '..', '..', '..', MODERN.replace('@', '-'));
  const unpacked = join(folder, 'package');
  if (existsSync(join(unpacked, 'package.json'))) return unpacked;
  console.log(`fetching ${MODERN} for Node ${MODERN_FROM_MAJOR} and later (once)`);
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  const tarball = execFileSync('npm', ['pack', MODERN, '--silent'], { cwd: folder, encoding: 'utf8' }).trim().split('\n').pop();
  execFileSync('tar', ['xzf', tarball], { cwd: folder });
  return unpacked;
}

/** Runs `run()` with better-sqlite3 for `node` in node_modules, then puts this machine's back. */
export function withNativePeerFor(node, run) {
  if (node === process.execPath || !existsSync(addon)) return run();
  const major = Number(execFileSync(node, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).trim());
  if (major >= MODERN_FROM_MAJOR) return withPackage(modernPackage(node), run);
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

// The whole package swapped, not only the addon: 13's JavaScript differs from 12's.
function withPackage(replacement, run) {
  const installed = join(root, 'node_modules', 'better-sqlite3');
  const own = `${installed}.own`;
  renameSync(installed, own);
  try {
    cpSync(replacement, installed, { recursive: true });
    return run();
  } finally {
    rmSync(installed, { recursive: true, force: true });
    renameSync(own, installed);
  }
}
