// rhea, the AMQP 1.0 library, is an optional peer: loaded on first use by what speaks AMQP (the
// consumer, the emulator's forwarding), with one clear error when it is not installed.
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
