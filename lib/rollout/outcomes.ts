// What became of each device of a wave, read from the journal's final results (pushed, filled in by
// the reconciler, or on IoTDA read from the task), and the gate's figures over them.
import type { FinalResultBody } from '../journal/journal';
import type { FailureReason, WaveFigures } from './steps';
import type { RolloutSpec } from './options';

interface Finished {
  deviceId: string;
  operationId: string;
  source: 'push' | 'reconciled';
}

export type DeviceOutcome = Finished & ({ result: 'succeeded' | 'unverified' } | { result: 'failed'; reason: string; code?: string });

type Body = Record<string, unknown>;
const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/**
 * One final result as an outcome. A pushed SUCCESS is verified by its `curVersion`; a reconciled one
 * carries no version, and is verified by `deviceVersion` (the device's version read from the
 * platform, undefined when it was not read).
 */
export function outcomeOf(row: FinalResultBody, version: string, deviceVersion?: string): DeviceOutcome | undefined {
  // What the journal keeps as a final result passed the schemas: JSON, with its type's fields.
  const body = JSON.parse(row.body) as Body;
  if (row.event === 'iotdaDeviceResult') return iotdaOutcome(body, version, deviceVersion);
  const operationId = text(body['operationId']);
  if (row.deviceId === null || operationId === undefined) return undefined;
  const base = { deviceId: row.deviceId, operationId, source: row.event === 'reconciledResult' ? ('reconciled' as const) : ('push' as const) };
  const result = text(body['swUpgradeResult']) ?? text(body['status']) ?? text(body['result']);
  if (result === 'SUCCESS') {
    const shown = base.source === 'reconciled' ? deviceVersion : text(body['curVersion']);
    return { ...base, result: shown === version ? 'succeeded' : 'unverified' };
  }
  const reason = text(body['description']) ?? text(body['statusDesc']) ?? text(body['detailInfo']) ?? 'no reason given';
  const code = text(body['errorCode']);
  return { ...base, result: 'failed', reason, ...(code !== undefined && { code }) };
}

/** An IoTDA device's outcome read from its task: no version comes with it, so a success is verified as a reconciled one is. */
function iotdaOutcome(body: Body, version: string, deviceVersion: string | undefined): DeviceOutcome | undefined {
  const operationId = text(body['taskId']);
  const deviceId = text(body['deviceId']);
  if (operationId === undefined || deviceId === undefined) return undefined;
  const base = { deviceId, operationId, source: 'reconciled' as const };
  if (body['status'] === 'Success') return { ...base, result: deviceVersion === version ? 'succeeded' : 'unverified' };
  const error = (body['error'] ?? {}) as Body;
  const code = text(error['error_code']);
  // Stopped: the task was stopped (by a gate, an abort or an operator) before the device finished.
  return { ...base, result: 'failed', reason: text(error['error_msg']) ?? String(body['status']), ...(code !== undefined && { code }) };
}

export function topReasons(outcomes: Iterable<DeviceOutcome>, limit = 5): FailureReason[] {
  const counted = new Map<string, FailureReason>();
  for (const outcome of outcomes) {
    if (outcome.result !== 'failed') continue;
    const key = `${outcome.code ?? ''}\u0000${outcome.reason}`;
    const entry = counted.get(key) ?? { reason: outcome.reason, ...(outcome.code !== undefined && { code: outcome.code }), devices: 0 };
    entry.devices += 1;
    counted.set(key, entry);
  }
  return [...counted.values()].sort((a, b) => b.devices - a.devices || a.reason.localeCompare(b.reason)).slice(0, limit);
}

/** The figures of a wave of `devices`; `timedOut`: the devices without an outcome past their deadline. */
export function figuresOf(devices: readonly string[], outcomes: ReadonlyMap<string, DeviceOutcome>, timedOut: ReadonlySet<string>, gate: RolloutSpec['gate']): WaveFigures {
  const figures: WaveFigures = { devices: devices.length, succeeded: 0, unverified: 0, failed: 0, timedOut: 0, pending: 0, finished: 0, failureRate: 0, successRate: 0, reasons: [] };
  const mine: DeviceOutcome[] = [];
  for (const deviceId of devices) {
    const outcome = outcomes.get(deviceId);
    if (outcome !== undefined) {
      figures[outcome.result] += 1;
      mine.push(outcome);
    } else if (timedOut.has(deviceId)) figures.timedOut += 1;
    else figures.pending += 1;
  }
  figures.finished = figures.devices - figures.pending;
  const unverifiedFails = gate.unverified === 'fail';
  const bad = figures.failed + figures.timedOut + (unverifiedFails ? figures.unverified : 0);
  const good = figures.succeeded + (unverifiedFails ? 0 : figures.unverified);
  figures.failureRate = figures.finished === 0 ? 0 : bad / figures.finished;
  // A wave has a device at least (the plan leaves empty waves out; a retry takes one or more).
  figures.successRate = good / figures.devices;
  figures.reasons = topReasons(mine);
  return figures;
}

export type Verdict = { decided: false; why?: string } | { decided: true; passed: true } | { decided: true; passed: false; why: string };

/** A share as operators read it: `12.5 %`. */
export const percent = (share: number): string => `${Math.round(share * 1000) / 10} %`;
/** `1 device`, `2 devices`. */
export const counted = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/**
 * The gate: a breach as soon as it is certain (the absolute limit, or the failure rate over at least
 * minFinished devices), a pass once every device has finished, the success rate is met and the soak
 * time has passed.
 */
export function judge(figures: WaveFigures, gate: RolloutSpec['gate'], soaked: boolean): Verdict {
  const bad = figures.failed + figures.timedOut + (gate.unverified === 'fail' ? figures.unverified : 0);
  if (gate.maxFailures !== undefined && bad >= gate.maxFailures) return { decided: true, passed: false, why: `${bad} devices failed or timed out: the limit is ${gate.maxFailures}` };
  const enough = Math.min(gate.minFinished, figures.devices);
  if (figures.finished >= enough && figures.failureRate > gate.maxFailureRate) {
    return { decided: true, passed: false, why: `${percent(figures.failureRate)} of ${figures.finished} finished devices failed or timed out: at most ${percent(gate.maxFailureRate)} may` };
  }
  if (figures.pending > 0) return { decided: false, why: `${figures.pending} devices have no final result yet` };
  if (figures.successRate < gate.minSuccessRate) return { decided: true, passed: false, why: `${percent(figures.successRate)} of ${figures.devices} devices succeeded: at least ${percent(gate.minSuccessRate)} must` };
  if (!soaked) return { decided: false, why: 'soaking' };
  return { decided: true, passed: true };
}
