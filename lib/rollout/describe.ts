// A rollout as an operator reads it, for the `rollout status` command: where it stands, and why;
// each wave with its gate's figures; the tasks still running on the platform.
import type { RolloutStore } from '../journal/journal';
import { counted, figuresOf, outcomeOf, percent, type DeviceOutcome } from './outcomes';
import { runningTasks } from './requests';
import { figuresOfWave, type RolloutView, type WaveState } from './state';
import type { WaveFigures } from './steps';


/**
 * The wave under way's figures as the journal has them now, for a reader that does not drive the
 * rollout: a reconciled success is not checked against its device here (the driver does that), so it
 * counts as unverified until the driver's gate decides.
 */
export async function journalFigures(store: RolloutStore, view: RolloutView): Promise<WaveFigures | undefined> {
  const wave = view.current;
  if (wave === undefined || view.package === undefined) return undefined;
  const outcomes = new Map<string, DeviceOutcome>();
  for (const task of wave.tasks) {
    if (task.operationId === undefined) continue;
    for (const row of await store.finalResultBodies(task.operationId)) {
      const outcome = outcomeOf(row, view.package.version);
      if (outcome !== undefined) outcomes.set(outcome.deviceId, outcome);
    }
  }
  return figuresOf(wave.devices, outcomes, new Set(), view.spec.gate);
}

function figuresLine(figures: WaveFigures): string {
  return `succeeded ${figures.succeeded}, unverified ${figures.unverified}, failed ${figures.failed}, timed out ${figures.timedOut}, pending ${figures.pending}; failure rate ${percent(figures.failureRate)}, success rate ${percent(figures.successRate)}`;
}

function waveLines(view: RolloutView, wave: WaveState): string[] {
  const name = wave.kind === 'retry' ? `wave ${wave.number} (retry)` : wave.number === 1 ? 'wave 1 (canary)' : `wave ${wave.number}`;
  const created = wave.tasks.filter((task) => task.operationId !== undefined).length;
  const tasks = wave.status === 'planned' || wave.status === 'awaiting-approval' ? counted(wave.tasks.length, 'task') : `${created} of ${counted(wave.tasks.length, 'task')} created`;
  const lines = [`  ${name}: ${wave.status}, ${counted(wave.devices.length, 'device')}, ${tasks}`];
  const figures = figuresOfWave(view, wave);
  if (figures !== undefined) {
    lines.push(`    ${figuresLine(figures)}`);
    for (const reason of figures.reasons) lines.push(`    ${reason.devices} failed: ${reason.reason}${reason.code === undefined ? '' : ` (errorCode ${reason.code})`}`);
  }
  if (wave.why !== undefined) lines.push(`    ${wave.why}`);
  return lines;
}

export function describeRollout(view: RolloutView): string {
  const lines = [`rollout ${view.id}: ${view.status}`];
  if (view.halt !== undefined) lines.push(`  halted at wave ${view.halt.wave}: ${view.halt.why}`);
  const awaiting = view.waves.find((wave) => wave.status === 'awaiting-approval' && !wave.approved);
  if (awaiting !== undefined) lines.push(`  wave ${awaiting.number} waits for approval: rollout approve ${view.id}`);
  const version = view.package === undefined ? '' : ` (version ${view.package.version})`;
  lines.push(`  package ${view.spec.fileId}${version}, ${counted(view.spec.devices.length, 'device')}, ${counted(view.waves.length, 'wave')}`);
  for (const wave of view.waves) lines.push(...waveLines(view, wave));
  const running = runningTasks(view);
  const left = (view.halt?.running ?? (view.status === 'aborted' ? running : [])).filter((operationId) => !view.stopped.includes(operationId));
  if (view.stopped.length > 0) lines.push(`  stopped on the platform: ${view.stopped.join(', ')}`);
  const how = view.platform !== 'iotda' ? ' (this API cannot stop a task)' : view.toStop.length > 0 ? ' (being stopped)' : '';
  if (left.length > 0) lines.push(`  still running on the platform${how}: ${left.join(', ')}`);
  return lines.join('\n');
}
