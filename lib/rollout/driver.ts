// The driver: each tick, under the journal's reconciliation lock (one instance calls the platform),
// it takes every rollout one step further at a time: answer a request, read the package, start a
// wave, create its tasks, judge its gate. Every step is written before the next is taken, and a
// create call is preceded by a step that says it is about to be made, so that a driver killed at
// any point leaves a log the next one can continue from without creating a task twice.
import type { Journal, RolloutRecord } from '../journal/journal';
import { SlidingWindow } from '../platform/rate-limit';
import type { OperateType } from '../platform/contract';
import { figuresOf, judge, type DeviceOutcome } from './outcomes';
import { taskNameOf, type RolloutPlatform } from './platform';
import { answer, runningTasks, type DeviceHistory } from './requests';
import { foldRollout, type RolloutState, type TaskState, type WaveState } from './state';
import type { Step, WaveFigures } from './steps';
import { TaskWatch } from './watch';

export interface DriverContext {
  journal: Journal;
  platform: RolloutPlatform;
  now: () => number;
  /** A step written: the rollout's events. */
  written(rolloutId: string, seq: number, step: Step): void;
}

/** Steps one rollout may take in one tick: the others get their turn. */
const TURNS = 500;
const MINUTE = 60_000;

type Cursor = { seq: number };

/** `work`, or the signal's reason once it is aborted, whichever comes first. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', abort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}

export class RolloutDriver {
  readonly #watch: TaskWatch;
  readonly #budgets = new Map<string, SlidingWindow>();
  /** Live figures of each rollout's wave under way, for status readers in this process. */
  readonly live = new Map<string, { wave: number; figures: WaveFigures; why?: string }>();
  /** Requests seen on rollouts that had ended, so that an ended rollout is read again only for a new one. */
  readonly #seenRequests = new Map<string, number>();
  #tracked = false;
  readonly #closing = new AbortController();
  #budgetOf = (state: RolloutState): SlidingWindow => {
    let budget = this.#budgets.get(state.id);
    if (budget === undefined) {
      budget = new SlidingWindow(state.spec.plan.callsPerMinute, MINUTE);
      this.#budgets.set(state.id, budget);
    }
    return budget;
  };

  constructor(private readonly context: DriverContext) {
    this.#watch = new TaskWatch({ journal: context.journal, platform: context.platform });
  }

  get closed(): boolean {
    return this.#closing.signal.aborted;
  }

  /** No call from now on: a tick waiting for the budget (up to a minute) ends at once. */
  close(): void {
    this.#closing.abort(new Error('the rollouts were closed'));
  }

  /** One pass over every rollout; false when another instance holds the lock (it drives them). */
  async tick(): Promise<boolean> {
    const outcome = await this.context.journal.exclusive(async (signal) => {
      for (const row of await this.context.journal.listRollouts()) {
        if (signal.aborted) return;
        const ended = row.lastKind === 'completed' || row.lastKind === 'aborted';
        if (ended && (this.#seenRequests.get(row.id) ?? -1) >= row.lastRequest) continue;
        await this.#drive(row.id, signal);
        if (ended) this.#seenRequests.set(row.id, row.lastRequest);
      }
      this.#tracked = true;
    });
    return outcome.ran;
  }

  async #drive(id: string, signal: AbortSignal): Promise<void> {
    for (let turn = 0; turn < TURNS && !signal.aborted; turn += 1) {
      const record = await this.context.journal.readRollout(id);
      if (record === undefined) return;
      const state = foldRollout(record);
      if (!this.#tracked) this.#track(state);
      const cursor = { seq: state.seq };
      const steps = await this.#next(state, record, cursor, signal);
      if (steps.length === 0 || !(await this.#append(state.id, cursor, steps))) return;
    }
  }

  /** A driver that starts (or takes over) makes the results reader (the reconciler, on the legacy API) follow the tasks still running. */
  #track(state: RolloutState): void {
    for (const operationId of runningTasks(state)) this.context.platform.follow(operationId);
  }

  async #append(id: string, cursor: Cursor, steps: Step[]): Promise<boolean> {
    const written = await this.context.journal.appendRolloutSteps(id, cursor.seq + 1, steps.map((step) => ({ kind: step.kind, data: JSON.stringify(step) })), new Date());
    if (!written) return false;
    for (const step of steps) {
      cursor.seq += 1;
      if (step.kind === 'task-created') this.context.platform.follow(step.operationId);
      this.context.written(id, cursor.seq, step);
    }
    return true;
  }

  async #call<T>(state: RolloutState, signal: AbortSignal, work: () => Promise<T>): Promise<T> {
    await untilAborted(this.#budgetOf(state).acquire(), this.#closing.signal);
    // No platform call once the lock is lost: another instance drives the rollout now.
    signal.throwIfAborted();
    return work();
  }

  async #next(state: RolloutState, record: RolloutRecord, cursor: Cursor, signal: AbortSignal): Promise<Step[]> {
    const request = record.requests.find((candidate) => candidate.id > state.answered);
    if (request !== undefined) return [await answer(state, request, () => this.#history(state, signal))];
    const stop = this.context.platform.stop;
    const [toStop] = state.toStop;
    if (stop !== undefined && toStop !== undefined) return [await this.#stop(state, signal, toStop, stop)];
    if (state.status === 'aborted') return [];
    if (state.package === undefined) {
      const found = await this.#call(state, signal, () => this.context.platform.packageOf(state.spec.fileId));
      return [{ kind: 'package', ...found, platform: this.context.platform.name }];
    }
    const current = state.current;
    if (current?.status === 'sending') return this.#sending(state, state.package.operateType, current, cursor, signal);
    if (current?.status === 'sent') return this.#judge(state, current, signal);
    return this.#nextWave(state);
  }

  /** Stops a task a breach or an abort left running; a refusal (it had finished) is recorded, anything else is tried again next tick. */
  async #stop(state: RolloutState, signal: AbortSignal, operationId: string, stop: (taskId: string) => Promise<void>): Promise<Step> {
    try {
      await this.#call(state, signal, () => stop(operationId));
      return { kind: 'task-stopped', operationId };
    } catch (error) {
      if (!this.context.platform.refusedOutright(error)) throw error;
      return { kind: 'task-stopped', operationId, error: error.message };
    }
  }

  #nextWave(state: RolloutState): Step[] {
    if (state.paused) return [];
    // A retry wave runs even while the rollout is halted; a wave of the plan waits for a resume.
    const wave = state.waves.find((candidate) => candidate.kind === 'retry' && candidate.status === 'planned') ?? (state.halt === undefined ? state.waves.find((candidate) => candidate.status === 'planned' || candidate.status === 'awaiting-approval') : undefined);
    if (wave === undefined) return state.status === 'completed' && !state.completedWritten ? [{ kind: 'completed' }] : [];
    const { approve, window } = state.spec;
    if (wave.kind === 'plan' && (approve === 'all' || approve.includes(wave.number)) && !wave.approved) {
      return wave.status === 'awaiting-approval' ? [] : [{ kind: 'awaiting-approval', wave: wave.number }];
    }
    const now = this.context.now();
    if (window.notBefore !== undefined && now < Date.parse(window.notBefore)) return [];
    if (window.hours !== undefined) {
      const hour = new Date(now).getUTCHours();
      const { from, to } = window.hours;
      if (from < to ? hour < from || hour >= to : hour < from && hour >= to) return [];
    }
    return [{ kind: 'wave-started', wave: wave.number, nowMs: now }];
  }

  async #sending(state: RolloutState, operateType: OperateType, wave: WaveState, cursor: Cursor, signal: AbortSignal): Promise<Step[]> {
    if (state.paused || (state.halt !== undefined && wave.kind === 'plan')) return [];
    const task = wave.tasks.find((candidate) => candidate.operationId === undefined);
    if (task === undefined) return [{ kind: 'wave-sent', wave: wave.number, nowMs: this.context.now() }];
    // A task the platform refused waits for a resume (a retry wave's, too).
    if (task.refused !== undefined) return [];
    const since = task.sendingSince;
    if (since !== undefined) {
      // A create was about to be made, and its answer never recorded: the task may exist.
      const found = await this.#call(state, signal, () => this.context.platform.findCreated(operateType, task.devices, since, taskNameOf(state.id, wave.number, task.task)));
      if (found !== undefined) return [{ kind: 'task-created', wave: wave.number, task: task.task, operationId: found, recovered: true }];
    } else if (!(await this.#append(state.id, cursor, [{ kind: 'task-sending', wave: wave.number, task: task.task, nowMs: this.context.now() }]))) {
      return [];
    }
    return this.#create(state, operateType, wave, task, signal);
  }

  async #create(state: RolloutState, operateType: OperateType, wave: WaveState, task: TaskState, signal: AbortSignal): Promise<Step[]> {
    const { platform } = this.context;
    try {
      const operationId = await this.#call(state, signal, () => platform.create(operateType, state.spec.fileId, task.devices, taskNameOf(state.id, wave.number, task.task)));
      return [{ kind: 'task-created', wave: wave.number, task: task.task, operationId, recovered: false }];
    } catch (error) {
      // No answer, or a 5xx: the task may exist; the next tick looks for it before creating it again.
      if (!platform.refusedOutright(error)) throw error;
      const why = `the platform refused task ${task.task + 1} of wave ${wave.number} (${task.devices.length} devices): ${error.message}`;
      return [
        { kind: 'task-refused', wave: wave.number, task: task.task, error: error.message },
        { kind: 'halted', wave: wave.number, why, running: runningTasks(state) },
      ];
    }
  }

  async #outcomes(state: RolloutState, wave: WaveState, signal: AbortSignal): Promise<Map<string, DeviceOutcome>> {
    const merged = new Map<string, DeviceOutcome>();
    const { version = '', operateType = 'firmware_upgrade' } = state.package ?? {};
    const call = <T>(work: () => Promise<T>): Promise<T> => this.#call(state, signal, work);
    for (const task of wave.tasks) for (const [deviceId, outcome] of await this.#watch.outcomes(task, version, operateType, call)) merged.set(deviceId, outcome);
    return merged;
  }

  async #judge(state: RolloutState, wave: WaveState, signal: AbortSignal): Promise<Step[]> {
    const now = this.context.now();
    const sent = wave.sentMs ?? now;
    const outcomes = await this.#outcomes(state, wave, signal);
    const timedOut = new Set<string>();
    if (now >= sent + state.spec.timeoutMs) {
      // Asked of the platform (through the reconciler) no more than ten times a timeout.
      const recheckMs = Math.max(1000, Math.min(5 * MINUTE, state.spec.timeoutMs / 10));
      for (const task of wave.tasks) {
        const open = task.devices.filter((deviceId) => !outcomes.has(deviceId));
        for (const deviceId of await this.#watch.timedOut(task, open, now, recheckMs)) timedOut.add(deviceId);
      }
    }
    const figures = figuresOf(wave.devices, outcomes, timedOut, state.spec.gate);
    const verdict = judge(figures, state.spec.gate, now >= sent + state.spec.plan.soakMs);
    this.live.set(state.id, { wave: wave.number, figures, ...(!verdict.decided && verdict.why !== undefined && { why: verdict.why }) });
    if (!verdict.decided) return [];
    this.live.delete(state.id);
    if (verdict.passed) return [{ kind: 'gate-passed', wave: wave.number, figures }];
    return [
      { kind: 'gate-breached', wave: wave.number, figures, why: verdict.why },
      { kind: 'halted', wave: wave.number, why: verdict.why, running: runningTasks(state) },
    ];
  }

  /** Each device's latest outcome over the waves judged, and its tries: what a retry chooses from. */
  async #history(state: RolloutState, signal: AbortSignal): Promise<DeviceHistory> {
    const history: DeviceHistory = { latest: new Map(), tries: new Map() };
    for (const wave of state.waves) {
      if (wave.status !== 'passed' && wave.status !== 'breached') continue;
      const outcomes = await this.#outcomes(state, wave, signal);
      for (const task of wave.tasks) {
        if (task.operationId === undefined) continue;
        for (const deviceId of task.devices) {
          history.tries.set(deviceId, (history.tries.get(deviceId) ?? 0) + 1);
          const outcome = outcomes.get(deviceId);
          if (outcome !== undefined) history.latest.set(deviceId, outcome);
          else if (wave.figures !== undefined && wave.figures.timedOut > 0) history.latest.set(deviceId, 'timed-out');
          else history.latest.delete(deviceId);
        }
      }
    }
    return history;
  }
}
