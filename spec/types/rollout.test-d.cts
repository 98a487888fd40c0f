// Type tests for rollouts: what a wave's reach may be written as, what the plan holds, and what each
// rollout event's listener is given.
// Each line marked with the expect-error directive must NOT compile.
import { expectTypeOf } from 'expect-type';
import type { createUpgradeRouter } from 'huawei-iot-upgrade-router';
import { createPlatformClient } from 'huawei-iot-upgrade-router/platform';
import { createRollouts, planRollout, type PlannedWave, type RolloutPlan, type RolloutView, type WaveFigures } from 'huawei-iot-upgrade-router/rollout';

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

// Running rollouts: each event's listener gets its step's own fields.

declare const router: ReturnType<typeof createUpgradeRouter>;
const rollouts = createRollouts({ router, client: createPlatformClient({ url: 'https://x', appId: 'a', secret: 's' }) });
rollouts.on('gateBreached', (event) => {
  expectTypeOf(event.figures).toEqualTypeOf<WaveFigures>();
  expectTypeOf(event.why).toEqualTypeOf<string>();
  expectTypeOf(event.rolloutId).toEqualTypeOf<string>();
});
rollouts.on('taskCreated', (event) => expectTypeOf(event.operationId).toEqualTypeOf<string>());
rollouts.on('error', (error) => expectTypeOf(error).toEqualTypeOf<Error>());
expectTypeOf(rollouts.get('r')).toEqualTypeOf<Promise<RolloutView | undefined>>();
expectTypeOf(rollouts.retry('r', { reasons: ['Low battery.'] })).toEqualTypeOf<Promise<number>>();
// @ts-expect-error no such event
rollouts.on('waveExploded', () => {});
// @ts-expect-error a gate's rates are numbers
void rollouts.start({ fileId: 'f', devices: ['a'], gate: { maxFailureRate: '5%' } });
// @ts-expect-error unverified successes pass or fail
void rollouts.start({ fileId: 'f', devices: ['a'], gate: { unverified: 'maybe' } });
