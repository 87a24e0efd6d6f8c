/**
 * How the steps of a running deployment move (o5-domain §2.4, with its defects fixed):
 * which steps become READY, which run next, and when the deployment is done or failed.
 *
 * - Success steps run when every dependency is DONE; all READY steps start together.
 * - On a failure, steps already running finish first; steps that only run on failure (`when:
 *   'failure'`, e.g. ScaleUp.Recover) run once their dependencies are DONE; then the deployment
 *   fails with `Step <name>: <error>` for each failed step.
 * - Steps that never ran are SKIPPED at the end, so no step is left looking as if it might run.
 * - A set of BLOCKED steps that can never run is a real deadlock error, not a silent `done`.
 */

export const stepStatuses = ['BLOCKED', 'READY', 'ACTIVE', 'DONE', 'FAILED', 'SKIPPED'] as const;
export type StepStatus = (typeof stepStatuses)[number];

/** A step as the plan builder makes it. */
export interface PlannedStep {
  name: string;
  type: string;
  dependsOn: string[];
  /** 'failure': a compensating step that runs only when the deployment is failing. */
  when?: 'success' | 'failure';
  input?: unknown;
}

export interface StepOutput {
  /** CloudFormation stack outputs after the step (infra steps). */
  outputs?: Record<string, string>;
  /** Raw status the step ended on, e.g. UPDATE_COMPLETE or "NO UPDATES TO BE PERFORMED". */
  status?: string;
  [key: string]: unknown;
}

export interface DeploymentStep extends PlannedStep {
  status: StepStatus;
  error?: string;
  output?: StepOutput;
  startedAt?: string;
  finishedAt?: string;
}

const isDone = (steps: DeploymentStep[], name: string) => steps.find((s) => s.name === name)?.status === 'DONE';
const runsOnFailure = (s: PlannedStep) => s.when === 'failure';

/** BLOCKED success steps whose dependencies are all DONE become READY. */
export function updateReadiness(steps: DeploymentStep[]): DeploymentStep[] {
  return steps.map((s) =>
    s.status === 'BLOCKED' && !runsOnFailure(s) && s.dependsOn.every((d) => isDone(steps, d)) ? { ...s, status: 'READY' } : s,
  );
}

export function initialSteps(planned: PlannedStep[]): DeploymentStep[] {
  return updateReadiness(planned.map((p) => ({ ...p, status: 'BLOCKED' as StepStatus })));
}

export type NextMove =
  | { kind: 'run'; steps: string[] }
  | { kind: 'wait' }
  | { kind: 'done' }
  | { kind: 'fail'; error: string };

export function failureMessage(steps: DeploymentStep[]): string {
  return steps
    .filter((s) => s.status === 'FAILED')
    .map((s) => (s.error ? `Step ${s.name}: ${s.error}` : `Step ${s.name} failed`))
    .join('\n');
}

/** What the deployment does next, given its steps (o5's StepNext). */
export function nextMove(steps: DeploymentStep[]): NextMove {
  const active = steps.some((s) => s.status === 'ACTIVE');
  const failing = steps.some((s) => s.status === 'FAILED');

  if (failing) {
    const recoveries = steps.filter((s) => runsOnFailure(s) && s.status === 'BLOCKED' && s.dependsOn.every((d) => isDone(steps, d)));
    if (recoveries.length) return { kind: 'run', steps: recoveries.map((s) => s.name) };
    if (active) return { kind: 'wait' };
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

/** Steps that never ran are SKIPPED once the deployment has ended. */
export function skipUnrun(steps: DeploymentStep[]): DeploymentStep[] {
  return steps.map((s) => (s.status === 'BLOCKED' || s.status === 'READY' ? { ...s, status: 'SKIPPED' } : s));
}

export function stepNamed(steps: DeploymentStep[], name: string): DeploymentStep | undefined {
  return steps.find((s) => s.name === name);
}
