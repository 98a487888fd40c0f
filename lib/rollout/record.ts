// Recording a new rollout in the journal: its options checked, its plan made (a plan that cannot run
// is refused before anything is written), its settings kept as JSON. The API and the command share it.
import { randomUUID } from 'node:crypto';
import { codedError } from '../core/errors';
import type { RolloutStore } from '../journal/journal';
import { rolloutSpecOf, type RolloutOptions, type RolloutSpec } from './options';
import { planRollout } from './plan';

export async function recordRollout(store: RolloutStore, options: RolloutOptions): Promise<RolloutSpec> {
  const spec = rolloutSpecOf(options, () => `rollout-${randomUUID().slice(0, 8)}`);
  planRollout({ fileId: spec.fileId, devices: spec.devices, ...spec.plan });
  if (!(await store.createRollout(spec.id, JSON.stringify(spec), new Date()))) throw codedError('ERR_ROLLOUT_EXISTS', `a rollout named ${spec.id} exists already: give another id`);
  return spec;
}

/** Records an operator's request; its number. */
export async function requestRollout(store: RolloutStore, id: string, action: string, data: unknown = {}): Promise<number> {
  const request = await store.requestRollout(id, action, JSON.stringify(data), new Date());
  if (request === undefined) throw codedError('ERR_ROLLOUT_NOT_FOUND', `no rollout named ${id}`);
  return request;
}
