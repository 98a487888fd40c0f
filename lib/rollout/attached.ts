// What rollouts offer the capabilities beside them on a router (the dashboard), under their key.
import { capabilityKey } from '../router/extension';
import type { RolloutAction } from './requests';
import type { RolloutView } from './state';

export interface AttachedRollouts {
  get(id: string): Promise<RolloutView | undefined>;
  list(): Promise<RolloutView[]>;
  request(id: string, action: RolloutAction, data?: unknown): Promise<number>;
}

export const ROLLOUTS = capabilityKey<AttachedRollouts>('rollouts');
