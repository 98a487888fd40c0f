import { once } from 'node:events';
import { createServer } from 'node:net';

/** A loopback port nothing listens on right now, for a server a spec starts. */
export async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const address = probe.address();
  probe.close();
  return typeof address === 'object' && address !== null ? address.port : 0;
}

/**
 * A loopback port that refuses every connection, for specs about "cannot be reached". A port freed by
 * `freePort()` would not do: a spec running beside this one can be given it a moment later.
 * listen(0) only hands out ports of the ephemeral range, so nothing a spec starts takes port 1.
 */
export const REFUSING_PORT = 1;
