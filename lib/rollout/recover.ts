// The legacy API: creating a platform task is not idempotent, and the platform takes no name or token to tell a
// repeat: a driver killed between its create call and the step that records the answer cannot know
// whether the task exists. It looks: a task of the same kind, created since the call was about to
// be made, with exactly the same devices, is the one it created.
import type { PlatformClient } from '../platform/client';
import { parsePlatformTime, type OperateType } from '../platform/contract';

/** Clocks differ: a task created this long before the step was written still counts. */
const SKEW_MS = 10 * 60_000;

/** The operationId of the task created for `devices` since `sinceMs`, if the platform has one. */
export async function findCreated(client: PlatformClient, operateType: OperateType, devices: readonly string[], sinceMs: number): Promise<string | undefined> {
  const [first] = devices;
  if (first === undefined) return undefined;
  const wanted = new Set(devices);
  // Only tasks the first device took part in: a page or two, not the application's whole history.
  for await (const task of client.tasks({ deviceId: first, operationType: operateType })) {
    const created = parsePlatformTime(task.createTime);
    if (created !== undefined && created < sinceMs - SKEW_MS) continue;
    const targets = 'devices' in task.targets ? task.targets.devices : [];
    if (targets.length === wanted.size && targets.every((deviceId) => wanted.has(deviceId))) return task.operationId;
  }
  return undefined;
}
