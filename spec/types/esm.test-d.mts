// The same package seen through the `import` condition (dist/index.d.mts): the names and types match.
import { expectTypeOf } from 'expect-type';
import { createUpgradeRouter, schemas, type SwUpgradeResultNotify, type UpgradeRouter } from 'huawei-iot-upgrade-router';
import type * as Cjs from './cjs-view.cjs';

const upgrades = createUpgradeRouter();
expectTypeOf(upgrades).toEqualTypeOf<UpgradeRouter>();
expectTypeOf(upgrades).toEqualTypeOf<Cjs.UpgradeRouter>();
upgrades.on('upgradeResult', (result) => expectTypeOf(result).toEqualTypeOf<SwUpgradeResultNotify>());
// @ts-expect-error an unknown event name is a compile error here too
upgrades.on('upgradeResults', () => {});
expectTypeOf(schemas).toEqualTypeOf<typeof Cjs.schemas>();

// The Redis subpath through its `import` condition.
import { redisDedupeStore, type RedisDedupeStoreOptions } from 'huawei-iot-upgrade-router/redis';
expectTypeOf(redisDedupeStore).parameter(0).toEqualTypeOf<RedisDedupeStoreOptions | undefined>();
createUpgradeRouter({ dedupe: { store: redisDedupeStore() } });
