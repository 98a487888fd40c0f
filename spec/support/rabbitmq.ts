import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port';
import { until } from './wait';

const SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';

/**
 * A real RabbitMQ broker with its AMQP 1.0 plugin (Debian's rabbitmq-server), on free loopback
 * ports, its data in a folder of its own: a stand-in for IoTDA's AMQP endpoint (which is a broker
 * too), restartable with its durable queues and persistent messages kept.
 */
export class RabbitMq {
  readonly port: number;
  readonly #distPort: number;
  readonly #dir: string;
  readonly #name: string;
  #process: ChildProcess | undefined;

  private constructor(port: number, distPort: number) {
    this.port = port;
    this.#distPort = distPort;
    this.#dir = mkdtempSync(join(tmpdir(), 'rabbitmq-'));
    this.#name = `spec${port}@localhost`;
    writeFileSync(join(this.#dir, 'enabled_plugins'), '[rabbitmq_amqp1_0].\n');
    // guest may connect from 127.0.0.1 only by default; the specs connect from there anyway.
    writeFileSync(join(this.#dir, 'rabbitmq.conf'), `listeners.tcp.default = ${port}\nloopback_users = none\n`);
  }

  static async start(): Promise<RabbitMq> {
    if (!existsSync(SERVER)) throw new Error('rabbitmq-server is not installed: `apt-get install -y rabbitmq-server` (.ci/run does this).');
    const broker = new RabbitMq(await freePort(), await freePort());
    await broker.restart();
    return broker;
  }

  /** Starts (again, with the same data) and resolves once it takes connections. */
  async restart(): Promise<void> {
    const dir = this.#dir;
    this.#process = spawn(SERVER, [], {
      cwd: dir,
      stdio: 'ignore',
      // A group of its own: the script runs the Erlang VM as its child, and a crash takes both.
      detached: true,
      env: {
        ...process.env,
        HOME: dir,
        RABBITMQ_NODENAME: this.#name,
        RABBITMQ_NODE_PORT: String(this.port),
        RABBITMQ_DIST_PORT: String(this.#distPort),
        RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
        RABBITMQ_LOG_BASE: join(dir, 'log'),
        RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
        RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
        RABBITMQ_PID_FILE: join(dir, 'pid'),
      },
    });
    await until(() => this.#open(), `RabbitMQ to take connections on port ${this.port}`, 60_000);
  }

  /** Kills the broker at once (its Erlang VM: the script's child), as a crash would. */
  async kill(): Promise<void> {
    const child = this.#process;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    process.kill(-(child.pid as number), 'SIGKILL');
    await exited;
    await until(async () => !(await this.#open()), `RabbitMQ on port ${this.port} to be gone`);
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #open(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = connect(this.port, '127.0.0.1');
      socket.on('error', () => resolve(false));
      // AMQP's protocol header: a broker that answers with its own is up.
      socket.on('connect', () => socket.write(Buffer.from('AMQP\x03\x01\x00\x00', 'latin1')));
      socket.on('data', () => {
        resolve(true);
        socket.destroy();
      });
      socket.setTimeout(2000, () => {
        resolve(false);
        socket.destroy();
      });
    });
  }
}
