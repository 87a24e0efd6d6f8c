/**
 * Deletes the change sets a deployment made and never executed (CF.Plan's in a NOP branch or a
 * re-planned CF.Apply, or any when the deployment ended early), once the deployment has ended:
 * a change set left behind would clutter the stack and could be executed by mistake.
 */
import { unexecutedChangeSets } from '../../domain/machines/deployment.ts';
import type { ChangeSetCleanupJob } from '../../domain/machines/jobs.ts';
import { clusterInfraOf } from '../../infra/cluster-provider.ts';
import type { Engine } from '../engine.ts';
import { readEntity, type EntityState } from '../entities.ts';

export async function handleChangeSetCleanupJob(engine: Engine, job: { data: ChangeSetCleanupJob; deployment?: EntityState<'deployment'> }): Promise<{ kind: 'finish' }> {
  // Sent by the deployment's last transition: as that left it, when it was handed over.
  const deployment = job.deployment ?? (await readEntity(engine.deps.sql, 'deployment', job.data.deploymentId));
  if (!deployment?.data.spec) return { kind: 'finish' };
  const names = unexecutedChangeSets(deployment.data);
  if (names.length === 0) return { kind: 'finish' };
  const infra = clusterInfraOf(engine.deps.infra, deployment.data);
  const check = await infra.checkAccount();
  if (!check.ok) {
    engine.deps.logger.warn({ deploymentId: deployment.id, error: check.error }, 'change sets left: the account check failed');
    return { kind: 'finish' };
  }
  for (const changeSetName of names) {
    await infra.deleteChangeSet({ stackName: deployment.data.spec.cfStackName, changeSetName });
  }
  return { kind: 'finish' };
}
