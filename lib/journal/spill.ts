// The spill: pushes answered while the journal cannot commit them (Postgres down or slower than the
// commit timeout, a full or locked SQLite file) are appended to a file on the instance's own disk and
// fsynced before their 200, then moved into the journal once it commits again, and delivered from
// there. Without it they were delivered from memory once, and a crash or a listener that failed
// meanwhile lost them for good.
//
// Each writer (one a journal, so two journals in one process are two writers) writes its own files,
// `<pid>-<token>-<n>.spill`, one JSON record a line, a new file past MAX_FILE_BYTES. A writer holds a
// lock for as long as it may write: a Unix socket `<token>.lock` it listens on. The kernel closes it
// when the process dies, however it dies, so "nobody answers on the lock" proves the writer gone,
// where a pid does not (every container is pid 1; two journals share one pid). Only files whose
// writer is gone, and the writer's own, are moved; a file is taken by renaming it, which one mover
// alone can do. And a writer checks after each fsync that its file is still where it wrote it: if
// anyone took it meanwhile, the records are written again to a fresh file before the 200, so a
// mistaken taker can cause a duplicate (which the journal's keys absorb), never a loss.
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, type Stats } from 'node:fs';
import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Appended, JournalRecord } from './journal';
import { codedError } from '../core/errors';

/** `<pid>-<token>-<n>.spill|moving`; files of the previous releases had no `-<n>`. */
const FILE = /^(\d+)-([0-9a-f]+)(?:-\d+)?\.(spill|moving)$/;
/** Records per journal commit when moving. */
const MOVE_BATCH = 500;
/** A writer starts a new file past this size: a move never has to take on one huge file. */
export const MAX_FILE_BYTES = 8 * 1024 * 1024;
/**
 * A Unix socket's path is at most 107 bytes on Linux (108 with its terminating zero). A longer folder
 * is reached through /proc/self/fd/<a descriptor of the folder>/, which the kernel resolves like any path.
 */
const MAX_SOCKET_PATH = 107;
const PROC_FD = '/proc/self/fd';

interface Line {
  record: Omit<JournalRecord, 'receivedAt' | 'raw'> & { receivedAt: string; raw?: string | null };
}

function serialize(record: JournalRecord): string {
  const line: Record<string, unknown> = { ...record, receivedAt: record.receivedAt.toISOString() };
  if (record.kind === 'invalid') line['raw'] = record.raw === null ? null : Buffer.from(record.raw).toString('base64');
  if (record.kind === 'notification') line['leased'] = false;
  return `${JSON.stringify(line)}\n`;
}

function deserialize(text: string): JournalRecord | undefined {
  try {
    const line = JSON.parse(text) as Line['record'];
    const receivedAt = new Date(line.receivedAt);
    if (line.kind === 'invalid') return { ...line, receivedAt, raw: typeof line.raw === 'string' ? Buffer.from(line.raw, 'base64') : null } as JournalRecord;
    return { ...line, receivedAt, leased: false } as JournalRecord;
  } catch {
    // The last line of a process killed while writing it: its push was never answered 200.
    return undefined;
  }
}

const errorCode = (error: unknown): unknown => (error as { code?: unknown }).code;
/** What connecting to a lock answers when its writer is gone. */
const GONE = new Set<unknown>(['ENOENT', 'ECONNREFUSED']);

/** Whether a writer answers on the lock at `path`: only a live process can. */
function held(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    // ENOENT: no lock at all (a file of a previous release, or a writer that closed); ECONNREFUSED:
    // the socket of a process that is gone. Anything else (EAGAIN from a writer too busy to accept,
    // EMFILE here) proves nothing: taken as held, the file waits for a later look.
    socket.once('error', (error) => resolve(!GONE.has(errorCode(error))));
  });
}

/** The same file: a path that still leads to the inode a handle writes to. */
const sameFile = (a: Stats, b: Stats): boolean => a.ino === b.ino && a.dev === b.dev;

export class Spill {
  readonly dir: string;
  readonly #token = randomBytes(6).toString('hex');
  #file: FileHandle | undefined;
  #name: string | undefined;
  #bytes = 0;
  #sequence = 0;
  #lock: Server | undefined;
  /** The lock's socket file as it was created: compared before each write (see #keepLock). */
  #lockFile: Stats | undefined;
  /** The folder, held open when its path is too long for a socket's (see #lockPath). */
  #folder: FileHandle | undefined;
  /** Records written and not yet moved: while there are, new ones go straight here (in order, and without waiting on a journal known to fail). */
  #held = 0;
  /** Files of other, ended writers may be waiting: checked at start, then after each failed move. */
  #leftovers = true;
  #queue: Promise<unknown> = Promise.resolve();
  /** Records written here, and moved into the journal, since start. */
  written = 0;
  moved = 0;

  constructor(dir: string) {
    this.dir = dir;
    if (!this.#short(this.#token) && !existsSync(PROC_FD)) {
      throw codedError('ERR_SPILL_PATH_TOO_LONG', `huawei-iot-upgrade-router: the spill folder's path is too long for its lock (a Unix socket path is at most ${MAX_SOCKET_PATH} bytes, and ${PROC_FD} is not there to shorten it): ${dir}`, { kind: TypeError });
    }
  }

  /** Whether records wait here for the journal. */
  get holding(): boolean {
    return this.#held > 0;
  }

  get hasWork(): boolean {
    return this.#held > 0 || this.#leftovers;
  }

  /** Appends `records` and fsyncs them: once this resolves they survive a crash. */
  write(records: readonly JournalRecord[]): Promise<void> {
    const text = records.map(serialize).join('');
    return this.#serial(async () => {
      // A file taken by another mover between the append and the check: write the records again,
      // to a fresh file. Twice in a row would take a mover that ignores the lock and races each write.
      for (let attempt = 0; ; attempt += 1) {
        const file = await this.#current();
        await file.appendFile(text);
        await file.datasync();
        this.#bytes += Buffer.byteLength(text);
        if (await this.#stillMine(file)) break;
        await this.#drop();
        if (attempt >= 2) throw codedError('ERR_SPILL_TAKEN', `the spill file in ${this.dir} was taken away three times in a row`);
      }
      if (this.#bytes >= MAX_FILE_BYTES) await this.#drop();
      this.#held += records.length;
      this.written += records.length;
    });
  }

  /**
   * Moves what waits here into the journal through `append`; a failure leaves the rest for the next
   * call. Resolves with how many records were moved.
   */
  move(append: (records: JournalRecord[]) => Promise<Appended[]>): Promise<number> {
    return this.#serial(async () => {
      let moved = 0;
      for (const path of await this.#claim()) moved += await this.#moveFile(path, append);
      this.#held = 0;
      this.moved += moved;
      return moved;
    });
  }

  async close(): Promise<void> {
    await this.#serial(async () => {
      await this.#drop();
      await this.#unlock();
    });
  }

  #short(token: string): boolean {
    return Buffer.byteLength(join(this.dir, `${token}.lock`)) <= MAX_SOCKET_PATH;
  }

  /** Where the lock of `token` is reached: its own path, or through a descriptor of the folder when that is too long. */
  async #lockPath(token: string): Promise<string> {
    if (this.#short(token)) return join(this.dir, `${token}.lock`);
    this.#folder ??= await open(this.dir, 'r');
    return `${PROC_FD}/${this.#folder.fd}/${token}.lock`;
  }

  /** The file being written, opened (with the lock taken first) when there is none. */
  async #current(): Promise<FileHandle> {
    if (this.#lock === undefined) {
      await mkdir(this.dir, { recursive: true });
      await this.#takeLock();
    } else {
      await this.#keepLock();
    }
    if (this.#file !== undefined) return this.#file;
    this.#name = `${process.pid}-${this.#token}-${(this.#sequence += 1)}.spill`;
    this.#file = await open(join(this.dir, this.#name), 'a');
    this.#bytes = 0;
    return this.#file;
  }

  async #stillMine(file: FileHandle): Promise<boolean> {
    if (this.#name === undefined) return false;
    try {
      return sameFile(await stat(join(this.dir, this.#name)), await file.stat());
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false;
      throw error;
    }
  }

  /** Closes the file being written: the next write opens a new one. */
  async #drop(): Promise<void> {
    const file = this.#file;
    this.#file = undefined;
    await file?.close();
  }

  async #takeLock(): Promise<void> {
    if (this.#lock !== undefined) return;
    const path = await this.#lockPath(this.#token);
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // The lock must not keep a process alive that has nothing else to do.
    server.unref();
    this.#lock = server;
    this.#lockFile = await stat(path);
  }

  /**
   * Listens again if the lock's socket file is no longer ours: removed by hand, or by a mover that
   * judged this writer gone. Without its lock every other mover would take each file it writes.
   */
  async #keepLock(): Promise<void> {
    const path = await this.#lockPath(this.#token);
    // Gone, or unreadable: listen again (which says what is wrong if it cannot).
    const now = await stat(path).catch(() => undefined);
    if (now !== undefined && this.#lockFile !== undefined && sameFile(now, this.#lockFile)) return;
    const server = this.#lock;
    this.#lock = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
    // Closing may have removed a socket file that is not ours (another writer's with our token cannot
    // exist: tokens are random), so the path is free either way.
    await unlink(path).catch(() => {});
    await this.#takeLock();
  }

  async #unlock(): Promise<void> {
    const server = this.#lock;
    this.#lock = undefined;
    // Closing a listening Unix socket removes its file.
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
    const folder = this.#folder;
    this.#folder = undefined;
    await folder?.close();
  }

  // Our own files, and every file whose writer is gone, are taken by renaming them. No write of ours
  // runs meanwhile (both go through #serial), so our own files are all closed here.
  async #claim(): Promise<string[]> {
    await this.#drop();
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') names = [];
      else throw error;
    }
    this.#leftovers = false;
    const taken: string[] = [];
    const gone = new Map<string, boolean>();
    for (const name of names.sort()) {
      const match = FILE.exec(name);
      if (match === null) continue;
      const token = match[2] as string;
      const mine = token === this.#token;
      if (!mine) {
        if (!gone.has(token)) gone.set(token, !(await held(await this.#lockPath(token))));
        if (gone.get(token) !== true) continue;
      }
      const target = mine ? name.replace(/\.spill$/, '.moving') : `${process.pid}-${this.#token}-${(this.#sequence += 1)}.moving`;
      try {
        if (target !== name) await rename(join(this.dir, name), join(this.dir, target));
        taken.push(join(this.dir, target));
      } catch (error) {
        // Taken by another mover first (or, for a file of ours, by one that misjudged this writer
        // gone: the write that checks it writes its records again).
        if (errorCode(error) !== 'ENOENT') throw error;
      }
    }
    // The sockets of writers that are gone stay behind them: removed once their files are taken.
    for (const [token, isGone] of gone) if (isGone) await unlink(join(this.dir, `${token}.lock`)).catch(() => {});
    return taken;
  }

  /** Moves one taken file, line by line, MOVE_BATCH records a commit; removes it once all are in. */
  async #moveFile(path: string, append: (records: JournalRecord[]) => Promise<Appended[]>): Promise<number> {
    let moved = 0;
    let batch: JournalRecord[] = [];
    /** The byte offset where the batch being gathered starts: on a failure, the file keeps what follows. */
    let batchStart = 0;
    let offset = 0;
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      try {
        await append(batch);
      } catch (error) {
        // What was moved is in the journal: keep only the rest (moving it twice is harmless for
        // notifications, whose keys make the second a duplicate, but doubles an invalid record).
        await this.#keepFrom(path, batchStart);
        this.#leftovers = true;
        throw error;
      }
      moved += batch.length;
      batch = [];
      batchStart = offset;
    };
    const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        offset += Buffer.byteLength(line) + 1;
        const record = line === '' ? undefined : deserialize(line);
        if (record !== undefined) batch.push(record);
        if (batch.length >= MOVE_BATCH) await flush();
      }
      await flush();
    } finally {
      lines.close();
    }
    await unlink(path);
    return moved;
  }

  /** Rewrites `path` with its bytes from `start` on, fsynced, in place of the whole. */
  async #keepFrom(path: string, start: number): Promise<void> {
    const file = await open(`${path}.tmp`, 'w');
    try {
      for await (const chunk of createReadStream(path, { start })) await file.write(chunk as Buffer);
      await file.datasync();
    } finally {
      await file.close();
    }
    await rename(`${path}.tmp`, path);
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(work);
    this.#queue = result.catch(() => {});
    return result;
  }
}
