// Type tests for the journal, against the built package's CommonJS types. Each line marked
// with the expect-error directive must NOT compile.
import { expectTypeOf } from 'expect-type';
import { Pool } from 'pg';
import { createUpgradeRouter, type DeadLetter, type Delivered, type Journal, type JournalStats, type Outcome } from 'huawei-iot-upgrade-router';
import { inspectSqliteJournal, sqliteJournal, type JournalAdmin, type ReplayOutcome, type SqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
import { postgresJournal } from 'huawei-iot-upgrade-router/postgres';

const sqlite = sqliteJournal({ path: './data/upgrades.db', durability: 'full', retainDays: 30 });
expectTypeOf(sqlite).toEqualTypeOf<SqliteJournal>();
expectTypeOf(sqlite).toExtend<Journal>();
expectTypeOf(sqlite.settings.synchronous).toEqualTypeOf<'OFF' | 'NORMAL' | 'FULL' | 'EXTRA'>();
// @ts-expect-error durability is 'full' or 'normal'
sqliteJournal({ path: 'x.db', durability: 'fast' });
// @ts-expect-error path is required
sqliteJournal({});

expectTypeOf(postgresJournal({ connectionString: 'postgres://localhost/db', leaseMs: 60_000 })).toEqualTypeOf<Journal>();
postgresJournal({ pool: new Pool() });
postgresJournal();

const router = createUpgradeRouter({ journal: sqlite, delivery: { attempts: 8, backoffMs: 1000, maxBackoffMs: 300_000, concurrency: 100 }, onJournalError: 'refuse' });
// @ts-expect-error onJournalError is 'deliver' or 'refuse'
createUpgradeRouter({ journal: sqlite, onJournalError: 'ignore' });
// @ts-expect-error a delivery option misspelt
createUpgradeRouter({ journal: sqlite, delivery: { retries: 3 } });

router.on('upgradeResult', (_result, context) => {
  expectTypeOf(context.id).toEqualTypeOf<string | undefined>();
  expectTypeOf(context.attempt).toEqualTypeOf<number | undefined>();
});
router.on('deadLetter', (notification, dead) => {
  expectTypeOf(notification).toEqualTypeOf<Delivered>();
  expectTypeOf(dead).toEqualTypeOf<DeadLetter>();
  expectTypeOf(dead.id).toEqualTypeOf<string>();
  expectTypeOf(dead.attempts).toEqualTypeOf<number>();
  expectTypeOf(dead.error).toEqualTypeOf<Error>();
});
// @ts-expect-error deadLetter's listener gets the notification and the letter, not a rejection
router.on('deadLetter', (rejection: { reason: string }) => rejection);

expectTypeOf(router.stats().journal).toEqualTypeOf<JournalStats | undefined>();
expectTypeOf(router.close.bind(router)).toEqualTypeOf<(timeoutMs?: number) => Promise<void>>();
expectTypeOf(router.receive({})).toEqualTypeOf<Outcome>();

// Issue 18: the new delivery options, the spill, the operator's access, replay outcomes.
createUpgradeRouter({ journal: sqlite, delivery: { timeoutMs: 300_000, reviveDead: true }, dedupe: { ttl: 15 * 60_000 } });
// @ts-expect-error reviveDead is a boolean
createUpgradeRouter({ journal: sqlite, delivery: { reviveDead: 'yes' } });
sqliteJournal({ path: 'x.db', spill: false });
postgresJournal({ connectionString: 'postgres://localhost/db', spill: '/var/lib/receiver/spill' });
// @ts-expect-error spill is a folder or false
postgresJournal({ spill: true });
const admin: JournalAdmin = inspectSqliteJournal({ path: './data/upgrades.db' });
expectTypeOf(admin.replay('42')).toEqualTypeOf<Promise<ReplayOutcome>>();
expectTypeOf<ReplayOutcome>().toEqualTypeOf<'replayed' | 'missing' | 'delivering' | 'invalid' | 'not-replayable'>();
// @ts-expect-error the operator's view cannot claim deliveries
void admin.claim;
expectTypeOf(router.stats().journal?.pendingByEvent).toEqualTypeOf<Record<string, number> | undefined>();
expectTypeOf(router.stats().journal?.spilled).toEqualTypeOf<number | undefined>();
