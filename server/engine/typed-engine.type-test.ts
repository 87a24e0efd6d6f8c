/**
 * Mistakes the type check must catch, one per `@ts-expect-error` line: `npm run typecheck` fails
 * when one of them compiles (an unused directive is an error), and typed-engine.test.ts fails when
 * a line it marks stops being an error. Never run, only compiled.
 */
import type { PgBoss } from 'pg-boss';
import type { TransactionSql } from 'postgres';
import type { MachineEffect } from '../domain/machines/catalogue.ts';
import type { DeploymentStep } from '../domain/machines/deployment-steps.ts';
import type { DeploymentEvent } from '../domain/machines/deployment.ts';
import { JOB_STACK_WAIT, JOB_STATUS_REPORT, JOB_STEP } from '../domain/machines/jobs.ts';
import type { StackEvent } from '../domain/machines/stack.ts';
import type { Engine } from './engine.ts';
import { sendJob, type Settlement } from './jobs.ts';

declare const engine: Engine;
declare const boss: PgBoss;
declare const tx: TransactionSql;
declare const scaleStep: DeploymentStep<'cf_scale'>;
const cause = { kind: 'command', name: 'type-test' } as const;

export async function applyMistakes() {
  await engine.apply('deployment', 'd', { type: 'terminated', reason: 'fine' }, cause);
  // @ts-expect-error a misspelt event type
  await engine.apply('deployment', 'd', { type: 'terminate' }, cause);
  // @ts-expect-error a field the event does not have
  await engine.apply('deployment', 'd', { type: 'terminated', reasons: 'misspelt' }, cause);
  // @ts-expect-error a field of the wrong type
  await engine.apply('deployment', 'd', { type: 'stack_wait_failure', error: 42 }, cause);
  // @ts-expect-error an event of another machine
  await engine.apply('stack', 's', { type: 'triggered' }, cause);
}

export const deploymentEffects: MachineEffect<DeploymentEvent>[] = [
  { kind: 'link', machine: 'stack', entityId: 's', event: { type: 'deployment_completed', deploymentId: 'd' } },
  // @ts-expect-error a link with an event the target machine does not have
  { kind: 'link', machine: 'stack', entityId: 's', event: { type: 'triggered' } },
  // @ts-expect-error a link with a wrong field
  { kind: 'link', machine: 'stack', entityId: 's', event: { type: 'deployment_completed', deployment: 'd' } },
  { kind: 'chain', event: { type: 'run_step', step: 'CF.Update' } },
  // @ts-expect-error a chain with an event of another machine
  { kind: 'chain', event: { type: 'run_deployment', deploymentId: 'd' } },
  { kind: 'job', queue: JOB_STEP, data: { deploymentId: 'd', step: 'CF.Update' } },
  // @ts-expect-error a job whose payload is another queue's
  { kind: 'job', queue: JOB_STEP, data: { deploymentId: 'd' } },
];

export const stackEffects: MachineEffect<StackEvent>[] = [
  // @ts-expect-error a chain with a misspelt event
  { kind: 'chain', event: { type: 'run_deployments', deploymentId: 'd' } },
];

export async function jobMistakes() {
  await sendJob(boss, tx, { kind: 'job', queue: JOB_STACK_WAIT, data: { deploymentId: 'd' } });
  // @ts-expect-error a payload sent to the wrong queue
  await sendJob(boss, tx, { kind: 'job', queue: JOB_STATUS_REPORT, data: { deploymentId: 'd', poll: 1 } });
  // @ts-expect-error a queue that does not exist
  await sendJob(boss, tx, { kind: 'job', queue: 'deployment-steps', data: { deploymentId: 'd', step: 'x' } });
  // @ts-expect-error a poll with the payload of another queue
  const poll: Settlement<typeof JOB_STEP> = { kind: 'poll', after: 1, data: { deploymentId: 'd', poll: 1 } };
  return poll;
}

export function stepMistakes() {
  const { stackName, desiredCount } = scaleStep.input;
  // @ts-expect-error a scale step carries no template
  return [stackName, desiredCount, scaleStep.input.template];
}
