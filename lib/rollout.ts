// The 'huawei-iot-upgrade-router/rollout' subpath: running an upgrade in waves, with a canary, gates
// that halt a bad firmware, operator requests and retries, kept in the router's journal.
export { MAX_TASK_DEVICES, planRollout } from './rollout/plan';
export type { PlannedWave, RolloutPlan, RolloutPlanOptions, WaveReach } from './rollout/plan';
export { createRollouts } from './rollout/rollouts';
export type { Rollouts, RolloutsOptions } from './rollout/rollouts';
export type { GateOptions, RolloutOptions, RolloutSpec } from './rollout/options';
export type { RolloutState, RolloutStatus, RolloutView, TaskState, TimelineEntry, WaveState, WaveStatus } from './rollout/state';
export type { FailureReason, Step, StepKind, WaveFigures } from './rollout/steps';
export type { RolloutEvent, RolloutEvents } from './rollout/events';
export type { RetrySelection, RolloutAction } from './rollout/requests';
export { ROLLOUT_ACTIONS } from './rollout/requests';
