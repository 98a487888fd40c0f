// A rollout's state: its plan's waves and the retry waves added since, each as far as its steps took
// it. Pure: the driver, the status command and the dashboard fold the same steps the same way.
import type { RolloutRecord } from '../journal/journal';
import type { OperateType } from '../platform/contract';
import { planRollout } from './plan';
import type { RolloutSpec } from './options';
import type { Step, WaveFigures } from './steps';

export type WaveStatus = 'planned' | 'awaiting-approval' | 'sending' | 'sent' | 'passed' | 'breached';

export interface TaskState {
  /** Its place in the wave, from 0. */
  task: number;
  devices: string[];
  /** The platform's ID of the task: its operationId (legacy) or task_id (IoTDA). */
  operationId?: string;
  /** Found on the platform after a crash, not created a second time. */
  recovered?: boolean;
  /** A create was sent (or about to be) with no answer recorded: looked for before it is sent again. */
  sendingSince?: number;
  refused?: string;
}

export interface WaveState {
  number: number;
  /** A wave of the plan, or failed devices tried again. */
  kind: 'plan' | 'retry';
  devices: string[];
  tasks: TaskState[];
  status: WaveStatus;
  approved: boolean;
  startedMs?: number;
  sentMs?: number;
  figures?: WaveFigures;
  why?: string;
}

export type RolloutStatus = 'running' | 'awaiting-approval' | 'paused' | 'halted' | 'completed' | 'aborted';

export interface TimelineEntry {
  seq: number;
  at: Date;
  step: Step;
}

export interface RolloutState {
  id: string;
  spec: RolloutSpec;
  createdAt: Date;
  status: RolloutStatus;
  package?: { version: string; operateType: OperateType };
  /** The platform the driver runs it on, known once it read the package. */
  platform?: 'legacy' | 'iotda';
  waves: WaveState[];
  /** The wave started and not yet judged. */
  current?: WaveState;
  /** The last step's number: the next step written is seq + 1. */
  seq: number;
  /** The newest operator request answered. */
  answered: number;
  halt?: { wave: number; why: string; running: string[] };
  /** Tasks a gate breach or an abort left running and no stop was recorded for yet (a platform that cannot stop a task keeps them here). */
  toStop: string[];
  /** Tasks stopped on the platform. */
  stopped: string[];
  paused: boolean;
  /** A completed step written since the last wave was added or started: not written again. */
  completedWritten: boolean;
  timeline: TimelineEntry[];
}

function chunk(devices: readonly string[], size: number): TaskState[] {
  const tasks: TaskState[] = [];
  for (let at = 0; at < devices.length; at += size) tasks.push({ task: tasks.length, devices: devices.slice(at, at + size) });
  return tasks;
}

/** The waves the plan makes of the spec's devices, before any step. */
export function plannedWaves(spec: RolloutSpec): WaveState[] {
  const plan = planRollout({ fileId: spec.fileId, devices: spec.devices, ...spec.plan });
  return plan.waves.map((wave) => ({ number: wave.number, kind: 'plan', devices: wave.devices, tasks: wave.tasks.map((devices, task) => ({ task, devices })), status: 'planned', approved: false }));
}

function stopLater(state: RolloutState, tasks: readonly string[]): void {
  for (const operationId of tasks) if (!state.toStop.includes(operationId) && !state.stopped.includes(operationId)) state.toStop.push(operationId);
}

function apply(state: RolloutState, step: Step): void {
  const wave = 'wave' in step ? state.waves.find((candidate) => candidate.number === step.wave) : undefined;
  const task = wave !== undefined && 'task' in step ? wave.tasks[step.task] : undefined;
  switch (step.kind) {
    case 'package':
      state.package = { version: step.version, operateType: step.operateType };
      state.platform = step.platform ?? 'legacy';
      break;
    case 'retry-wave':
      state.completedWritten = false;
      state.waves.push({ number: step.wave, kind: 'retry', devices: step.devices, tasks: chunk(step.devices, state.spec.plan.taskSize), status: 'planned', approved: true });
      state.answered = Math.max(state.answered, step.request);
      break;
    case 'awaiting-approval':
      if (wave !== undefined) wave.status = 'awaiting-approval';
      break;
    case 'approved':
      if (wave !== undefined) wave.approved = true;
      state.answered = Math.max(state.answered, step.request);
      break;
    case 'wave-started':
      state.completedWritten = false;
      if (wave !== undefined) Object.assign(wave, { status: 'sending', startedMs: step.nowMs });
      break;
    case 'task-sending':
      if (task !== undefined) task.sendingSince ??= step.nowMs;
      break;
    case 'task-created':
      if (task !== undefined) Object.assign(task, { operationId: step.operationId, recovered: step.recovered, sendingSince: undefined });
      break;
    case 'task-refused':
      if (task !== undefined) Object.assign(task, { refused: step.error, sendingSince: undefined });
      break;
    case 'wave-sent':
      if (wave !== undefined) Object.assign(wave, { status: 'sent', sentMs: step.nowMs });
      break;
    case 'gate-passed':
      if (wave !== undefined) Object.assign(wave, { status: 'passed', figures: step.figures });
      break;
    case 'gate-breached':
      if (wave !== undefined) Object.assign(wave, { status: 'breached', figures: step.figures, why: step.why });
      break;
    case 'halted':
      state.halt = { wave: step.wave, why: step.why, running: step.running };
      // A breach stops what runs; a halt on a refused task only holds the next waves back.
      if (wave?.status === 'breached') stopLater(state, step.running);
      break;
    case 'task-stopped':
      state.toStop = state.toStop.filter((operationId) => operationId !== step.operationId);
      if (step.error === undefined) state.stopped.push(step.operationId);
      break;
    case 'paused':
      state.paused = true;
      state.answered = Math.max(state.answered, step.request);
      break;
    case 'resumed':
      state.paused = false;
      delete state.halt;
      // A task the platform refused is sent again: the operator fixed the cause, or wants it tried.
      for (const candidate of state.waves) for (const each of candidate.tasks) delete each.refused;
      state.answered = Math.max(state.answered, step.request);
      break;
    case 'aborted':
      state.status = 'aborted';
      stopLater(state, step.running);
      state.answered = Math.max(state.answered, step.request);
      break;
    case 'refused':
      state.answered = Math.max(state.answered, step.request);
      break;
    case 'completed':
      state.completedWritten = true;
      break;
  }
}

function statusOf(state: RolloutState): RolloutStatus {
  if (state.status === 'aborted') return 'aborted';
  if (state.paused) return 'paused';
  const open = state.waves.filter((wave) => wave.status !== 'passed' && wave.status !== 'breached');
  // A retry wave runs even while the rollout is halted; the halt stands until resumed.
  if (state.halt !== undefined) return open.some((wave) => wave.kind === 'retry') ? 'running' : 'halted';
  if (open.some((wave) => wave.status === 'sending' || wave.status === 'sent')) return 'running';
  if (open.length === 0) return 'completed';
  return open[0]?.status === 'awaiting-approval' && !open[0].approved ? 'awaiting-approval' : 'running';
}

/** What a rollout's steps add up to. */
export function foldRollout(record: Pick<RolloutRecord, 'id' | 'spec' | 'createdAt' | 'steps'>): RolloutState {
  const spec = JSON.parse(record.spec) as RolloutSpec;
  const state: RolloutState = { id: record.id, spec, createdAt: record.createdAt, status: 'running', waves: plannedWaves(spec), seq: 0, answered: 0, toStop: [], stopped: [], paused: false, completedWritten: false, timeline: [] };
  for (const entry of record.steps) {
    const step = JSON.parse(entry.data) as Step;
    apply(state, step);
    state.seq = entry.seq;
    state.timeline.push({ seq: entry.seq, at: entry.at, step });
  }
  state.status = statusOf(state);
  const current = state.waves.find((wave) => wave.status === 'sending' || wave.status === 'sent');
  if (current !== undefined) state.current = current;
  return state;
}

/** A rollout as it stands: its state, and the figures of the wave under way as the driver last judged them. */
export interface RolloutView extends RolloutState {
  live?: { wave: number; figures: WaveFigures; why?: string };
}

/** A wave's figures: as its gate judged them, or, for the wave under way, as the driver last did. */
export function figuresOfWave(view: RolloutView, wave: WaveState): WaveFigures | undefined {
  return wave.figures ?? (view.live?.wave === wave.number ? view.live.figures : undefined);
}
