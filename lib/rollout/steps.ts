// The steps of a rollout's log. Each is written once, numbered, by the instance that drives the
// rollout; the rollout's state is what its steps add up to (state.ts), so a driver that dies leaves
// nothing half-written for the next one to guess at.
import type { OperateType } from '../platform/contract';

/** A wave's figures, as its gate judged them. */
export interface WaveFigures {
  devices: number;
  /** Succeeded with the package's version. */
  succeeded: number;
  /** Said SUCCESS, but the device does not show the package's version (or could not be asked). */
  unverified: number;
  failed: number;
  /** No final result within timeoutMs of the task's creation. */
  timedOut: number;
  /** No final result yet. */
  pending: number;
  /** succeeded + unverified + failed + timedOut. */
  finished: number;
  /** Failed, timed out (and unverified, with gate.unverified 'fail') over finished. */
  failureRate: number;
  /** Succeeded (and unverified, with gate.unverified 'pass') over devices. */
  successRate: number;
  /** The most frequent failure reasons, most frequent first (at most 5). */
  reasons: FailureReason[];
}

export interface FailureReason {
  reason: string;
  /** The push's errorCode (software upgrades), when it gives one. */
  code?: string;
  devices: number;
}

export type Step =
  /** The package, read from the platform once: its version is what a success must show; `platform`: the one the driver runs it on (absent before IoTDA: legacy). */
  | { kind: 'package'; version: string; operateType: OperateType; platform?: 'legacy' | 'iotda' }
  /** A wave of failed devices to try again, added at an operator's request. */
  | { kind: 'retry-wave'; wave: number; request: number; devices: string[]; reasons?: string[]; codes?: string[] }
  | { kind: 'awaiting-approval'; wave: number }
  | { kind: 'approved'; wave: number; request: number }
  | { kind: 'wave-started'; wave: number; nowMs: number }
  /** Written before the platform is asked to create the task: found again after a crash, it is looked for on the platform before a second create. */
  | { kind: 'task-sending'; wave: number; task: number; nowMs: number }
  | { kind: 'task-created'; wave: number; task: number; operationId: string; recovered: boolean }
  /** The platform refused the task (a 4xx answer): it does not exist. */
  | { kind: 'task-refused'; wave: number; task: number; error: string }
  | { kind: 'wave-sent'; wave: number; nowMs: number }
  | { kind: 'gate-passed'; wave: number; figures: WaveFigures }
  | { kind: 'gate-breached'; wave: number; figures: WaveFigures; why: string }
  /** No further wave until an operator resumes; `running`: the platform tasks under way then (after a gate breach, stopped where the platform can: IoTDA). */
  | { kind: 'halted'; wave: number; why: string; running: string[] }
  | { kind: 'paused'; request: number }
  | { kind: 'resumed'; request: number }
  /** `running`: the platform tasks under way then (stopped where the platform can: IoTDA). */
  | { kind: 'aborted'; request: number; running: string[] }
  /** A task a gate breach or an abort left running, stopped on the platform; `error`: the platform refused the stop (a task that had finished, say). */
  | { kind: 'task-stopped'; operationId: string; error?: string }
  | { kind: 'completed' }
  /** An operator request that could not be done now, and why. */
  | { kind: 'refused'; request: number; action: string; why: string };

export type StepKind = Step['kind'];
