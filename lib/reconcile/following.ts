// Which tasks the reconciler follows, and which pushes only hinted at. A push only hints at a task:
// the callback is unauthenticated, so a flood of pushes naming tasks that do not exist must not spend
// the platform's call budget. Hints are bounded, the least active dropped first; tasks the platform
// does not know are remembered as unknown and cost nothing again.
import type { TaskReport, TaskState } from './check';

export interface Followed extends TaskState {
  /** Final results pushes brought to this process (the journal holds the rest; without one, this is all there is). */
  pushed: Set<string>;
  report?: TaskReport;
  /** When a push of the task last arrived (0: none): tasks are checked most recently active first. */
  activeAt: number;
}

/** A task named by pushes that is not followed yet. */
interface Hint {
  pushes: number;
  activeAt: number;
  pushed: Set<string>;
}

const COMPLETED_KEPT = 100;
/** Hinted tasks kept (the least active dropped past it), asked about a pass, and unknown ones remembered. */
const HINTS_KEPT = 1000;
const HINTS_PER_PASS = 10;
const UNKNOWN_KEPT = 10_000;
/** Pushed final results a hinted task keeps before it is followed. */
const HINTED_PUSHES_KEPT = 1000;

const isFinalPush = (notifyType: string): boolean => notifyType === 'swUpgradeResultNotify' || notifyType === 'fwUpgradeResultNotify';

export class Following {
  readonly #followed = new Map<string, Followed>();
  readonly #hints = new Map<string, Hint>();
  /** Tasks the platform said it does not know, oldest first. */
  readonly #unknown = new Set<string>();
  readonly #completed: TaskReport[] = [];

  follow(operationId: string): Followed {
    let task = this.#followed.get(operationId);
    if (task === undefined) {
      const hint = this.#hints.get(operationId);
      this.#hints.delete(operationId);
      this.#unknown.delete(operationId);
      task = { pushed: hint?.pushed ?? new Set(), seenFinished: new Map(), activeAt: hint?.activeAt ?? 0 };
      this.#followed.set(operationId, task);
    }
    return task;
  }

  isFollowed(operationId: string): boolean {
    return this.#followed.has(operationId);
  }

  /** Stops following a task (the platform does not know it). */
  drop(operationId: string): void {
    this.#followed.delete(operationId);
  }

  hint(operationId: string, activeAt: number): Hint | undefined {
    if (this.#unknown.has(operationId) || this.#completed.some((report) => report.operationId === operationId)) return undefined;
    let entry = this.#hints.get(operationId);
    if (entry === undefined) {
      if (this.#hints.size >= HINTS_KEPT) {
        const least = [...this.#hints].reduce((a, b) => (b[1].pushes < a[1].pushes || (b[1].pushes === a[1].pushes && b[1].activeAt < a[1].activeAt) ? b : a));
        this.#hints.delete(least[0]);
      }
      entry = { pushes: 0, activeAt, pushed: new Set() };
      this.#hints.set(operationId, entry);
    }
    entry.pushes += 1;
    entry.activeAt = activeAt;
    return entry;
  }

  /** A push the router accepted: its task's activity, and its final result. */
  observe(notification: { operationId: string; subOperationId: string; notifyType: string }): void {
    const at = Date.now();
    const task = this.#followed.get(notification.operationId);
    const final = isFinalPush(notification.notifyType);
    if (task !== undefined) {
      task.activeAt = at;
      if (final) task.pushed.add(notification.subOperationId);
      return;
    }
    const entry = this.hint(notification.operationId, at);
    if (entry !== undefined && final && entry.pushed.size < HINTED_PUSHES_KEPT) entry.pushed.add(notification.subOperationId);
  }

  /** A few hinted tasks, the most active first: those to ask the platform about this pass. */
  hintsToAsk(): string[] {
    return [...this.#hints]
      .sort((a, b) => b[1].pushes - a[1].pushes || b[1].activeAt - a[1].activeAt)
      .slice(0, HINTS_PER_PASS)
      .map(([operationId]) => operationId);
  }

  /** The platform does not know the task: not asked about again. */
  unknown(operationId: string): void {
    this.#hints.delete(operationId);
    this.#unknown.add(operationId);
    if (this.#unknown.size > UNKNOWN_KEPT) this.#unknown.delete(this.#unknown.values().next().value as string);
  }

  /** The followed tasks, most recently active first. */
  order(): string[] {
    return [...this.#followed].sort((a, b) => b[1].activeAt - a[1].activeAt).map(([operationId]) => operationId);
  }

  /** A task's check found it complete: no longer followed, its report kept among the last 100. */
  completed(operationId: string, report: TaskReport): void {
    this.#followed.delete(operationId);
    // One report per task: a task checked again on demand replaces its earlier one.
    const earlier = this.#completed.findIndex((kept) => kept.operationId === operationId);
    if (earlier !== -1) this.#completed.splice(earlier, 1);
    this.#completed.push(report);
    if (this.#completed.length > COMPLETED_KEPT) this.#completed.shift();
  }

  /** The latest report of a task, followed or completed. */
  latest(operationId: string): TaskReport | undefined {
    return this.#followed.get(operationId)?.report ?? this.#completed.findLast((report) => report.operationId === operationId);
  }

  /** The latest reports of the followed tasks. */
  followedReports(): TaskReport[] {
    return [...this.#followed.values()].flatMap((task) => (task.report === undefined ? [] : [task.report]));
  }

  reports(): TaskReport[] {
    return [...this.#completed, ...this.followedReports()];
  }

  get counts(): { tasks: number; hinted: number; unknownTasks: number } {
    return { tasks: this.#followed.size, hinted: this.#hints.size, unknownTasks: this.#unknown.size };
  }
}
