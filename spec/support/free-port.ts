import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

// The ports the kernel hands to listen(0) and to outgoing connections (Linux's default when the file
// is not there): every server a spec starts on port 0 takes one of these.
function ephemeralStart(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32_768;
  } catch {
    return 32_768;
  }
}
const HIGHEST = ephemeralStart() - 1;
const LOWEST = Math.max(1024, HIGHEST - 12_000);

/**
 * A port nothing listens on, for a server a spec starts in another process (Postgres, Redis, a child
 * app). Drawn below the ephemeral range: a port freed from listen(0) was handed a moment later to a
 * server another spec started on port 0, and the child's requests reached that server instead.
 */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 100; tries += 1) {
    const port = LOWEST + Math.floor(Math.random() * (HIGHEST - LOWEST));
    // Without a host: the wildcard of both families, as app.listen(port) binds it.
    const probe = createServer();
    const free = await new Promise<boolean>((resolve) => {
      probe.once('error', () => resolve(false));
      probe.listen(port, () => resolve(true));
    });
    if (free) {
      await new Promise<void>((resolve) => probe.close(() => resolve()));
      return port;
    }
  }
  throw new Error(`no free port from ${LOWEST} to ${HIGHEST} in 100 tries`);
}

/**
 * A loopback port that refuses every connection, for specs about "cannot be reached". A port freed by
 * `freePort()` would not do: a spec running beside this one can be given it a moment later.
 * listen(0) only hands out ports of the ephemeral range, so nothing a spec starts takes port 1.
 */
export const REFUSING_PORT = 1;
