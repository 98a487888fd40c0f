// Type tests for the journal (issue 10), against the built package's CommonJS types. Each line marked
// with the expect-error directive must NOT compile.
import { expectTypeOf } from 'expect-type';
import { Pool } from 'pg';
import { createUpgradeRouter, type DeadLetter, type Journal, type JournalStats, type Notification, type Outcome } from 'huawei-iot-upgrade-router';
import { sqliteJournal, type SqliteJournal } from 'huawei-iot-upgrade-router/sqlite';
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
  expectTypeOf(notification).toEqualTypeOf<Notification>();
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
