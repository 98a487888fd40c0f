import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { freePort } from './free-port';
import { until } from './wait';

/** A real redis-server on a free loopback port, for the specs; no persistence. */
export class RedisServer {
  readonly port: number;
  #process: ChildProcess | undefined;

  private constructor(port: number) {
    this.port = port;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<RedisServer> {
    if (spawnSync('redis-server', ['--version']).error !== undefined) {
      throw new Error('redis-server is not installed: `apt-get install -y redis-server` (.ci/run does this).');
    }
    const server = new RedisServer(await freePort());
    await server.restart();
    return server;
  }

  /** Starts (again) on the same port and resolves once it answers PING. */
  async restart(): Promise<void> {
    this.#process = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    await until(() => this.#pong(), `redis-server to answer PING on port ${this.port}`);
  }

  /** Kills it at once, as a crash would. */
  async kill(): Promise<void> {
    const child = this.#process;
    // Killed by a signal, a process has no exit code: its signal says it is gone.
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  }

  #pong(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = connect(this.port, '127.0.0.1');
      socket.on('error', () => resolve(false));
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (data: Buffer) => {
        resolve(data.toString().startsWith('+PONG'));
        socket.destroy();
      });
    });
  }
}
