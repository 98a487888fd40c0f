// The spill (issue 18, item 4): pushes answered while the journal cannot commit them (Postgres down
// or slower than the commit timeout, a full or locked SQLite file) are appended to a file on the
// instance's own disk and fsynced before their 200, then moved into the journal once it commits
// again, and delivered from there. Without it they were delivered from memory once, and a crash or a
// listener that failed meanwhile lost them for good.
//
// Each process writes its own file, `<pid>-<token>.spill`, one JSON record a line. Moving renames a
// file to `.moving` first, so that the records written after go to a fresh file. At start, and while
// it runs, a process also moves the files of processes that are gone (killed during an outage): a
// file is taken by renaming it, which only one process can do.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Appended, JournalRecord } from './journal';

const FILE = /^(\d+)-([0-9a-f]+)(?:-\d+)?\.(spill|moving)$/;
/** Records per journal commit when moving. */
const MOVE_BATCH = 500;

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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code === 'EPERM';
  }
}

export class Spill {
  readonly dir: string;
  readonly #token = randomBytes(6).toString('hex');
  #file: FileHandle | undefined;
  #name: string | undefined;
  #sequence = 0;
  /** Records written and not yet moved: while there are, new ones go straight here (in order, and without waiting on a journal known to fail). */
  #held = 0;
  /** Files of other, ended processes may be waiting: checked at start, then after each failed move. */
  #leftovers = true;
  #queue: Promise<unknown> = Promise.resolve();
  /** Records written here, and moved into the journal, since start. */
  written = 0;
  moved = 0;

  constructor(dir: string) {
    this.dir = dir;
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
    return this.#serial(async () => {
      if (this.#file === undefined) {
        await mkdir(this.dir, { recursive: true });
        this.#name = `${process.pid}-${this.#token}-${(this.#sequence += 1)}.spill`;
        this.#file = await open(join(this.dir, this.#name), 'a');
      }
      await this.#file.appendFile(records.map(serialize).join(''));
      await this.#file.datasync();
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
      for (const path of await this.#claim()) {
        const records = (await readFile(path, 'utf8'))
          .split('\n')
          .filter((line) => line !== '')
          .map(deserialize)
          .filter((record): record is JournalRecord => record !== undefined);
        for (let i = 0; i < records.length; i += MOVE_BATCH) {
          try {
            await append(records.slice(i, i + MOVE_BATCH));
          } catch (error) {
            // What was moved is in the journal: keep only the rest (moving it twice is harmless for
            // notifications, whose keys make the second a duplicate, but doubles an invalid record).
            await this.#rewrite(path, records.slice(i));
            this.#leftovers = true;
            throw error;
          }
        }
        await unlink(path);
        moved += records.length;
      }
      this.#held = 0;
      this.moved += moved;
      return moved;
    });
  }

  async close(): Promise<void> {
    await this.#serial(async () => {
      await this.#file?.close();
      this.#file = undefined;
    });
  }

  // Our own file is set aside, then every file whose writer is gone is taken by renaming it.
  async #claim(): Promise<string[]> {
    if (this.#file !== undefined && this.#name !== undefined) {
      await this.#file.close();
      this.#file = undefined;
      await rename(join(this.dir, this.#name), join(this.dir, this.#name.replace(/\.spill$/, '.moving')));
    }
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') names = [];
      else throw error;
    }
    this.#leftovers = false;
    const taken: string[] = [];
    for (const name of names.sort()) {
      const match = FILE.exec(name);
      if (match === null) continue;
      const pid = Number(match[1]);
      const mine = match[2] === this.#token;
      // Same pid, other token: this process's previous life (pid 1 in a container, say).
      if (!mine && pid !== process.pid && alive(pid)) continue;
      const target = mine ? name : `${process.pid}-${this.#token}-${(this.#sequence += 1)}.moving`;
      try {
        if (!mine) await rename(join(this.dir, name), join(this.dir, target));
        taken.push(join(this.dir, target));
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
      }
    }
    return taken;
  }

  async #rewrite(path: string, records: readonly JournalRecord[]): Promise<void> {
    const file = await open(`${path}.tmp`, 'w');
    try {
      await file.writeFile(records.map(serialize).join(''));
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
