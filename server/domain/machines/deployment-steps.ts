/**
 * How the steps of a running deployment move:
 * which steps become READY, which run next, and when the deployment is done or failed.
 *
 * - Success steps run when every dependency is DONE; all READY steps start together.
 * - On a failure, steps already running finish first; then steps that only run on failure (`when:
 *   'failure'`, e.g. CF.Restore) run if their dependencies are DONE; then the deployment fails
 *   with `Step <name>: <error>` for each failed step, and what each compensating step did.
 * - Steps that never ran are SKIPPED at the end, so no step is left looking as if it might run.
 * - A terminate keeps the compensating steps that may yet be due: once the steps it stops have
 *   settled, a due compensation runs before the stack is let go (server/domain/machines/deployment.ts).
 * - A set of BLOCKED steps that can never run is a real deadlock error, not a silent `done`.
 */
import type { PlanStep, StepType } from '../plan/steps.ts';

export const stepStatuses = ['BLOCKED', 'READY', 'ACTIVE', 'DONE', 'FAILED', 'SKIPPED'] as const;
export type StepStatus = (typeof stepStatuses)[number];

/** What the rules of progress look at in a step: its name and what it waits for. */
export interface StepLink {
  name: string;
  dependsOn: string[];
  /** 'failure': a compensating step that runs only when the deployment is failing. */
  when?: 'success' | 'failure';
}

export interface StepOutput {
  /** CloudFormation stack outputs after the step (infra steps). */
  outputs?: Record<string, string>;
  /** Raw status the step ended on, e.g. UPDATE_COMPLETE or "NO UPDATES TO BE PERFORMED". */
  status?: string;
  [key: string]: unknown;
}

/** Where a step of a running deployment stands. */
export interface StepRun {
  status: StepStatus;
  error?: string;
  output?: StepOutput;
  startedAt?: string;
  finishedAt?: string;
}

/** A step as it runs: its plan step (of its type, with its input) and where it stands. */
export type Running<P extends StepLink> = P & StepRun;

/** A step of a running deployment, discriminated by `type` like the plan step it was. */
export type DeploymentStep<T extends StepType = StepType> = Running<Extract<PlanStep, { type: T }>>;

const isDone = (steps: readonly Running<StepLink>[], name: string) => steps.find((s) => s.name === name)?.status === 'DONE';
const runsOnFailure = (s: StepLink) => s.when === 'failure';

/** BLOCKED success steps whose dependencies are all DONE become READY. */
export function updateReadiness<S extends Running<StepLink>>(steps: S[]): S[] {
  return steps.map((s) =>
    s.status === 'BLOCKED' && !runsOnFailure(s) && s.dependsOn.every((d) => isDone(steps, d)) ? { ...s, status: 'READY' } : s,
  );
}

export function initialSteps<P extends StepLink>(planned: P[]): Running<P>[] {
  // A step planned as skipped (a migration with nothing pending) is SKIPPED from the start.
  return updateReadiness(planned.map((p): Running<P> => ({ ...p, status: (p as { skipReason?: string }).skipReason ? 'SKIPPED' : 'BLOCKED' })));
}

export type NextMove =
  | { kind: 'run'; steps: string[] }
  | { kind: 'wait' }
  | { kind: 'done' }
  | { kind: 'fail'; error: string };

const stepFailure = (s: Running<StepLink>) => (s.error ? `Step ${s.name}: ${s.error}` : `Step ${s.name} failed`);

export function failureMessage(steps: readonly Running<StepLink>[]): string {
  return [...stepFailures(steps), ...compensationNotes(steps)].join('\n');
}

/** `Step <name>: <error>` for each failed step (compensations apart: see compensationNotes). */
export function stepFailures(steps: readonly Running<StepLink>[]): string[] {
  return steps.filter((s) => s.status === 'FAILED' && !runsOnFailure(s)).map(stepFailure);
}

/** What the compensating steps did (CF.Restore says what it put back), or why they could not. */
export function compensationNotes(steps: readonly Running<StepLink>[]): string[] {
  return steps.flatMap((s) => {
    if (!runsOnFailure(s)) return [];
    if (s.status === 'DONE' && typeof s.output?.restored === 'string') return [`${s.name}: ${String(s.output.restored)}`];
    if (s.status === 'FAILED') return [stepFailure(s)];
    return [];
  });
}

/** What the deployment does next, given its steps (o5's StepNext). */
export function nextMove(steps: readonly Running<StepLink>[]): NextMove {
  const active = steps.some((s) => s.status === 'ACTIVE');
  const failing = steps.some((s) => s.status === 'FAILED');

  if (failing) {
    // Every step still running finishes first: a compensation must not race a sibling's operation.
    if (active) return { kind: 'wait' };
    const recoveries = compensationsDue(steps);
    if (recoveries.length) return { kind: 'run', steps: recoveries };
    return { kind: 'fail', error: failureMessage(steps) };
  }

  const ready = steps.filter((s) => s.status === 'READY');
  if (ready.length) return { kind: 'run', steps: ready.map((s) => s.name) };
  if (active) return { kind: 'wait' };
  const stuck = steps.filter((s) => s.status === 'BLOCKED' && !runsOnFailure(s));
  if (stuck.length) {
    return { kind: 'fail', error: `Deadlock: steps ${stuck.map((s) => s.name).join(', ')} can never run` };
  }
  return { kind: 'done' };
}

/**
 * The compensating steps that can run now: not run yet, and what they compensate for (the step that
 * changed what runs) is DONE. On a failure and on a terminate alike, once no other step runs.
 */
export function compensationsDue(steps: readonly Running<StepLink>[]): string[] {
  return steps.filter((s) => runsOnFailure(s) && s.status === 'BLOCKED' && s.dependsOn.every((d) => isDone(steps, d))).map((s) => s.name);
}

/**
 * The compensations a terminated deployment runs once its stopped steps have settled: those due,
 * if the plan's work was left undone (a step failed, or the terminate skipped it). A terminate
 * whose running steps all ended DONE anyway finished the plan: the new version runs on the schema
 * its migration brought, and putting the previous one back on it is what a failure never does.
 */
export function compensationsOnTerminate(steps: readonly Running<StepLink>[]): string[] {
  const undone = steps.some((s) => !runsOnFailure(s) && (s.status === 'FAILED' || (s.status === 'SKIPPED' && !(s as { skipReason?: string }).skipReason)));
  return undone ? compensationsDue(steps) : [];
}

/** Whether a compensation ran and failed (the stack is left as the failure left it). */
export function compensationFailed(steps: readonly Running<StepLink>[]): boolean {
  return steps.some((s) => runsOnFailure(s) && s.status === 'FAILED');
}

/**
 * Steps that never ran are SKIPPED once the deployment has ended. A terminate keeps its compensating
 * steps (`keep: 'compensations'`) until the steps it stops have settled: one may be due then.
 */
export function skipUnrun<S extends Running<StepLink>>(steps: S[], keep: 'none' | 'compensations' = 'none'): S[] {
  const skips = (s: S) => (s.status === 'BLOCKED' || s.status === 'READY') && !(keep === 'compensations' && runsOnFailure(s) && s.status === 'BLOCKED');
  return steps.map((s) => (skips(s) ? { ...s, status: 'SKIPPED' } : s));
}

/** A compensating step: runs only when the deployment fails, or is terminated, after what it compensates for. */
export function compensates(step: StepLink): boolean {
  return runsOnFailure(step);
}

export function stepNamed<S extends StepLink>(steps: readonly S[], name: string): S | undefined {
  return steps.find((s) => s.name === name);
}
