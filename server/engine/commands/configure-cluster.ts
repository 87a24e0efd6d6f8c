/** Cluster and environment configuration: one transaction per upload, all of it or nothing. */
import type { PendingQuery, Row, Sql, TransactionSql } from 'postgres';
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
      await refusedAt(`environments[${index}].fullName`, async () => {
        const stacksThere = await stacksOfMovingEnvironment(tx, env.fullName, doc.name);
        return store.apply(tx, 'environment', environmentId(env.fullName), {
          eventId: newId(),
          event: { type: 'configured', config: { ...env, clusterName: doc.name }, clusterId: id, clusterName: doc.name, ...(stacksThere && { stacksThere }) },
          cause,
        });
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
    return refusedAt('clusterName', async () => {
      const stacksThere = await stacksOfMovingEnvironment(tx, config.fullName, config.clusterName);
      return store.apply(tx, 'environment', environmentId(config.fullName), {
        eventId: newId(),
        event: { type: 'configured', config, clusterId: id, clusterName: config.clusterName, ...(stacksThere && { stacksThere }) },
        cause,
      });
    });
  });
}

/** How many of a cluster's stacks a refusal names. */
const NAMED_STACKS = 3;

/**
 * An environment's stacks that exist or may exist in AWS where its cluster puts them, when the
 * environment is about to move to another cluster (undefined when it stays, or is new): the
 * `configured` transition refuses the move when there is any (server/domain/machines/environment.ts).
 * Its row is locked first, so that a deployment request that may create a stack of it in the former
 * cluster either committed before (and is counted here) or waits and then finds it moved
 * (expectPlacement in server/engine/commands/request-deployment.ts, and the `stack_added` guard).
 */
async function stacksOfMovingEnvironment(tx: TransactionSql, fullName: string, clusterName: string): Promise<string[] | undefined> {
  const current = (await lockEntity(tx, 'environment', environmentId(fullName))) as EntityState<'environment'> | null;
  if (!current?.data.clusterName || current.data.clusterName === clusterName) return undefined;
  return stacksInPlace(tx, tx`s.environment_name = ${fullName}`);
}

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
  const stacks = await stacksInPlace(tx, tx`s.environment_name in (select name from environments where cluster_id = ${id})`);
  if (stacks.length === 0) return;
  const named = namedStacks(stacks);
  const issues = changes.map(({ path, was, is }) => ({
    path,
    message: `Must stay ${was} while the cluster has stacks (${named}): they live there, and their next deployments would create them anew in ${is} and leave them behind`,
  }));
  throw new DomainError('conflict', `cluster '${config.name}' has stacks: its ${changes.map((c) => c.path.slice('aws.'.length)).join(' and ')} cannot change`, issues);
}

/** The first stacks of a list, for a message. */
function namedStacks(stacks: readonly string[]): string {
  return stacks.slice(0, NAMED_STACKS).join(', ') + (stacks.length > NAMED_STACKS ? ' and more' : '');
}

/**
 * How the wait phase refuses a deployment before it looks at anything in AWS: the cluster's account
 * is not the one its role acts in, the role cannot be used, or the deployment names no account
 * (accountCheck in server/infra/cluster-provider.ts; the wait phase asks it first).
 */
const ACCOUNT_REFUSAL = String.raw`^(Cluster \S+ expects AWS account \d+, but |Deployment \S+ names no AWS account of cluster )`;

/**
 * The stacks (of the environments `scope` selects, on the `stacks` table `s`: every stack, also one
 * stored before environments kept a list of theirs) that exist or may exist in AWS where their
 * cluster puts them, first NAMED_STACKS + 1 by name. A stack counts when:
 * - one of its deployments ended DONE (a status other than CREATING or BROKEN says so too);
 * - a deployment runs on it or waits in its queue: planned for the cluster as it is, it may create it;
 * - one of its deployments found a CloudFormation stack there (in the wait phase, even if it failed
 *   there on the stack's state, or repaired it), or started a step (CF.CreateEmpty or CF.Update may
 *   have created it even if it then failed; every other step comes after one, or acts on a found stack);
 * - one of its deployments ended while it may have been looking (terminated or failed in the wait
 *   phase for another reason than its account: whether it saw a stack is not recorded).
 * So a stack does not count when each of its deployments ended FAILED, TERMINATED or SUPERSEDED
 * with no stack found and no step started, and either before it was started, or after the wait phase
 * found no stack (the plan refused, or the deployment was terminated before its first step), or
 * refused by the account check ("nothing was done"): there is no CloudFormation stack of it there.
 */
async function stacksInPlace(tx: TransactionSql, scope: PendingQuery<Row[]>): Promise<string[]> {
  const rows = await tx<{ name: string }[]>`
    select s.name from stacks s
    where ${scope} and (
      s.status not in ('CREATING', 'BROKEN')
      or s.data->'current' <> 'null'::jsonb or s.data->'queue' <> '[]'::jsonb
      or exists (
        select 1 from deployments d where d.stack_id = s.id and not (
          d.status in ('FAILED', 'TERMINATED', 'SUPERSEDED')
          and coalesce(d.data->'stack', 'null'::jsonb) = 'null'::jsonb
          and coalesce(d.data->'recoveries', '[]'::jsonb) = '[]'::jsonb
          and not exists (
            select 1 from jsonb_array_elements(coalesce(d.data->'steps', '[]'::jsonb)) step
            where step->>'status' in ('ACTIVE', 'DONE', 'FAILED') or step ? 'startedAt')
          and (d.data ? 'aws' or d.data->>'startedAt' is null or coalesce(d.data->>'error', '') ~ ${ACCOUNT_REFUSAL}))))
    order by s.name limit ${NAMED_STACKS + 1}`;
  return rows.map((r) => r.name);
}

/** A refusal of an environment's configuration, at `path` in the document that asked it. */
function refusedAt<T>(path: string, apply: () => Promise<T>): Promise<T> {
  return apply().catch((err: unknown) => {
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
