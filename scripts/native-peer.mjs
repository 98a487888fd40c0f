// better-sqlite3 is a native addon: the copy in node_modules (12, built by npm ci for this machine's
// Node) will not load on another major. Version 13 is built on Node-API, ships a prebuilt linux-x64
// binary and supports Node >= 22, so the other lines of the Node matrix all run against one unpacked
// copy of it, swapped into node_modules once for all of them: nothing is compiled, and the lines can
// run side by side.
//
// (12 on Node 24 can also abort the process when the garbage collector finalizes a statement:
// node::RemoveEnvironmentCleanupHook asserts, WiseLibs/better-sqlite3#1515, closed unfixed.)
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const MODERN = 'better-sqlite3@13.2.0';
const MODERN_FROM_MAJOR = 22;

/** better-sqlite3 13's package, unpacked once into `cache`. */
function modernPackage(cache) {
  const folder = join(cache, MODERN.replace('@', '-'));
  const unpacked = join(folder, 'package');
  if (existsSync(join(unpacked, 'package.json'))) return unpacked;
  console.log(`fetching ${MODERN} for Node ${MODERN_FROM_MAJOR} and later (once)`);
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  const tarball = execFileSync('npm', ['pack', MODERN, '--silent'], { cwd: folder, encoding: 'utf8' }).trim().split('\n').pop();
  execFileSync('tar', ['xzf', tarball], { cwd: folder });
  return unpacked;
}

/**
 * Runs `run()` (which may return a promise) with better-sqlite3 13 in node_modules, then puts this
 * machine's copy back. Every major in `majors` must be one that 13 supports.
 */
export async function withModernNativePeer(majors, cache, run) {
  const old = majors.filter((major) => Number(major) < MODERN_FROM_MAJOR);
  if (old.length > 0) throw new Error(`the Node matrix runs lines from ${MODERN_FROM_MAJOR} on (better-sqlite3 13); not ${old.join(', ')}`);
  const installed = join(root, 'node_modules', 'better-sqlite3');
  if (!existsSync(installed)) return run();
  const replacement = modernPackage(cache);
  const own = `${installed}.own`;
  // A run killed half-way left this machine's copy aside: put it back first.
  if (existsSync(own)) {
    rmSync(installed, { recursive: true, force: true });
    renameSync(own, installed);
  }
  renameSync(installed, own);
  try {
    // The whole package, not only the addon: 13's JavaScript differs from 12's.
    cpSync(replacement, installed, { recursive: true });
    return await run();
  } finally {
    rmSync(installed, { recursive: true, force: true });
    renameSync(own, installed);
  }
}
