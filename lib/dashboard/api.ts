// What the dashboard offers the host and its HTTP side: its options, its methods and their answers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Journal } from '../journal/journal';
import type { NextFunction, UpgradeRouter } from '../router/router';
import type { MissingDevice, StuckDevice, TaskReport } from '../reconcile/check';
import type { Logger } from '../core/log';
import type { FoldLimits, FoldStats, TaskSummary, VersionCounts } from './fold';
import type { DevicePage, DeviceQuery } from './query';
import type { DashboardHealth } from './health';

export interface UpgradeDashboardOptions {
  /** The router whose pushes are shown; without a journal, from its events since start. */
  router: UpgradeRouter;
  /** The router's journal: the view is read from it, so it survives a restart and covers every instance sharing it. */
  journal?: Journal;
  /** A device in progress with no push for this long is counted as stale. Default one hour. */
  staleAfterMs?: number;
  /** What the fold keeps in memory (the least recently active go first) and how many live streams are open at once. */
  limits?: FoldLimits;
  /**
   * Decides, per request (page, API, export, stream), whether the caller may see the fleet: true to
   * serve, false for a 403. A throw or a rejection is a 403 too (and logged). Default: everyone the
   * host's own middleware lets through.
   */
  authorize?: (req: IncomingMessage) => boolean | Promise<boolean>;
  /**
   * Serve the rollouts' actions (pause, resume, abort, approve, retry: POSTs under /api/rollouts/ID/)
   * to whoever may see the dashboard. Default false: the rollouts are shown, not steered.
   */
  rolloutActions?: boolean;
  /** Texts for the device error codes you know (the platform publishes no table of them): shown beside each code. */
  errorCodes?: Record<string, string>;
  /** Where a journal that cannot be read, or an authorize that throws, is reported. Default: console. */
  logger?: Logger;
}

/** With a reconciler on the router: what the platform said of the task at its latest check. */
export interface PlatformSummary {
  /** The task's status on the platform. */
  status: TaskReport['status'];
  /** Devices in the task. */
  expected: number;
  /** Final results pushes brought, and those filled in by reconciliation. */
  received: number;
  filledIn: number;
  /** Devices finished on the platform whose result is not here yet; devices still waiting; stuck ones. */
  missing: number;
  waiting: number;
  stuck: number;
  checkedAt: Date;
}

/** A task's summary, with time figures and, when a reconciler checks the task, the platform's view beside it. */
export interface DashboardTask extends TaskSummary {
  platform?: PlatformSummary;
  /** Devices the task should reach: the platform's count when a reconciler checked it, else the size of the list given with `expect()`; null when neither is known. */
  expected: number | null;
  /** Devices of the list given with `expect()` from which nothing arrived; null without a list. */
  notReported: number | null;
  /** From the first push to the last. */
  durationMs: number;
  /**
   * Devices the estimate leaves out as silent: the stale ones and, once the task is older than its
   * threshold, the expected devices from which nothing arrived at all. The page says "all but N silent".
   */
  silent: number;
  /** When the devices still to report a result (the platform's count when known, else the devices seen), silent ones left out, will have at the last ten minutes' pace of pushed results; null when none are left or no result was pushed in that time. */
  estimatedEnd: Date | null;
}

/** One task: its summary, the texts of its error codes, and, with a reconciler, the devices that never reported (the first 1 000 of each list). */
export interface DashboardTaskDetail {
  task: DashboardTask;
  /** The `errorCodes` option's text for each failure code of the task that it names. */
  errorTexts: Record<string, string>;
  neverReported?: { missing: MissingDevice[]; stuck: StuckDevice[] };
}

/** Listed devices (`expect()`) from which nothing arrived. */
export interface NotReportedPage {
  total: number;
  offset: number;
  limit: number;
  deviceIds: string[];
}

export interface UpgradeDashboard {
  (req: IncomingMessage, res: ServerResponse, next?: NextFunction): void;
  /** Every task's summary, most recently active first. */
  tasks(): DashboardTask[];
  /** One task's summary, or undefined for a task never seen. */
  task(operationId: string): DashboardTaskDetail | undefined;
  /** One page of a task's devices, filtered, searched and sorted; undefined for a task never seen. Throws a TypeError for a query it cannot answer. */
  devices(operationId: string, query?: DeviceQuery): DevicePage | undefined;
  /** Results by source and target version, all tasks together. */
  versions(): VersionCounts[];
  /**
   * The devices a task should reach, when you know them (without a reconciler the platform's count
   * is not known here): the task then shows how many, and which, never reported. Replaces an earlier
   * list; the ids count in `limits.bytes`.
   */
  expect(operationId: string, deviceIds: Iterable<string>): void;
  /**
   * A task's own "silent for" threshold in ms, in place of `staleAfterMs` (a slow firmware, a fleet that
   * wakes once a day); undefined goes back to `staleAfterMs`.
   */
  staleAfter(operationId: string, ms: number | undefined): void;
  /**
   * Without a list, with a reconciler on the router: the task's devices waiting or in progress on the
   * platform from which no push arrived here, in the platform's order. Read through the reconciler
   * (within its call budget, the first 1 000 devices) and kept a minute; undefined without a
   * reconciler. Rejects with code ERR_RECONCILE_LOCK_HELD while another instance holds the lock.
   */
  neverPushed(operationId: string, page?: { offset?: number; limit?: number }): Promise<NotReportedPage | undefined>;
  /** A page of the listed devices of a task that never reported, in the list's order; undefined without a list. */
  notReported(operationId: string, page?: { offset?: number; limit?: number }): NotReportedPage | undefined;
  /** The journal's health (pending, retrying, dead, invalid) and what to do about it. */
  health(): DashboardHealth;
  /** What the dashboard holds (tasks, devices, its estimate of their bytes, what it dropped) and the live streams open. */
  stats(): FoldStats & { streams: number };
  /** Stops following the router or the journal and ends the live streams. */
  close(): void;
}
