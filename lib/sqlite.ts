// The 'huawei-iot-upgrade-router/sqlite' subpath: the only module that loads better-sqlite3.
export { inspectSqliteJournal, sqliteJournal } from './journal/sqlite';
export type { SqliteJournal, SqliteJournalOptions } from './journal/sqlite';
export type { Journal, JournalAdmin, JournalCounts, JournalEntry, ReplayOutcome } from './journal/journal';
