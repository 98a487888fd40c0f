// One task checked against the platform: what it says of each device beside what the receiver holds.
// Shared by the reconciler (which fills in what is missing) and the `reconcile` command (which only
// reports). Results are matched to the platform's sub-tasks by identity, never by counts: the callback
// is unauthenticated, so a result for a sub-task the platform never had must not stand in for one it
// has. Calls are few: one for the task, and sub-task pages when the platform counts more finished
// devices than it has listed here with a result, when a device may be stuck, and once in full after
// the task ended; while the task runs (results in flight always make its counts differ a little), its
// pages are read at most every `recheckMs`.
import type { ReconciledResult } from '../core/events';
import { pageByPage, pages, type PagePosition } from '../platform/paging';
import { parsePlatformTime, type OperateType, type OperationStaResult, type SubTaskStatus, type TaskStatus, type UpgradeSubTask, type UpgradeTask } from '../platform/contract';
import type { PlatformClient } from '../platform/client';
import type { FinalResult } from '../journal/journal';

/** A device the platform says finished, whose result the receiver does not hold. */
export interface MissingDevice {
  deviceId: string;
  subOperationId: string;
  result: 'SUCCESS' | 'FAIL';
  stopTime?: string;
  /**
   * 'resend-window': finished less than `resendWindowMs` ago, its push may still come; filled in after.
   * 'report-only': nothing fills it in (no journal, or the `reconcile` command).
   */
  why: 'resend-window' | 'report-only';
}

/** A device still waiting or in progress `stuckAfterMs` after its sub-task (or the task) started. */
export interface StuckDevice {
  deviceId: string;
  subOperationId: string;
  status: 'wait' | 'processing';
  /** The sub-task's start, else the task's. */
  since?: string;
}

/** One task: the platform's view beside the receiver's. */
export interface TaskReport {
  operationId: string;
  operateType: OperateType;
  /** The task's status on the platform. */
  status: TaskStatus;
  startTime?: string;
  stopTime?: string;
  /** Devices in the task, from the platform. */
  expected: number;
  /** The platform's counts by sub-task status. */
  platform: OperationStaResult;
  /** Final results that pushes brought, for sub-tasks the platform lists in this task. */
  received: number;
  /** Final results filled in from the platform (earlier passes included), by any instance. */
  filledIn: number;
  /** Of those, filled in by this check. */
  filledNow: number;
  /** Finished on the platform, no result here (yet). */
  missing: MissingDevice[];
  /** Devices waiting or in progress on the platform. */
  waiting: number;
  stuck: StuckDevice[];
  /**
   * Sub-tasks with a final result here that the platform does not list among the task's finished
   * ones (a forged or misdirected push), known once the finished sub-tasks were read in full after the
   * task ended; the first 1 000.
   */
  unknown: string[];
  /** The task has ended, its finished sub-tasks were read in full since, its re-send window has passed, and every finished device has a result here. */
  complete: boolean;
  /** When the check ran, by this machine's clock (the platform's clock, `now`, may run ahead: the emulator at speed 60). */
  checkedAt: Date;
  /** When the devices (`missing`, `stuck`) were last read from the platform, by this machine's clock: while a task runs, not at every check. */
  devicesReadAt?: Date;
}

/** Where a task's final results come from: `push` or `reconciled`, by subOperationId. */
export type FinalsBySubTask = Map<string, 'push' | 'reconciled'>;

/** The journal's final results of a task, by sub-task; a push counts over a fill of the same sub-task. */
export function finalsFrom(rows: readonly FinalResult[]): FinalsBySubTask {
  const finals: FinalsBySubTask = new Map();
  for (const row of rows) {
    if (finals.get(row.subOperationId) !== 'push') finals.set(row.subOperationId, row.event === 'reconciledResult' ? 'reconciled' : 'push');
  }
  return finals;
}

export interface CheckInput {
  client: PlatformClient;
  /** Runs one platform call within the reconciler's share of the call budget. */
  call: <T>(work: () => Promise<T>) => Promise<T>;
  finals: FinalsBySubTask;
  /** Commits and delivers a filled-in result (false: it was there already); absent: report only. */
  fill: ((result: ReconciledResult) => Promise<boolean>) | undefined;
  now: number;
  resendWindowMs: number;
  stuckAfterMs: number;
  /** While the task runs, its sub-task pages are read at most this often. */
  recheckMs: number;
  /** What the caller keeps of this task between checks. */
  state: TaskState;
  /** Hears of each page of a listing read (and its fills committed). */
  progress?: (page: CheckProgress) => void;
}

/** A device of a task still waiting or in progress on the platform. */
export interface WaitingDevice {
  deviceId: string;
  subOperationId: string;
  status: 'wait' | 'processing';
  /** When it started, as the platform writes it (absent while it waits). */
  startTime?: string;
}

/** Where a check is: which listing of the task, pages read of how many, results filled in so far. */
export interface CheckProgress {
  operationId: string;
  listing: SubTaskStatus;
  pagesRead: number;
  pages: number;
  filledNow: number;
}

/** Kept between checks: when finished sub-tasks and the task itself were first seen finished (for times the platform leaves out). */
export interface TaskState {
  seenFinished: Map<string, number>;
  /** The sub-tasks the platform listed as finished (success or fail), by identity. */
  listed?: Set<string>;
  /** Whether the finished sub-tasks were read in full after the task ended. */
  readAfterEnd?: boolean;
  endedAt?: number;
  /** The last reading of the task's devices: reused while a running task's pages are not read again. */
  /** `at` by the platform's clock (compared with `now`), `readAt` by this machine's (shown). */
  devices?: { at: number; readAt: number; missing: MissingDevice[]; stuck: StuckDevice[] };
  /**
   * A read of the finished sub-tasks cut off half-way (a call that failed, a pass closed): the next
   * check goes on from the page after the last one whose fills were committed, with the devices found
   * missing before it. Such a read is not a full one: pages may have moved meanwhile.
   */
  resume?: { listing: 'success' | 'fail'; at: PagePosition; missing: MissingDevice[] };
}

const TERMINAL: readonly TaskStatus[] = ['success', 'failed', 'stop'];

const MAX_UNKNOWN = 1000;

function subTasksOf(input: CheckInput, operationId: string, status: SubTaskStatus): AsyncGenerator<UpgradeSubTask> {
  return pages((pageNo, pageSize) => input.call(() => input.client.listSubTasks(operationId, { status, pageNo, pageSize })));
}

function reconciled(appId: string, task: UpgradeTask, sub: UpgradeSubTask, result: 'SUCCESS' | 'FAIL'): ReconciledResult {
  const filled: ReconciledResult = {
    notifyType: 'reconciledResult',
    appId,
    operationId: task.operationId,
    subOperationId: sub.subOperationId,
    deviceId: sub.deviceId,
    operateType: sub.operateType,
    result,
    createTime: sub.createTime,
  };
  if (sub.detailInfo !== undefined) filled.detailInfo = sub.detailInfo;
  if (sub.extendInfo !== undefined) filled.extendInfo = sub.extendInfo;
  if (sub.startTime !== undefined) filled.startTime = sub.startTime;
  if (sub.stopTime !== undefined) filled.stopTime = sub.stopTime;
  return filled;
}

/** Checks one task; fills in (with `fill`) what finished more than the re-send window ago and never came. */
export async function checkTask(input: CheckInput, task: UpgradeTask): Promise<TaskReport> {
  const { finals, now } = input;
  const counts = task.staResult;
  const report: TaskReport = {
    operationId: task.operationId,
    operateType: task.operateType,
    status: task.status,
    expected: counts.total,
    platform: { ...counts },
    received: 0,
    filledIn: 0,
    filledNow: 0,
    missing: [],
    waiting: counts.wait + counts.processing,
    stuck: [],
    unknown: [],
    complete: false,
    checkedAt: new Date(),
  };
  if (task.startTime !== undefined) report.startTime = task.startTime;
  if (task.stopTime !== undefined) report.stopTime = task.stopTime;
  const listed = (input.state.listed ??= new Set());

  const ended = TERMINAL.includes(task.status);
  const last = input.state.devices;
  if (!ended && last !== undefined && now - last.at < input.recheckMs) {
    // Devices filled in or pushed since the last reading are no longer missing.
    report.missing = last.missing.filter((device) => !finals.has(device.subOperationId));
    report.stuck = last.stuck;
    report.devicesReadAt = new Date(last.readAt);
    tally(report, finals, listed, false);
    return report;
  }
  const readInFull = await readDevices(input, task, report, ended && input.state.readAfterEnd !== true);
  if (ended && readInFull) input.state.readAfterEnd = true;
  input.state.devices = { at: now, readAt: report.checkedAt.getTime(), missing: report.missing, stuck: report.stuck };
  report.devicesReadAt = report.checkedAt;
  if (ended) input.state.endedAt ??= parsePlatformTime(task.stopTime) ?? now;
  const matched = tally(report, finals, listed, ended && input.state.readAfterEnd === true);
  report.complete =
    ended &&
    input.state.readAfterEnd === true &&
    report.missing.length === 0 &&
    counts.success + counts.fail <= matched &&
    now - (input.state.endedAt ?? now) >= input.resendWindowMs;
  return report;
}

/**
 * Counts the results here for sub-tasks the platform listed, by source; with `final` (the finished
 * sub-tasks were read in full after the task ended), the others are unknown to the platform.
 * Returns how many listed sub-tasks have a result here.
 */
function tally(report: TaskReport, finals: FinalsBySubTask, listed: ReadonlySet<string>, final: boolean): number {
  report.received = 0;
  report.filledIn = 0;
  for (const [subOperationId, source] of finals) {
    if (!listed.has(subOperationId)) {
      if (final && report.unknown.length < MAX_UNKNOWN) report.unknown.push(subOperationId);
      continue;
    }
    if (source === 'push') report.received += 1;
    else report.filledIn += 1;
  }
  return report.received + report.filledIn;
}

// The pages a check needs: finished devices when some listed result is not here (or in full, once,
// after the task ended), waiting ones when some may be stuck. Resolves whether the finished devices
// were read in full.
async function readDevices(input: CheckInput, task: UpgradeTask, report: TaskReport, inFull: boolean): Promise<boolean> {
  let resumed = false;
  const { finals, now } = input;
  const counts = task.staResult;
  const listed = input.state.listed ?? new Set<string>();
  // When every finished device the platform counts was listed here with a result, no page is read.
  const read = inFull || counts.success + counts.fail > [...finals.keys()].filter((subOperationId) => listed.has(subOperationId)).length;
  if (read) {
    // A page's results are committed together (one group commit), not one commit each.
    // Each fill's outcome is taken at once (a rejection left waiting for the page's end would be unhandled).
    let filling: Array<Promise<{ filled: boolean } | { error: unknown }>> = [];
    const settle = async (): Promise<void> => {
      const outcomes = await Promise.all(filling);
      filling = [];
      for (const outcome of outcomes) {
        if ('error' in outcome) throw outcome.error;
        if (outcome.filled) report.filledNow += 1;
        report.filledIn += 1;
      }
    };
    const resume = input.state.resume;
    if (resume !== undefined) {
      // Devices filled in or pushed since are no longer missing.
      report.missing.push(...resume.missing.filter((device) => !finals.has(device.subOperationId)));
      resumed = true;
    }
    for (const status of ['success', 'fail'] as const) {
      if (resume?.listing === 'fail' && status === 'success') continue;
      const from = resume?.listing === status ? resume.at : undefined;
      const listing = pageByPage((pageNo, pageSize) => input.call(() => input.client.listSubTasks(task.operationId, { status, pageNo, pageSize })), from);
      for await (const page of listing) {
        for (const sub of page.data) {
          listed.add(sub.subOperationId);
          if (finals.has(sub.subOperationId)) continue;
          const result = status === 'success' ? 'SUCCESS' : 'FAIL';
          // The platform's stop time when it gives one; else when this reconciler first saw it finished.
          const stoppedAt = parsePlatformTime(sub.stopTime) ?? input.state.seenFinished.get(sub.subOperationId) ?? now;
          if (!input.state.seenFinished.has(sub.subOperationId)) input.state.seenFinished.set(sub.subOperationId, stoppedAt);
          const missing: MissingDevice = { deviceId: sub.deviceId, subOperationId: sub.subOperationId, result, why: input.fill === undefined ? 'report-only' : 'resend-window' };
          if (sub.stopTime !== undefined) missing.stopTime = sub.stopTime;
          if (input.fill === undefined || now - stoppedAt < input.resendWindowMs) {
            report.missing.push(missing);
            continue;
          }
          finals.set(sub.subOperationId, 'reconciled');
          filling.push(input.fill(reconciled(input.client.appId, task, sub, result)).then((filled) => ({ filled }), (error: unknown) => ({ error })));
        }
        await settle();
        // This page is done, its fills committed: a read cut off after it goes on from the next.
        input.state.resume = { listing: status, at: { pageNo: page.pageNo + 1, pageSize: page.pageSize }, missing: [...report.missing] };
        input.progress?.({ operationId: task.operationId, listing: status, pagesRead: page.pageNo + 1, pages: page.pages, filledNow: report.filledNow });
      }
    }
    input.state.resume = undefined;
  }

  const taskStart = parsePlatformTime(task.startTime) ?? parsePlatformTime(task.createTime);
  if (report.waiting > 0 && taskStart !== undefined && now - taskStart >= input.stuckAfterMs) {
    for (const status of ['wait', 'processing'] as const) {
      for await (const sub of subTasksOf(input, task.operationId, status)) {
        const since = sub.startTime ?? task.startTime ?? task.createTime;
        const started = parsePlatformTime(since) ?? taskStart;
        if (now - started < input.stuckAfterMs) continue;
        report.stuck.push({ deviceId: sub.deviceId, subOperationId: sub.subOperationId, status, since });
      }
    }
  }
  return read && !resumed;
}
