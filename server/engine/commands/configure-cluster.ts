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
      await refusedAt(
        `environments[${index}].fullName`,
        store.apply(tx, 'environment', environmentId(env.fullName), {
          eventId: newId(),
          event: { type: 'configured', config: { ...env, clusterName: doc.name }, clusterId: id, clusterName: doc.name },
          cause,
        }),
      );
    }
    return cluster;
  });
}

export async function configureEnvironment(sql: Sql, store: StateStore, config: EnvironmentConfig & { clusterName: string }, cause: Cause) {
  return inTransaction(sql, async (tx) => {
    const id = clusterId(config.clusterName);
    const cluster = await readEntity(tx, 'cluster', id);
    if (!cluster) throw new NotFoundError(`cluster '${config.clusterName}' does not exist`);
    return refusedAt(
      'clusterName',
      store.apply(tx, 'environment', environmentId(config.fullName), {
        eventId: newId(),
        event: { type: 'configured', config, clusterId: id, clusterName: config.clusterName },
        cause,
      }),
    );
  });
}

/** A refusal of an environment's configuration, at `path` in the document that asked it. */
function refusedAt<T>(path: string, apply: Promise<T>): Promise<T> {
  return apply.catch((err: unknown) => {
    if (err instanceof DomainError) throw new DomainError(err.kind, err.message, err.issues.map((issue) => ({ ...issue, path })));
    throw err;
  });
}

export async function overrideCluster(sql: Sql, store: StateStore, name: string, overrides: ClusterOverride[], cause: Cause) {
  return inTransaction(sql, async (tx) => {
    const id = clusterId(name);
    if (!(await readEntity(tx, 'cluster', id))) throw new NotFoundError(`cluster '${name}' does not exist`);
    return store.apply(tx, 'cluster', id, { eventId: newId(), event: { type: 'override', overrides }, cause });
  });
}
