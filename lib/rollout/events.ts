// The rollouts' events: one per step kind, named in camelCase (`wave-started` -> `waveStarted`), each
// with the step's fields, the rollout's id and the step's number.
import type { Step, StepKind } from './steps';

type Camel<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<Camel<Tail>>}` : S;

/** A step as an event: which rollout, which step, and the step's own fields. */
export type RolloutEvent<K extends StepKind = StepKind> = Extract<Step, { kind: K }> & { rolloutId: string; seq: number };

export type RolloutEvents = { [K in StepKind as Camel<K>]: [event: RolloutEvent<K>] } & {
  /** A tick failed (the platform or the journal could not be reached): the next tick tries again. */
  error: [error: Error];
};

export function eventNameOf(kind: StepKind): keyof RolloutEvents {
  return kind.replace(/-(\w)/g, (_, letter: string) => letter.toUpperCase()) as keyof RolloutEvents;
}
