// `huawei-iot-upgrade-router journal …`: what an operator needs at 3 a.m. — how much is pending or
// dead, what failed and why, and a way to deliver it again once the cause is fixed. It may run beside
// the receiver: it never takes over a delivery in progress.
import { parseArgs } from 'node:util';
import type { JournalAdmin, JournalEntry, ReplayOutcome } from '../journal/journal';
import { revalidate } from '../core/revalidate';
import { notificationTable } from '../core/notification-types';
import { UsageError } from './usage';
import { codedError } from '../core/errors';

export const journalHelp = `Usage: huawei-iot-upgrade-router journal (--db FILE | --postgres URL) COMMAND

Reads and repairs the durable journal of a receiver; the receiver may be running.

Commands:
  stats [--task ID]          pending (by event), retrying, dead and invalid entries; age of the oldest pending one;
                             with --task, one task's entries (by operationId) counted by state
  dead                       the dead entries, one per line: id, notifyType, deviceId, attempts, last error
  invalid                    the invalid pushes kept: id, notifyType, deviceId, reason, message
  pending                    the pending entries: id, event, deviceId, attempts, delivering or waiting
  show ID                    one entry whole: state, attempts, last error, body, bytes received
  replay ID                  delivers entry ID again: a dead or pending one (refused while it is being
                             delivered); an invalid one once its body passes the schemas (on your word:
                             a push refused by allow, say); a delivered one with --again
  replay --dead              delivers every dead entry again
  discard EVENT              drops the pending entries of EVENT (upgradeState, ...) that nothing will
                             ever listen to; they are kept as discarded until pruned

Options:
  --db FILE                  a SQLite journal (sqliteJournal({ path: FILE })); the file must exist
  --postgres URL             a Postgres journal (default: $DATABASE_URL when --db is not given)
  --limit N                  at most N lines for dead, invalid and pending (default 100)
  --again                    with replay ID: a delivered (done) entry too, after restoring your own data
  -h, --help                 this text

Text that came from devices is printed with control characters escaped.
`;

// The peers are loaded only here, for the store asked for: neither is needed for the other.
export async function openJournalAdmin({ db, postgres }: { db?: string | undefined; postgres?: string | undefined }): Promise<JournalAdmin> {
  if (db !== undefined && postgres !== undefined) throw new UsageError('give --db or --postgres, not both');
  // An empty DATABASE_URL is an unset one.
  const url = postgres ?? (db === undefined ? process.env['DATABASE_URL'] || undefined : undefined);
  if (db === undefined && url === undefined) throw new UsageError('which journal? --db FILE or --postgres URL');
  let module: typeof import('../sqlite.js') | typeof import('../postgres.js');
  try {
    module = db !== undefined ? await import('../sqlite.js') : await import('../postgres.js');
  } catch (error) {
    const peer = db === undefined ? 'pg' : 'better-sqlite3';
    if ((error as { code?: unknown }).code === 'MODULE_NOT_FOUND') throw codedError('ERR_PEER_MISSING', `the journal needs ${peer}: npm install ${peer}`, { cause: error });
    throw error;
  }
  if (db !== undefined) {
    try {
      return (module as typeof import('../sqlite.js')).inspectSqliteJournal({ path: db });
    } catch (error) {
      // An operator's typo must not look like an empty journal, all clear.
      if ((error as { code?: unknown }).code === 'SQLITE_CANTOPEN') throw codedError('ERR_JOURNAL_MISSING', `no journal at ${db}: the file does not exist or cannot be opened`, { cause: error });
      throw error;
    }
  }
  return (module as typeof import('../postgres.js')).postgresJournal({ connectionString: url, spill: false });
}

/**
 * Device-supplied text with its control characters escaped: a push carrying terminal escape
 * sequences must not rewrite the operator's screen.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (char) => {
    const code = char.charCodeAt(0);
    return code === 0x0a ? '\\n' : code === 0x09 ? '\\t' : code === 0x0d ? '\\r' : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

const line = (fields: Array<string | number | null>): string => fields.map((field) => (field === null || field === '' ? '-' : printable(String(field)))).join('\t');

const deadLine = (entry: JournalEntry): string => line([entry.id, entry.notifyType, entry.deviceId, `${entry.attempts} attempts`, entry.lastError]);
const invalidLine = (entry: JournalEntry): string => line([entry.id, entry.notifyType, entry.deviceId, entry.reason, entry.message]);
const pendingLine = (entry: JournalEntry): string =>
  line([entry.id, entry.event, entry.deviceId, `${entry.attempts} attempts`, entry.delivering ? 'delivering' : entry.attempts > 0 ? `waiting (${entry.lastError ?? 'retry'})` : 'waiting']);

function showEntry(entry: JournalEntry): string[] {
  const lines = [
    `id\t${entry.id}`,
    `state\t${entry.state}${entry.delivering ? ' (being delivered now)' : ''}`,
    `received\t${entry.receivedAt.toISOString()}`,
    `notifyType\t${printable(entry.notifyType ?? '-')}`,
    `deviceId\t${printable(entry.deviceId ?? '-')}`,
  ];
  if (entry.event !== null) lines.push(`event\t${entry.event}`);
  lines.push(`attempts\t${entry.attempts}`);
  if (entry.lastError !== null) lines.push(`last error\t${printable(entry.lastError)}`);
  if (entry.reason !== null) lines.push(`reason\t${entry.reason}`, `message\t${printable(entry.message ?? '')}`);
  if (entry.body !== null) lines.push(`body\t${printable(entry.body)}`);
  if (entry.raw !== undefined && entry.raw !== null) {
    lines.push(`bytes received\t${entry.raw.length}`, `as text\t${printable(entry.raw.toString('utf8'))}`, `as base64\t${entry.raw.toString('base64')}`);
  }
  return lines;
}

const refusals: Record<Exclude<ReplayOutcome, 'replayed'>, string> = {
  missing: 'there is no entry',
  delivering: 'it is being delivered now (its lease is live); replaying it would start a second delivery. Try again once it ends',
  invalid: 'it is invalid',
  'not-replayable': 'it was delivered already: add --again to deliver it once more',
};

const subcommands = ['stats', 'dead', 'invalid', 'pending', 'show', 'replay', 'discard'] as const;
type Subcommand = (typeof subcommands)[number];

const isSubcommand = (name: string | undefined): name is Subcommand => subcommands.some((known) => known === name);
const events: readonly string[] = Object.values(notificationTable).map((entry) => entry.event);

function fail(message: string): number {
  console.error(`huawei-iot-upgrade-router: ${message}`);
  return 1;
}

async function replayInvalid(journal: JournalAdmin, entry: JournalEntry): Promise<number> {
  const body = entry.body ?? entry.raw;
  if (body === null || body === undefined) return fail(`entry ${entry.id} is invalid and kept no body to check again`);
  const checked = revalidate(body);
  if (!checked.ok) return fail(`entry ${entry.id} is invalid (${entry.reason ?? '?'}) and is still not a valid push: ${printable(checked.why)}`);
  const outcome = await journal.reviveInvalid(entry.id, checked.notification);
  if (typeof outcome === 'object') return fail(`entry ${entry.id} is the same push as entry ${outcome.duplicateOf}, journaled already: nothing to replay`);
  if (outcome !== 'replayed') return fail(`entry ${entry.id}: ${refusals[outcome]}`);
  console.log(`replayed ${entry.id}: a valid ${checked.notification.notifyType} now, delivered to '${checked.notification.event}' listeners`);
  return 0;
}

type Values = { dead?: boolean | undefined; again?: boolean | undefined; task?: string | undefined; limit: number };

async function run(journal: JournalAdmin, command: Subcommand, args: string[], values: Values): Promise<number> {
  const one = (what: string): string => {
    const [id] = args;
    if (id === undefined || args.length > 1) throw new UsageError(`${command} takes one ${what}`);
    return id;
  };
  switch (command) {
    case 'stats': {
      if (values.task !== undefined) {
        const counts = await journal.taskCounts(values.task);
        for (const state of ['pending', 'done', 'dead', 'invalid', 'discarded'] as const) console.log(`${state}\t${counts[state] ?? 0}`);
        return 0;
      }
      const counts = await journal.counts();
      for (const key of ['pending', 'retrying', 'dead', 'invalid'] as const) console.log(`${key}\t${counts[key]}`);
      for (const [event, n] of Object.entries(counts.pendingByEvent)) console.log(`pending ${event}\t${n}`);
      console.log(`oldest pending\t${counts.oldestPendingSeconds.toFixed(1)} s`);
      return 0;
    }
    case 'dead':
    case 'invalid':
    case 'pending': {
      const format = command === 'dead' ? deadLine : command === 'invalid' ? invalidLine : pendingLine;
      for (const entry of await journal.list(command, values.limit)) console.log(format(entry));
      return 0;
    }
    case 'show': {
      const id = one('entry ID');
      const entry = await journal.get(id);
      if (entry === undefined) return fail(`no entry ${printable(JSON.stringify(id))}`);
      for (const text of showEntry(entry)) console.log(text);
      return 0;
    }
    case 'discard': {
      const event = one(`event (${events.join(', ')})`);
      if (!events.includes(event)) throw new UsageError(`discard takes an event: ${events.join(', ')} (got ${printable(JSON.stringify(event))})`);
      console.log(`discarded ${await journal.discard(event)} pending '${event}' entries`);
      return 0;
    }
    case 'replay': {
      if (values.dead === true) {
        if (args.length > 0) throw new UsageError('replay takes an ID or --dead, not both');
        console.log(`replayed ${await journal.replayDead()} dead entries`);
        return 0;
      }
      const id = one('entry ID (or --dead)');
      const entry = await journal.get(id);
      if (entry?.state === 'invalid') return replayInvalid(journal, entry);
      const outcome = await journal.replay(id, values.again === true);
      if (outcome !== 'replayed') return fail(`cannot replay ${printable(JSON.stringify(id))}: ${refusals[outcome]}`);
      console.log(`replayed ${id}${entry === undefined ? '' : ` (attempt ${entry.attempts + 1} next)`}`);
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
      again: { type: 'boolean' },
      task: { type: 'string' },
      limit: { type: 'string' },
    },
  });
  const limit = Number(values.limit ?? 100);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a whole number of at least 1');
  const [command, ...args] = positionals;
  if (!isSubcommand(command)) throw new UsageError(`journal needs a command: ${subcommands.join(', ')}${command === undefined ? '' : ` (got ${printable(JSON.stringify(command))})`}`);
  const store = await openJournalAdmin(values);
  try {
    return await run(store, command, args, { ...values, limit });
  } finally {
    await store.close();
  }
}
