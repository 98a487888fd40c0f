// The worker thread that owns the SQLite journal's connection: it runs each request of the main
// thread's sqliteJournal() synchronously, in order, and answers with the result or the error.
import { parentPort, workerData } from 'node:worker_threads';
import { openStore, type OwnerStore, type StoreMethod, type StoreOptions } from './sqlite-store';

export interface Request {
  id: number;
  method: StoreMethod;
  args: unknown[];
}

export type Reply = { id: number; result: unknown } | { id: number; error: { message: string; code: string | undefined } };

const port = parentPort;
if (port !== null) {
  const store = openStore(workerData as StoreOptions) as OwnerStore;
  port.on('message', ({ id, method, args }: Request) => {
    try {
      const result = (store[method] as (...a: unknown[]) => unknown)(...args);
      port.postMessage({ id, result } satisfies Reply);
    } catch (error) {
      const { message, code } = error as { message?: unknown; code?: unknown };
      port.postMessage({ id, error: { message: String(message), code: typeof code === 'string' ? code : undefined } } satisfies Reply);
    }
    if (method === 'close') port.close();
  });
}
