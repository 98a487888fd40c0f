// The rule engine's AMQP forwarding, as the emulator plays it: each task push sent as a persistent
// message (JSON in a data section, as IoTDA sends it) to a queue on a real AMQP 1.0 broker, counted
// as delivered once the broker accepted it. What the broker did not take (it was down, it refused)
// is sent again later by the emulator, as IoTDA keeps what it could not forward.
import type { Connection, Delivery, EventContext, Sender } from 'rhea';
import { closeConnection, loadRhea } from '../iotda/rhea';

/** Where the emulator forwards IoTDA's task pushes over AMQP 1.0: a broker the tests start (RabbitMQ with its AMQP 1.0 plugin, say). */
export interface IotdaAmqpTarget {
  host: string;
  port: number;
  /** The queue's address, e.g. `/queue/upgrades` on RabbitMQ. */
  queue: string;
  username: string;
  password: string;
  /** Declare the queue durable (RabbitMQ refuses a link to a durable queue that is not). Default true. */
  durable?: boolean;
}

export class AmqpForwarder {
  readonly #settle = new Map<Delivery, (accepted: boolean) => void>();
  readonly #ready: Promise<{ connection: Connection; sender: Sender; dataSection: (content: Buffer) => unknown }>;
  #closed = false;

  constructor(target: IotdaAmqpTarget) {
    this.#ready = this.#open(target);
    // A failure to load rhea is each send's: false, and a clear record of why in lastError.
    this.#ready.catch(() => {});
  }

  async #open(target: IotdaAmqpTarget): Promise<{ connection: Connection; sender: Sender; dataSection: (content: Buffer) => unknown }> {
    const rhea = await loadRhea("the emulator's AMQP forwarding");
    const connection = rhea.create_container().connect({ host: target.host, port: target.port, username: target.username, password: target.password, reconnect: true, initial_reconnect_delay: 100, max_reconnect_delay: 2_000 });
    const sender = connection.open_sender({ target: { address: target.queue, ...(target.durable !== false && { durable: 2 }) } });
    const settled = (accepted: boolean) => (context: EventContext) => {
      if (context.delivery === undefined) return;
      this.#settle.get(context.delivery)?.(accepted);
      this.#settle.delete(context.delivery);
    };
    sender.on('accepted', settled(true));
    for (const refusal of ['released', 'rejected', 'modified'] as const) sender.on(refusal, settled(false));
    // A dropped connection settles nothing more: what was in flight is sent again later.
    connection.on('disconnected', () => this.#failAll());
    return { connection, sender, dataSection: (content) => rhea.message.data_section(content) as unknown };
  }

  #failAll(): void {
    for (const settle of this.#settle.values()) settle(false);
    this.#settle.clear();
  }

  /** Sends one message; true once the broker accepted it, false if it did not within `timeoutMs` (or cannot take it now). */
  async send(body: unknown, timeoutMs: number): Promise<boolean> {
    const { sender, dataSection } = await this.#ready;
    if (this.#closed || !sender.sendable()) return false;
    const delivery = sender.send({ body: dataSection(Buffer.from(JSON.stringify(body))), durable: true, content_type: 'application/json' });
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#settle.delete(delivery);
        resolve(false);
      }, timeoutMs);
      this.#settle.set(delivery, (accepted) => {
        clearTimeout(timer);
        resolve(accepted);
      });
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#failAll();
    const opened = await this.#ready.catch(() => undefined);
    if (opened !== undefined) await closeConnection(opened.connection);
  }
}
