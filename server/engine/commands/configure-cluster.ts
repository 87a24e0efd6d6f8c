/** Cluster and environment configuration: one transaction per upload, all of it or nothing. */
import type { Sql, TransactionSql } from 'postgres';
import { clusterOfDocument, type ClusterConfig, type ClusterDocument, type ClusterOverride } from '../../domain/config/cluster.ts';
import type { EnvironmentConfig } from '../../domain/config/environment.ts';
import { DomainError, NotFoundError } from '../../domain/errors.ts';
import { clusterId, environmentId, newId } from '../../domain/ids.ts';
import { stackPlacementChanges } from '../../domain/machines/cluster.ts';
import { lockEntity, readEntity, type EntityState } from '../entities.ts';
import type { Cause, StateStore } from '../state-store.ts';
import { inTransaction } from '../transaction.ts';

export async function configureCluster(sql: Sql, store: StateStore, doc: ClusterDocument, cause: Cause): Promise<EntityState<'cluster'>> {
  return inTransaction(sql, async (tx) => {
    const id = clusterId(doc.name);
    const config = clusterOfDocument(doc);
    await keepStacksInPlace(tx, id, config);
    const cluster = await store.apply(tx, 'cluster', id, {
      eventId: newId(),
      event: { type: 'configured', config },
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

/** How many of a cluster's stacks a refusal names. */
const NAMED_STACKS = 3;

/**
 * Refuses a new account or region of a cluster that has stacks (stackPlacementChanges in
 * server/domain/machines/cluster.ts says why), at its path in the document. The cluster's row is
 * locked first: a deployment request on a stack that holds nothing yet holds a share lock on it
 * (expectPlacement in server/engine/commands/request-deployment.ts), so this waits for it to commit
 * and then finds its deployment; one that comes after finds the new account or region and is refused.
 */
async function keepStacksInPlace(tx: TransactionSql, id: string, config: ClusterConfig): Promise<void> {
  const current = (await lockEntity(tx, 'cluster', id)) as EntityState<'cluster'> | null;
  const before = current?.data.baseConfig;
  const changes = before ? stackPlacementChanges(before, config) : [];
  if (changes.length === 0) return;
  // The stacks of the environments now in the cluster (an environment cannot leave while it has
  // any) that live where it is, or may soon. One that is neither CREATING nor BROKEN has had a
  // deployment end DONE. A CREATING or BROKEN one counts while a deployment runs on it or waits in
  // its queue (planned for here), or once one of its deployments acted on AWS (passed the account
  // check, found or repaired the stack, ran steps). One whose deployments all ended before that (a
  // wrong account refused in the wait phase: "nothing was done") holds nothing there, and does not
  // keep its cluster from being corrected.
  const stacks = await tx<{ name: string }[]>`
    select s.name from stacks s join environments e on e.name = s.environment_name
    where e.cluster_id = ${id} and (
      s.status not in ('CREATING', 'BROKEN')
      or s.data->'current' <> 'null'::jsonb or s.data->'queue' <> '[]'::jsonb
      or exists (
        select 1 from deployments d where d.stack_id = s.id and (
          d.data ? 'aws' or d.data->'stack' <> 'null'::jsonb or d.data->'steps' <> '[]'::jsonb or d.data->'recoveries' <> '[]'::jsonb)))
    order by s.name limit ${NAMED_STACKS + 1}`;
  if (stacks.length === 0) return;
  const named = stacks.slice(0, NAMED_STACKS).map((s) => s.name).join(', ') + (stacks.length > NAMED_STACKS ? ' and more' : '');
  const issues = changes.map(({ path, was, is }) => ({
    path,
    message: `Must stay ${was} while the cluster has stacks (${named}): they live there, and their next deployments would create them anew in ${is} and leave them behind`,
  }));
  throw new DomainError('conflict', `cluster '${config.name}' has stacks: its ${changes.map((c) => c.path.slice('aws.'.length)).join(' and ')} cannot change`, issues);
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
