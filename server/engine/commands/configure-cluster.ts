/** Cluster and environment configuration: one transaction per upload, all of it or nothing. */
import type { Sql } from 'postgres';
import { clusterOfDocument, type ClusterDocument, type ClusterOverride } from '../../domain/config/cluster.ts';
import type { EnvironmentConfig } from '../../domain/config/environment.ts';
import { DomainError, NotFoundError } from '../../domain/errors.ts';
import { clusterId, environmentId, newId } from '../../domain/ids.ts';
import { readEntity, type EntityState } from '../entities.ts';
import type { Cause, StateStore } from '../state-store.ts';
import { inTransaction } from '../transaction.ts';

export async function configureCluster(sql: Sql, store: StateStore, doc: ClusterDocument, cause: Cause): Promise<EntityState<'cluster'>> {
  return inTransaction(sql, async (tx) => {
    const id = clusterId(doc.name);
    const cluster = await store.apply(tx, 'cluster', id, {
      eventId: newId(),
      event: { type: 'configured', config: clusterOfDocument(doc) },
      cause,
    });
    for (const [index, env] of doc.environments.entries()) {
      await refuseMovingDeployedEnvironment(tx, env.fullName, doc.name, `environments[${index}].fullName`);
      await store.apply(tx, 'environment', environmentId(env.fullName), {
        eventId: newId(),
        event: { type: 'configured', config: { ...env, clusterName: doc.name }, clusterId: id, clusterName: doc.name },
        cause,
      });
    }
    return cluster;
  });
}

export async function configureEnvironment(sql: Sql, store: StateStore, config: EnvironmentConfig & { clusterName: string }, cause: Cause) {
  return inTransaction(sql, async (tx) => {
    const id = clusterId(config.clusterName);
    const cluster = await readEntity(tx, 'cluster', id);
    if (!cluster) throw new NotFoundError(`cluster '${config.clusterName}' does not exist`);
    await refuseMovingDeployedEnvironment(tx, config.fullName, config.clusterName, 'clusterName');
    return store.apply(tx, 'environment', environmentId(config.fullName), {
      eventId: newId(),
      event: { type: 'configured', config, clusterId: id, clusterName: config.clusterName },
      cause,
    });
  });
}

/**
 * An environment with stacks stays in its cluster: its stacks live in that cluster's account and
 * region, and a document of another cluster that names it would move them there unseen (the next
 * deployment would create the stack anew elsewhere and leave the old one running). One without
 * stacks may move.
 */
async function refuseMovingDeployedEnvironment(tx: Parameters<Parameters<typeof inTransaction>[1]>[0], name: string, clusterName: string, path: string): Promise<void> {
  const existing = await readEntity(tx, 'environment', environmentId(name));
  if (!existing || existing.data.clusterName === clusterName || (existing.data.stacks ?? []).length === 0) return;
  const message = `environment '${name}' belongs to cluster '${existing.data.clusterName}' and has stacks there; it cannot move to cluster '${clusterName}'`;
  throw new DomainError('conflict', message, [{ path, message }]);
}

export async function overrideCluster(sql: Sql, store: StateStore, name: string, overrides: ClusterOverride[], cause: Cause) {
  return inTransaction(sql, async (tx) => {
    const id = clusterId(name);
    if (!(await readEntity(tx, 'cluster', id))) throw new NotFoundError(`cluster '${name}' does not exist`);
    return store.apply(tx, 'cluster', id, { eventId: newId(), event: { type: 'override', overrides }, cause });
  });
}
