export { redisDedupeStore } from './dedupe/redis';
export type { RedisDedupeStore, RedisDedupeStoreOptions } from './dedupe/redis';
