// rhea, the AMQP 1.0 library, is an optional peer: loaded on first use by what speaks AMQP (the
// consumer, the emulator's forwarding), with one clear error when it is not installed.
import type { Connection } from 'rhea';
import { codedError } from '../core/errors';

export type Rhea = typeof import('rhea');

/** rhea, or ERR_PEER_MISSING saying what needs it. */
export async function loadRhea(who: string): Promise<Rhea> {
  try {
    // rhea is CommonJS: imported from ESM its container is the default export.
    const loaded = (await import('rhea')) as Rhea & { default?: Rhea };
    return loaded.default ?? loaded;
  } catch (error) {
    throw codedError('ERR_PEER_MISSING', `huawei-iot-upgrade-router: ${who} needs the optional peer 'rhea': npm install rhea@3`, { cause: error });
  }
}

/**
 * Closes an AMQP connection for good: no reconnect from now on (one already scheduled ends at its
 * first failure), and, when it is open, resolves once the peer answered the close or it dropped.
 */
export async function closeConnection(connection: Connection): Promise<void> {
  (connection as Connection & { set_reconnect(reconnect: boolean): void }).set_reconnect(false);
  if (!connection.is_open()) {
    connection.close();
    return;
  }
  await new Promise<void>((resolve) => {
    connection.once('connection_close', () => resolve());
    connection.once('disconnected', () => resolve());
    connection.close();
  });
}
