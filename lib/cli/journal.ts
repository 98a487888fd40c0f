// `huawei-iot-upgrade-router journal …`: what an operator needs at 3 a.m. — how much is pending or
// dead, what failed and why, and a way to deliver it again once the cause is fixed.
import { parseArgs } from 'node:util';
import type { Journal, JournalEntry } from '../journal/journal';
import { UsageError } from './usage';

export const journalHelp = `Usage: huawei-iot-upgrade-router journal (--db FILE | --postgres URL) COMMAND

Reads and repairs the durable journal of a receiver (it may be running).

Commands:
  stats                      pending, retrying, dead and invalid entries; age of the oldest pending one
  dead                       the dead entries, one per line: id, notifyType, deviceId, attempts, last error
  invalid                    the invalid pushes kept: id, notifyType, deviceId, reason, message
  replay ID                  delivers entry ID again (a dead one, with its attempts reset)
  replay --dead              delivers every dead entry again

Options:
  --db FILE                  a SQLite journal (sqliteJournal({ path: FILE }))
  --postgres URL             a Postgres journal (default: $DATABASE_URL when --db is not given)
  --limit N                  at most N lines for dead and invalid (default 100)
  -h, --help                 this text
`;

// The peers are loaded only here, for the store asked for: neither is needed for the other.
async function open({ db, postgres }: { db?: string | undefined; postgres?: string | undefined }): Promise<Journal> {
  if (db !== undefined && postgres !== undefined) throw new UsageError('give --db or --postgres, not both');
  // An empty DATABASE_URL is an unset one.
  const url = postgres ?? (db === undefined ? process.env['DATABASE_URL'] || undefined : undefined);
  if (db === undefined && url === undefined) throw new UsageError('which journal? --db FILE or --postgres URL');
  try {
    if (db !== undefined) return (await import('../sqlite.js')).sqliteJournal({ path: db });
    return (await import('../postgres.js')).postgresJournal({ connectionString: url });
  } catch (error) {
    const peer = db === undefined ? 'pg' : 'better-sqlite3';
    if ((error as { code?: unknown }).code === 'MODULE_NOT_FOUND') throw new Error(`the journal needs ${peer}: npm install ${peer}`, { cause: error });
    throw error;
  }
}

const line = (fields: Array<string | number | null>): string => fields.map((field) => (field === null || field === '' ? '-' : String(field).replace(/\s+/g, ' '))).join('\t');

const deadLine = (entry: JournalEntry): string => line([entry.id, entry.notifyType, entry.deviceId, `${entry.attempts} attempts`, entry.lastError]);
const invalidLine = (entry: JournalEntry): string => line([entry.id, entry.notifyType, entry.deviceId, entry.reason, entry.message]);

const subcommands = ['stats', 'dead', 'invalid', 'replay'] as const;
type Subcommand = (typeof subcommands)[number];

const isSubcommand = (name: string | undefined): name is Subcommand => subcommands.some((known) => known === name);

async function run(journal: Journal, command: Subcommand, args: string[], values: { dead?: boolean | undefined; limit: number }): Promise<number> {
  switch (command) {
    case 'stats': {
      const counts = await journal.counts();
      for (const key of ['pending', 'retrying', 'dead', 'invalid'] as const) console.log(`${key}\t${counts[key]}`);
      console.log(`oldest pending\t${counts.oldestPendingSeconds.toFixed(1)} s`);
      return 0;
    }
    case 'dead':
    case 'invalid':
      for (const entry of await journal.list(command, values.limit)) console.log(command === 'dead' ? deadLine(entry) : invalidLine(entry));
      return 0;
    case 'replay': {
      if (values.dead === true) {
        if (args.length > 0) throw new UsageError('replay takes an ID or --dead, not both');
        console.log(`replayed ${await journal.replayDead()} dead entries`);
        return 0;
      }
      const [id] = args;
      if (id === undefined || args.length > 1) throw new UsageError('replay takes one entry ID (or --dead)');
      if (!(await journal.replay(id))) {
        console.error(`huawei-iot-upgrade-router: no dead or pending entry ${JSON.stringify(id)}`);
        return 1;
      }
      console.log(`replayed ${id}`);
      return 0;
    }
  }
}

export async function journal(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      db: { type: 'string' },
      postgres: { type: 'string' },
      dead: { type: 'boolean' },
      limit: { type: 'string' },
    },
  });
  const limit = Number(values.limit ?? 100);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a whole number of at least 1');
  const [command, ...args] = positionals;
  if (!isSubcommand(command)) throw new UsageError(`journal needs a command: ${subcommands.join(', ')}${command === undefined ? '' : ` (got ${JSON.stringify(command)})`}`);
  const store = await open(values);
  try {
    return await run(store, command, args, { ...values, limit });
  } finally {
    await store.close();
  }
}
