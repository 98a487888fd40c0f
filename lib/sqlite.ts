// The 'huawei-iot-upgrade-router/sqlite' subpath: the only module that loads better-sqlite3.
export { sqliteJournal } from './journal/sqlite';
export type { SqliteJournal, SqliteJournalOptions } from './journal/sqlite';
export type { Journal, JournalCounts, JournalEntry } from './journal/journal';
