/**
 * The migration check (DB.Evaluate) reading its task: the check container's exit is the answer,
 * not a sidecar's. A database reached through the IAM proxy has the essential `o5_runtime` sidecar
 * in its task; its 0 read as the answer turned a check that never ran into "nothing pending"
 * (the migration skipped).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../config.ts';
import type { DeploymentData } from '../../domain/machines/deployment.ts';
import type { DeploymentStep } from '../../domain/machines/deployment-steps.ts';
import { clientTokenFor } from '../../infra/client-token.ts';
import type { InfraPort, TaskDescription } from '../../infra/port.ts';
import { createLogger } from '../../logger.ts';
import { pgEvaluate } from './evaluated.ts';
import type { StepContext } from './step-executor.ts';

const taskArn = `arn:aws:ecs:us-east-1:000000000000:task/demo-cluster/${randomUUID().replaceAll('-', '')}`;

/** The step's context with an infra that describes one stopped task as given. */
function evaluateContext(containers: TaskDescription['containers']): StepContext<DeploymentStep<'pg_evaluate'>> {
  const deploymentId = randomUUID();
  const step = {
    name: 'DB.Evaluate.main',
    type: 'pg_evaluate',
    dependsOn: [],
    when: 'success',
    status: 'ACTIVE',
    startedAt: new Date().toISOString(),
    input: {
      infraStep: 'CF.Apply',
      database: { migrate: { taskOutputName: 'MigrationTaskDefinition', ecsCluster: 'demo-cluster', containerName: 'migrate', checkCommand: ['check'] } },
    },
  } as unknown as DeploymentStep<'pg_evaluate'>;
  const infra = {
    describeTask: async () => ({ taskArn, lastStatus: 'STOPPED', stopCode: 'EssentialContainerExited', stoppedReason: 'Essential container in task exited', containers }),
  } as Partial<InfraPort> as InfraPort;
  return {
    deployment: { stack: null, steps: [] } as unknown as DeploymentData,
    step,
    endAnnounced: false,
    firstAttempt: false,
    infra,
    config: {} as Config,
    logger: createLogger('silent', { pretty: false }),
    clientToken: clientTokenFor(deploymentId, step.name),
    tokenFor: (label) => clientTokenFor(deploymentId, `${step.name}.${label}`),
    outputsOf: () => ({}),
    previousVersion: async () => null,
    allocatePriorities: async (_listener, _stack, resolve) => resolve([]).value,
  };
}

describe('DB.Evaluate beside a sidecar', () => {
  it('a check container with no exit code is no answer, whatever the sidecar exited with', async () => {
    const progress = await pgEvaluate.check(evaluateContext([{ name: 'migrate' }, { name: 'o5_runtime', exitCode: 0 }]), { taskArn });
    expect(progress).toMatchObject({ kind: 'failed' });
    expect(progress.kind === 'failed' && progress.error).toContain(`(ECS task ${taskArn})`);
  });

  it("the check's own exit is the answer when the sidecar is stopped after it", async () => {
    const progress = await pgEvaluate.check(evaluateContext([{ name: 'o5_runtime', exitCode: 143 }, { name: 'migrate', exitCode: 0 }]), { taskArn });
    expect(progress).toMatchObject({ kind: 'done', output: { exitCode: 0, check: 0 } });
  });

  it('a check that answers non-zero keeps its answer beside a sidecar that exited 0', async () => {
    const progress = await pgEvaluate.check(evaluateContext([{ name: 'o5_runtime', exitCode: 0 }, { name: 'migrate', exitCode: 3 }]), { taskArn });
    expect(progress).toMatchObject({ kind: 'done', output: { exitCode: 3, check: 3 } });
  });
});

