// The names of the rollouts' tables, shared by both stores' migrations and statements.
import { TABLE } from './rows';

export const ROLLOUTS = `${TABLE}_rollouts`;
export const ROLLOUT_STEPS = `${TABLE}_rollout_steps`;
export const ROLLOUT_REQUESTS = `${TABLE}_rollout_requests`;
