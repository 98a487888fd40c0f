// The 'huawei-iot-upgrade-router/rollout' subpath: running an upgrade in waves. So far, the plan:
// which devices go in which wave and platform task, and what it costs, computed without a call.
export { MAX_TASK_DEVICES, planRollout } from './rollout/plan';
export type { PlannedWave, RolloutPlan, RolloutPlanOptions, WaveReach } from './rollout/plan';
