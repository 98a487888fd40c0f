import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, existsSync, mkdirSync } from 'node:fs';
import { freePort } from './free-port';
import { join } from 'node:path';
import { Client } from 'pg';
import { until } from './wait';

const BIN = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'].find((dir) => existsSync(join(dir, 'postgres')));

// postgres refuses to run as root, and CI runs as root: then it runs as Debian's `postgres` user.
function asPostgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string): number => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** A real Postgres in a temporary folder, on a free port, started and stopped by the specs. */
export class PostgresServer {
  readonly port: number;
  readonly #dir: string;
  readonly #user: { uid: number; gid: number } | undefined;
  #process: ChildProcess | undefined;

  private constructor(dir: string, port: number) {
    this.#dir = dir;
    this.port = port;
    this.#user = asPostgresUser();
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  static async start(dir: string): Promise<PostgresServer> {
    if (BIN === undefined) throw new Error('postgres is not installed: `apt-get install -y postgresql` (.ci/run does this).');
    const server = new PostgresServer(dir, await freePort());
    const data = join(dir, 'data');
    mkdirSync(data, { recursive: true });
    if (server.#user !== undefined) chownSync(dir, server.#user.uid, server.#user.gid);
    if (server.#user !== undefined) chownSync(data, server.#user.uid, server.#user.gid);
    const init = spawnSync(join(BIN, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'], { ...server.#user, encoding: 'utf8' });
    if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
    await server.restart();
    return server;
  }

  /** Starts (again) on the same port and data, and resolves once it accepts a query. */
  async restart(): Promise<void> {
    this.#process = spawn(
      join(BIN as string, 'postgres'),
      ['-D', join(this.#dir, 'data'), '-p', String(this.port), '-k', this.#dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=100'],
      { ...this.#user, stdio: 'ignore' },
    );
    await until(async () => {
      const client = new Client({ connectionString: this.url });
      try {
        await client.connect();
        await client.query('SELECT 1');
        return true;
      } catch {
        return false;
      } finally {
        await client.end().catch(() => {});
      }
    }, `postgres to answer a query on port ${this.port}`);
  }

  /** Stops it at once (immediate shutdown: open connections are cut, as in a crash of the database). */
  async stop(): Promise<void> {
    const child = this.#process;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGQUIT');
    await exited;
  }

  /** One query on a connection of its own. */
  async query<R extends object>(text: string, values: unknown[] = []): Promise<R[]> {
    const client = new Client({ connectionString: this.url });
    await client.connect();
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end();
    }
  }
}
