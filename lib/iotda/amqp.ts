// IoTDA's AMQP 1.0 forwarding, consumed so that nothing is lost: each message goes to the router
// (checked, journaled, emitted as its event) and is accepted only once the journal has committed it.
// A crash before the commit leaves the message unsettled, and the broker delivers it again on the
// next connection; a re-delivery of one already committed is the journal's duplicate. Huawei's own
// sample accepts first and works after, which loses what was in hand at a crash.
import type { Connection, ConnectionOptions, Delivery, EventContext, Receiver } from 'rhea';
import { checkOptions, checks, kindOf, requireOption, type OptionTable } from '../core/option-checks';
import { codedError } from '../core/errors';
import { describeThrown } from '../core/thrown';
import { extensionOf, type RouterExtension } from '../router/extension';
import { closeConnection, loadRhea } from './rhea';
import type { UpgradeRouter } from '../router/router';

type Pem = string | Buffer;

export interface IotdaAmqpOptions {
  /** The router the messages go to; it must have a journal (the accept waits for its commit). */
  router: UpgradeRouter;
  /** The instance's AMQP endpoint host (console: Overview, Access Details). */
  host: string;
  /** Default 5671 (AMQPS). */
  port?: number;
  /** The queue the forwarding rule's AMQP action names. */
  queue: string;
  /** IoTDA's access key and access code (console: Access Credentials); the SASL user is built from them. */
  accessKey?: string;
  accessCode?: string;
  /** A standard or enterprise edition's instance ID, in the SASL user. */
  instanceId?: string;
  /** Another broker's own user and password (a relay of yours, a test broker), instead of the access key and code. */
  username?: string;
  password?: string;
  /** TLS (default true), with these CAs to trust. */
  tls?: boolean;
  ca?: Pem | Pem[];
  rejectUnauthorized?: boolean;
  /** Messages held at once, unsettled (the link's credit). Default 100. */
  credit?: number;
  /**
   * Attach to the queue as a durable terminus (default false, as Huawei's sample attaches): a
   * RabbitMQ queue declared durable, for a relay of your own, refuses a link that is not.
   */
  durable?: boolean;
}

export interface IotdaAmqpConsumer {
  /** Resolves once the receiving link is open (on the first connection). */
  readonly ready: Promise<void>;
  stats(): { received: number; accepted: number; released: number; connections: number };
  /** Closes the connection; messages in hand and not yet accepted are delivered again by the broker. */
  close(): Promise<void>;
}

/** The SASL user IoTDA's AMQP endpoint expects: `accessKey=…|timestamp=…|instanceId=…`. */
export function iotdaAmqpUsername(accessKey: string, nowMs: number, instanceId?: string): string {
  return `accessKey=${accessKey}|timestamp=${nowMs}${instanceId === undefined ? '' : `|instanceId=${instanceId}`}`;
}

/** How long a message the journal refused is held before it goes back to the broker. */
const RELEASE_PAUSE_MS = 1_000;

const isSection = (body: unknown): body is { content: Buffer } => typeof body === 'object' && body !== null && Buffer.isBuffer((body as { content?: unknown }).content);

const EXAMPLE = "createIotdaAmqpConsumer({ router, host: '….iot-amqps.cn-north-4.myhuaweicloud.com', queue: 'upgrades', accessKey, accessCode })";
const optionTable: OptionTable = {
  router: { check: (value) => (extensionOf(value) === undefined ? `must be a router made by createUpgradeRouter(), got ${kindOf(value)}` : undefined), example: EXAMPLE },
  host: { check: checks.nonEmptyString, example: EXAMPLE },
  port: { check: checks.wholeNumber, example: 'createIotdaAmqpConsumer({ …, port: 5671 })' },
  queue: { check: checks.nonEmptyString, example: EXAMPLE },
  accessKey: { check: checks.nonEmptyString, example: EXAMPLE },
  accessCode: { check: checks.nonEmptyString, example: EXAMPLE },
  instanceId: { check: checks.nonEmptyString, example: 'createIotdaAmqpConsumer({ …, instanceId })' },
  username: { check: checks.nonEmptyString, example: "createIotdaAmqpConsumer({ …, username: 'relay', password })" },
  password: { check: checks.nonEmptyString, example: "createIotdaAmqpConsumer({ …, username: 'relay', password })" },
  tls: { check: checks.oneOf(true, false), example: 'createIotdaAmqpConsumer({ …, tls: true })' },
  ca: { check: checks.pemOrList, example: "createIotdaAmqpConsumer({ …, ca: readFileSync('ca.pem') })" },
  rejectUnauthorized: { check: checks.oneOf(true, false), example: 'createIotdaAmqpConsumer({ …, rejectUnauthorized: true })' },
  credit: { check: checks.wholeNumber, example: 'createIotdaAmqpConsumer({ …, credit: 100 })' },
  durable: { check: checks.oneOf(true, false), example: 'createIotdaAmqpConsumer({ …, durable: true })' },
};

/** Consumes IoTDA's AMQP forwarding into `router`, each message accepted after the journal's commit. */
export function createIotdaAmqpConsumer(options: IotdaAmqpOptions): IotdaAmqpConsumer {
  checkOptions(options, optionTable);
  requireOption(options.router, 'router', EXAMPLE);
  requireOption(options.host, 'host', EXAMPLE);
  requireOption(options.queue, 'queue', EXAMPLE);
  const access = extensionOf(options.router);
  if (access === undefined) throw codedError('ERR_INVALID_OPTION', `huawei-iot-upgrade-router: router must be a router made by createUpgradeRouter(). Example: ${EXAMPLE}`, { kind: TypeError });
  if (access.journal === undefined) throw codedError('ERR_NO_JOURNAL', 'huawei-iot-upgrade-router: the AMQP consumer needs a router with a journal: a message is accepted once the journal has committed it', { kind: TypeError });
  const own = options.username !== undefined || options.password !== undefined;
  if (own ? options.username === undefined || options.password === undefined : options.accessKey === undefined || options.accessCode === undefined) {
    throw codedError('ERR_INVALID_OPTION', `huawei-iot-upgrade-router: the AMQP consumer needs accessKey and accessCode (or a broker's own username and password). Example: ${EXAMPLE}`, { kind: TypeError });
  }
  return new AmqpConsumer(options, access);
}

class AmqpConsumer implements IotdaAmqpConsumer {
  readonly ready: Promise<void>;
  readonly #options: IotdaAmqpOptions;
  readonly #router: UpgradeRouter;
  readonly #access: RouterExtension;
  #connection: Connection | undefined;
  #closed = false;
  #received = 0;
  #accepted = 0;
  #released = 0;
  #connections = 0;

  constructor(options: IotdaAmqpOptions, access: RouterExtension) {
    this.#options = options;
    this.#router = options.router;
    this.#access = access;
    this.ready = this.#open();
    // A consumer nobody awaits must not end the process with an unhandled rejection: the failure is
    // the router's error event too.
    this.ready.catch(() => {});
  }

  stats(): { received: number; accepted: number; released: number; connections: number } {
    return { received: this.#received, accepted: this.#accepted, released: this.#released, connections: this.#connections };
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#connection !== undefined) await closeConnection(this.#connection);
  }

  async #open(): Promise<void> {
    const rhea = await loadRhea('the AMQP consumer');
    const options = this.#options;
    const tls = options.tls ?? true;
    const container = rhea.create_container();
    const settings: ConnectionOptions = {
      host: options.host,
      port: options.port ?? (tls ? 5671 : 5672),
      transport: tls ? 'tls' : 'tcp',
      // Each connection signs in again: IoTDA's user carries the time it was made.
      username: options.username ?? iotdaAmqpUsername(options.accessKey ?? '', Date.now(), options.instanceId),
      password: options.password ?? options.accessCode ?? '',
      reconnect: true,
      initial_reconnect_delay: 100,
      max_reconnect_delay: 5_000,
      ...(tls && { ca: options.ca, rejectUnauthorized: options.rejectUnauthorized ?? true }),
    } as ConnectionOptions;
    const connection = container.connect(settings);
    this.#connection = connection;
    connection.on('connection_open', () => {
      this.#connections += 1;
    });
    connection.on('disconnected', (context: EventContext) => {
      if (!this.#closed && context.error !== undefined) this.#access.warn(`IoTDA AMQP: disconnected (${describeThrown(context.error)}); connecting again`);
    });
    const source = { address: options.queue, ...(options.durable === true && { durable: 2 }) };
    const receiver: Receiver = connection.open_receiver({ source, autoaccept: false, credit_window: options.credit ?? 100 });
    receiver.on('message', (context: EventContext) => this.#message(context));
    await new Promise<void>((resolve) => receiver.once('receiver_open', () => resolve()));
  }

  /** Gives a message back to the broker after a pause: released at once, it would come straight back to a journal that cannot keep it yet. */
  #releaseLater(delivery: Delivery): void {
    setTimeout(() => {
      this.#released += 1;
      delivery.release();
    }, RELEASE_PAUSE_MS).unref();
  }

  #message(context: EventContext): void {
    const { delivery, message } = context;
    if (delivery === undefined || message === undefined) return;
    this.#received += 1;
    // rhea gives a data section (how IoTDA sends JSON) as { typecode, content: bytes }, an AMQP string
    // as text, a map as an object: the router takes bytes, text or a value.
    const body: unknown = message.body;
    Promise.resolve(this.#router.receive(isSection(body) ? body.content : body))
      .then((outcome) => {
        // 'refused': the journal failed and the router was told to refuse: the broker keeps it. Released
        // plainly: a `modified` outcome (release with options) makes RabbitMQ's AMQP 1.0 plugin close the connection.
        if (outcome === 'refused') this.#releaseLater(delivery);
        else {
          this.#accepted += 1;
          delivery.accept();
        }
      })
      .catch((error: unknown) => {
        this.#releaseLater(delivery);
        this.#access.report(codedError('ERR_IOTDA_AMQP', `IoTDA AMQP: a message could not be kept: ${describeThrown(error)}`, { cause: error }));
      });
  }
}
