// The 'huawei-iot-upgrade-router/postgres' subpath: the only module that loads pg.
export { postgresJournal } from './journal/postgres';
export type { PostgresJournalOptions } from './journal/postgres';
export type { Journal, JournalAdmin, JournalCounts, JournalEntry, ReplayOutcome } from './journal/journal';
