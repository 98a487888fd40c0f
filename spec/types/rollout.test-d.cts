// Type tests for the rollout plan: what a wave's reach may be written as, and what the plan holds.
// Each line marked with the expect-error directive must NOT compile.
import { expectTypeOf } from 'expect-type';
import { planRollout, type PlannedWave, type RolloutPlan } from 'huawei-iot-upgrade-router/rollout';

const plan = planRollout({ fileId: 'f', devices: ['a', 'b'], waves: [1, '50%', { share: 1 }, { count: 2 }], order: 'given' });
expectTypeOf(plan).toEqualTypeOf<RolloutPlan>();
expectTypeOf(plan.waves).toEqualTypeOf<PlannedWave[]>();
expectTypeOf(plan.waves[0]?.tasks).toEqualTypeOf<string[][] | undefined>();
// @ts-expect-error a share is written with a percent sign
planRollout({ fileId: 'f', devices: ['a'], waves: ['50'] });
// @ts-expect-error the order is a seed or 'given'
planRollout({ fileId: 'f', devices: ['a'], order: 'random' });
// @ts-expect-error fileId is required
planRollout({ devices: ['a'] });
