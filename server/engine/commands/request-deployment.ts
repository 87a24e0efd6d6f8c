/**
 * A deployment request: where a deployment is born. The application config is validated, the
 * environment and cluster resolved, the template and spec built (server/domain/spec), the template
 * stored under its deterministic key, and then, in one transaction, the deployment is created and
 * queued on its stack, and started at once when the stack is idle.
 *
 * The same deployment id with the same request returns the deployment that exists; with another
 * request it is a conflict. That makes a client's retry safe.
 */
import type { RequestedStrategy } from '../../domain/decisions/strategy.ts';
import { createHash } from 'node:crypto';
import type { JSONValue, Sql, TransactionSql } from 'postgres';
import { readApplication as readApplicationDocument, type Application, type LegacyFieldWarning, type ReadApplication } from '../../domain/application/index.ts';
import type { DeploymentEvent, DeploymentSource } from '../../domain/machines/deployment.ts';
import { ConflictError, DomainError, NotFoundError, ValidationError } from '../../domain/errors.ts';
import { isUuid, newId, stackId } from '../../domain/ids.ts';
import {
  buildDeploymentSpec,
  databaseNameClaims,
  databaseNameTakenMessage,
  refusedFlags,
  type BuildDeploymentSpecInput,
  type DatabaseNameHolder,
  type DeploymentFlags,
  type DeploymentSpec,
  type PostgresSpec,
  type StackNaming,
} from '../../domain/spec/index.ts';
import type { ClusterConfig } from '../../domain/config/cluster.ts';
import { storeTemplateInClusterAccount } from '../../infra/cluster-provider.ts';
import type { Engine } from '../engine.ts';
import { canonicalJson } from '../../domain/canonical-json.ts';
import { readEntity, readEnvironmentAndCluster, type EntityRow, type EntityState } from '../entities.ts';
import { RecentResults } from '../../domain/recent-results.ts';
import type { AppliedTransition, Cause } from '../state-store.ts';
import type { WaitingFor } from '../../domain/decisions/stack-queue.ts';
import type { StackData } from '../../domain/machines/stack.ts';
import { waitingForDeployment } from '../waiting.ts';
import { beginPipelined } from '../../../db/pipelined-transaction.ts';

export interface DeploymentRequest {
  deploymentId?: string;
  /** Environment name (or id). */
  environment: string;
  version: string;
  /** The application config as an object... */
  application?: unknown;
  /** ...or as YAML (or JSON) text. */
  applicationYaml?: string;
  flags?: DeploymentFlags;
  /** The branch of an evaluated full plan, `auto` (EvalJoin chooses) by default. */
  strategy?: RequestedStrategy;
  /** `required`: wait in EVALUATED for approve or reject, whatever the environment says. */
  approval?: 'required';
  source?: DeploymentSource;
}

export interface RequestedDeployment {
  deployment: EntityRow<'deployment'>;
  /** Why it waits, when it is queued behind others (server/engine/waiting.ts). */
  waitingFor: WaitingFor | null;
  /** False when the same request had already created it. */
  created: boolean;
  /** Legacy keys in the application config, read as their current spelling. */
  warnings: LegacyFieldWarning[];
}

/** Prefixes the paths of a nested document's issues with where it sits in the request. */
function within(prefix: string, err: unknown): never {
  if (err instanceof ValidationError) {
    throw new ValidationError(err.message, err.issues.map((i) => ({ path: i.path ? `${prefix}.${i.path}` : prefix, message: i.message })));
  }
  if (err instanceof DomainError && err.kind === 'malformed') {
    throw new DomainError('malformed', err.message, err.issues.map((i) => ({ ...i, path: prefix })));
  }
  throw err;
}

/** Where the request carries its application config: the prefix of every path into it. */
export function applicationField(request: Pick<DeploymentRequest, 'applicationYaml'>): 'application' | 'applicationYaml' {
  return request.applicationYaml !== undefined ? 'applicationYaml' : 'application';
}

/** The request's own fields among the paths of a spec's issues; every other path is into the application config. */
const REQUEST_FIELDS = new Set(['deploymentId', 'version']);

/**
 * buildDeploymentSpec, with the paths of its issues into the request as sent
 * (`applicationYaml.databases[0].postgres.serverGroup`), as the application's parse errors have them.
 */
export function buildRequestedSpec(field: 'application' | 'applicationYaml', input: BuildDeploymentSpecInput): ReturnType<typeof buildDeploymentSpec> {
  try {
    return buildDeploymentSpec(input);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    throw new ValidationError(
      err.message,
      err.issues.map((i) => (REQUEST_FIELDS.has(i.path) ? i : { ...i, path: i.path ? `${field}.${i.path}` : field })),
    );
  }
}

/**
 * The request's application config, with a warning for each legacy key in it (paths into the
 * request: `application.runtimes[0].routes[0].bypass_ingress`). `application` must be the value as
 * sent, not one a route's validator has already read (that has the current spellings only).
 */
export function readApplication(request: Pick<DeploymentRequest, 'application' | 'applicationYaml'>): ReadApplication {
  if ((request.application === undefined) === (request.applicationYaml === undefined)) {
    throw new ValidationError('Send the application config either as `application` or as `applicationYaml`', [
      { path: 'application', message: 'Exactly one of application and applicationYaml is required' },
    ]);
  }
  const field = applicationField(request);
  let read: ReadApplication;
  try {
    read =
      request.applicationYaml !== undefined
        ? readApplicationText(request.applicationYaml)
        : readApplicationDocument(request.application, 'yaml');
  } catch (err) {
    within(field, err);
  }
  return { application: read.application, warnings: read.warnings.map((w) => ({ ...w, path: `${field}.${w.path}` })) };
}

/**
 * Application configs read lately, by their text: a service deploys the same o5.yaml again and
 * again (only the version changes), and reading it (YAML, then the schema) costs a request more
 * than building its template and spec. The text alone decides what is read.
 */
const readTexts = new RecentResults<string, ReadApplication>(64);
/** Longer texts are read each time, so that what is remembered stays a few MB at most (an o5.yaml is a few KB). */
const LONGEST_REMEMBERED_TEXT = 64 * 1024;

/** The application config in `text`; each caller gets its own copy (the remembered one is never handed out). */
export function readApplicationText(text: string): ReadApplication {
  if (text.length > LONGEST_REMEMBERED_TEXT) return readApplicationDocument(text, 'yaml');
  return structuredClone(readTexts.get(text, (t) => readApplicationDocument(t, 'yaml')));
}

/** An environment by name or id, with the effective config of its cluster (one statement); 404 for either missing. */
export async function loadEnvironment(sql: Sql | TransactionSql, nameOrId: string) {
  const found = await readEnvironmentAndCluster(sql, nameOrId, isUuid(nameOrId));
  if (!found) throw new NotFoundError(`environment '${nameOrId}' does not exist`);
  const { environment: env, cluster } = found;
  if (!cluster) throw new NotFoundError(`cluster '${env.data.clusterName}' of environment '${env.data.name}' does not exist`);
  return { environmentId: env.id, environment: env.data, clusterId: cluster.id, cluster: cluster.data };
}

export async function requestDeployment(engine: Engine, request: DeploymentRequest, cause: Cause): Promise<RequestedDeployment> {
  const { sql, infra, config } = engine.deps;
  const { application, warnings } = readApplication(request);
  const deploymentId = request.deploymentId ?? newId();
  // The environment and its cluster in one statement; with the deployment of a given id (a repeated
  // request) in one read-only transaction, so that both are read at one moment. A new id has no
  // deployment to read.
  const [{ environmentId, environment, clusterId, cluster }, existing] = request.deploymentId
    ? await beginPipelined(sql, (tx) => Promise.all([loadEnvironment(tx, request.environment), readEntity(tx, 'deployment', deploymentId)]), 'read only')
    : [await loadEnvironment(sql, request.environment), null];
  const requestHash = createHash('sha256')
    .update(canonicalJson({ environment: environment.name, version: request.version, application, flags: request.flags ?? {}, strategy: request.strategy ?? 'auto', approval: request.approval ?? null }))
    .digest('hex');

  if (existing) {
    if (existing.data.requestHash !== requestHash) {
      throw new ConflictError(`deployment ${deploymentId} exists with a different request`);
    }
    return { deployment: existing, waitingFor: await waitingForDeployment(sql, existing), created: false, warnings };
  }

  const { spec, template } = buildRequestedSpec(applicationField(request), {
    deploymentId,
    application,
    version: request.version,
    environment: environment.config!,
    cluster: cluster.config!,
    flags: request.flags,
    ...(request.strategy && { strategy: request.strategy }),
    ...(request.approval && { approval: request.approval }),
    templateBucket: config.aws.templateBucket,
  });
  const refused = refusedFlags(spec.flags, request.flags);
  if (refused.length > 0) throw new ValidationError(refused.map((r) => r.message).join('; '), refused);
  // Before the transaction, and safe to repeat: the key is derived from the deployment. In the
  // cluster's account and region; in a wrong account nothing is stored, and the wait phase says why.
  const clusterInfra = infra.forCluster(spec.aws, deploymentId);
  const { url: templateUrl } = await storeTemplateInClusterAccount(clusterInfra, { key: spec.template.key, body: JSON.stringify(template) });

  // The first try inserts the deployment unread (its id is new, or was not found above): a
  // concurrent twin's insert fails it (23505), and the next try reads.
  let firstTry = true;
  const { deployment, stack } = await engine.transaction(async (tx, applied) => {
    // The transaction's time, which the new row's timestamps take: the answer needs no read after.
    const now = tx<{ at: string }[]>`select now() as at`.execute();
    // Awaited below, after the writes; a lost connection rejects it first.
    now.catch(() => undefined);
    const assumeAbsent = firstTry;
    firstTry = false;
    const planned = {
      clusterId,
      clusterName: cluster.name,
      environmentId,
      environmentName: environment.name,
      stackId: stackId(environment.name, application.name),
      ...placementOf(cluster.config!),
    };
    // Asked before the deployment's writes, and awaited after them. Failed on the first try, it is
    // tried again (40001); failed again, on a try that read afresh, the cluster has moved: a refusal.
    const placed = expectPlacement(tx, planned).then(() => undefined, (err: unknown) => Promise.reject(assumeAbsent ? err : movedSincePlanned(planned, err)));
    placed.catch(() => undefined);
    // Asked before the writes too, and awaited after them: fails the transaction when another
    // stack's database has the name of one of this deployment's on its server.
    const namesFree = expectDatabaseNamesFree(tx, requestedDatabaseNames(applicationField(request), application, environment.name, spec));
    namesFree?.catch(() => undefined);
    const state = await createDeployment(
      engine,
      tx,
      applied,
      deploymentId,
      {
        stackId: planned.stackId,
        environmentName: environment.name,
        environmentId,
        clusterId,
        applicationName: application.name,
        version: request.version,
        spec,
        templateUrl,
        requestHash,
        source: request.source ?? { kind: 'api' },
      },
      cause,
      assumeAbsent ? { assumed: 'absent' } : {},
    ).catch(async (err: unknown) => {
      // The statements after a failed placement check fail only because it did (and the next try says why).
      const moved = await placed.then(() => undefined, (placementFailure: unknown) => placementFailure);
      if (moved) throw moved;
      const taken = await namesFree?.then(() => undefined, (namesFailure: unknown) => namesFailure);
      if (taken) err = taken;
      // Refused on a stack that may hold a twin of this request committed since it was looked for
      // (under a `reject` policy, its own deployment makes the stack busy): the next try reads.
      if (assumeAbsent && err instanceof DomainError) throw new ReadBeforeRefusing(err);
      throw err;
    });
    await placed;
    await namesFree;
    const [{ at }] = await now;
    // As this transaction leaves it (a twin's, read, has its own timestamps), and its stack as queued here.
    const created: EntityRow<'deployment'> = 'createdAt' in state ? (state as EntityRow<'deployment'>) : { ...state, createdAt: at, updatedAt: at };
    // Its writes were its last statements: the claim of its first job and the COMMIT went with them.
    return { deployment: created, stack: applied.findLast((t) => t.machine === 'stack')?.data as StackData | undefined };
  }, { claimWithWrites: true });
  // Why it waits, read after the commit where it waits for another deployment. The deployment is
  // made either way: a failed read does not fail the request (a client would ask again, and make another).
  const waitingFor = await waitingForDeployment(sql, deployment, stack).catch((err: unknown) => {
    engine.deps.logger.warn({ err, deploymentId }, 'could not read why the new deployment waits; answered without it');
    return null;
  });
  return { deployment, waitingFor, created: true, warnings };
}

/** Where a cluster puts its stacks: what a cluster with stacks may not change (server/domain/machines/cluster.ts). */
function placementOf(cluster: ClusterConfig) {
  return { awsAccount: cluster.aws.awsAccount, awsRegion: cluster.aws.awsRegion };
}

interface PlannedPlacement {
  clusterId: string;
  clusterName: string;
  environmentId: string;
  environmentName: string;
  stackId: string;
  awsAccount: string;
  awsRegion: string;
}

/**
 * A new stack is created in the account and region of its cluster as this request read them,
 * before its transaction. A cluster whose stacks hold nothing in AWS may move to another account or
 * region, and an environment whose stacks hold nothing to another cluster
 * (server/engine/commands/configure-cluster.ts); so where the stack is new, or CREATING or BROKEN
 * (it may hold nothing yet), this fails the transaction (40001) unless the cluster is still where it
 * was, with a share lock on its row; and, where the stack exists (CREATING or BROKEN: a new one
 * joins its environment by `stack_added`, whose guard checks the same under the same lock), unless
 * the environment is still in that cluster, with a lock on its row. Held to the commit, the locks
 * make a concurrent move (which locks those rows first) wait and then see this deployment (and
 * refuse); a move that committed first fails these checks. A stack that had a deployment end DONE
 * keeps its cluster and its environment in place, and nothing is locked. Two statements, the
 * cluster's row first: a move of the cluster locks it before its environments' rows.
 */
function expectPlacement(tx: TransactionSql, p: PlannedPlacement): Promise<unknown> {
  const cluster = tx`select deployer_expect_version((
      select count(*)::int from (
        select 1 from clusters
        where id = ${p.clusterId} and data->'config'->'aws'->>'awsAccount' = ${p.awsAccount} and data->'config'->'aws'->>'awsRegion' = ${p.awsRegion}
        for key share) placed), 1, ${`cluster ${p.clusterName} in account ${p.awsAccount}, region ${p.awsRegion},`})
    where not exists (select 1 from stacks where id = ${p.stackId} and status not in ('CREATING', 'BROKEN'))`.execute();
  const environment = tx`select deployer_expect_version((
      select count(*)::int from (
        select 1 from environments where id = ${p.environmentId} and cluster_id = ${p.clusterId}
        for update) placed), 1, ${`environment ${p.environmentName} in cluster ${p.clusterName},`})
    where exists (select 1 from stacks where id = ${p.stackId} and status in ('CREATING', 'BROKEN'))`.execute();
  environment.catch(() => undefined);
  return Promise.all([cluster, environment]);
}

/** A failed placement check, on a try that read afresh: the cluster, or the environment, moved since the deployment was planned. */
function movedSincePlanned(p: PlannedPlacement, err: unknown): unknown {
  if ((err as { code?: unknown } | null)?.code !== '40001') return err;
  const message = String((err as { message?: unknown }).message).startsWith(`environment ${p.environmentName} in cluster `)
    ? `environment '${p.environmentName}' moved to another cluster after this deployment was planned in cluster '${p.clusterName}'; request the deployment again`
    : `cluster '${p.clusterName}' moved to another AWS account or region after this deployment was planned for account ${p.awsAccount}, region ${p.awsRegion}; request the deployment again`;
  return new DomainError('conflict', message, [{ path: 'environment', message }]);
}

export interface DatabaseNamesCheck {
  clusterName: string;
  own: StackNaming;
  databases: readonly PostgresSpec[];
  /** Where a refused database is in what the caller sent (the problem's path), by its key in the app config. */
  pathOf: (appKey: string) => string;
  /** The path of a refusal whose holder was not seen (see below). */
  databasesPath: string;
}

/** The database names check of a deployment request (or of its render): refusals at the request's paths. */
export function requestedDatabaseNames(
  field: 'application' | 'applicationYaml',
  application: Application,
  environmentName: string,
  spec: Pick<DeploymentSpec, 'clusterName' | 'databases'>,
): DatabaseNamesCheck {
  return {
    clusterName: spec.clusterName,
    own: { environmentName, applicationName: application.name },
    databases: spec.databases,
    pathOf: (appKey) => `${field}.databases[${application.databases.findIndex((d) => d.name === appKey)}].postgres.dbNameSuffix`,
    databasesPath: `${field}.databases`,
  };
}

/**
 * The servers a database (`db`, a PostgresSpec as jsonb) of a deployment in cluster `clusterName`
 * (whose clusters row's effective `aws` config is `cluster`) is on, as SQL: one key per thing that
 * names its host. An IAM host names its endpoint and port; a host reached through a root secret is
 * the one that secret names (the same secret in the same account and region is the same host), and
 * the one its cluster entry's `endpoint` and `port` name when given; and every host is the one its
 * cluster and server group name (what a cluster document that renames a root secret, or adds or
 * changes an endpoint, still calls that server). Two databases are on the same server when they
 * share any key, whichever cluster and server group they were reached through. The expressions are
 * this module's own (column references), never values.
 */
function serverKeysSql(db: string, serverGroup: string, account: string, region: string, cluster: string, clusterName: string): string {
  // Each expression in parentheses: `||` and `->` bind alike, left to right.
  const host = (endpoint: string, port: string) => `'host:' || lower(rtrim((${endpoint}), '.')) || ':' || coalesce((${port}), '5432')`;
  const secret = `(${db}->'adminConnection'->'secretsManager'->>'secretName')`;
  const aurora = (field: string) => `(${db}->'adminConnection'->'aurora'->>'${field}')`;
  return `(
    select ${host(aurora('endpoint'), aurora('port'))} as server
    where ${aurora('endpoint')} is not null
    union
    select 'secret:' || (${account}) || ':' || (${region}) || ':' || ${secret}
    where ${secret} is not null and (${account}) is not null and (${region}) is not null
    union
    select ${host(`rds_host->>'endpoint'`, `rds_host->>'port'`)}
    from jsonb_array_elements(coalesce((${cluster})->'rdsHosts', '[]'::jsonb)) rds_host
    where rds_host->>'serverGroupName' = (${serverGroup}) and rds_host->>'endpoint' is not null
    union
    select 'group:' || jsonb_build_array((${clusterName}), (${serverGroup}))::text
    where (${clusterName}) is not null and (${serverGroup}) is not null)`;
}

/** What the check's error carries (deployer_expect_version's `what`): the holders it found, as JSON after this. */
const HOLDERS_FOUND = 'database name holders ';

/**
 * Refuses a database name that another stack's database has on the same server: its deployment
 * would take over that database's role (a new password, written to its own secret) and its data
 * (server/domain/spec/database-names.ts). The same server is the same host, not only the same
 * cluster and server group: two clusters (or two server groups) whose entries name one host share
 * its databases and roles; and one server group stays the server it was when its root secret is
 * renamed (serverKeysSql). What another stack has is what the specs of its deployments say:
 * - every database of its last deployment that ended DONE (what it applied, or destroyed and its
 *   app still lists: its next deployment makes it again) and of every one requested since (what it
 *   will do);
 * - and a database an earlier deployment may have made (it ended DONE with it, or started its
 *   DB.Upsert step) that no later one destroyed (DB.Destroy DONE): one the app no longer lists still
 *   exists, with its role and its data, until it is destroyed, and nobody else may take it.
 * Only the stacks that could make the name are read, by the index on environment, application and
 * time, and a name only its own stack can make (most names) costs nothing. Each of their
 * deployments is read once, whatever the length of their history: one pass takes from each its
 * databases with a wanted name and the DB.Destroy steps of those it finished, the last finished
 * destroy of each (name, server group) is grouped from that, and each database is compared with it,
 * not with every later deployment. The servers are compared for the distinct databases found, not
 * per deployment.
 *
 * Two first deployments making one name at once (neither sees the other's deployment yet) take
 * turns: each takes an advisory lock per name before it reads (whatever the server: two requests
 * for one name on two servers wait for each other needlessly, which is rare and short), held to its
 * commit, and the read, a statement after the lock in this read-committed transaction, sees what
 * the other committed. A lock rather than a table of claims with a unique key: the deployments
 * already say which stack has which name (a table would need a migration and a backfill, and would
 * have to follow each stack's config), and only requests whose name another stack could make take it.
 *
 * Asked before the deployment's writes and not awaited before them (the request costs no round
 * trip more): one statement, which fails the transaction (40001, deployer_expect_version) when a
 * holder is found, so nothing the writes did commits; its error carries the holders, to name them.
 * Undefined when there is nothing to check. Rollbacks (rollback.ts) and renders (server/api/render)
 * run it too: the first in their own transaction, the second in a read-only one.
 */
export function expectDatabaseNamesFree(tx: TransactionSql, check: DatabaseNamesCheck): Promise<void> | undefined {
  const { claims, otherStacks } = databaseNameClaims(check.own, check.databases);
  if (claims.length === 0) return undefined;
  // In the claims' order: two requests never wait for each other's second lock.
  for (const lockKey of new Set(claims.map((c) => c.lockKey))) {
    tx`select pg_advisory_xact_lock(hashtextextended(${lockKey}, 0))`.execute().catch(() => undefined);
  }
  const names = [...new Set(claims.map((c) => c.fullDbName))];
  const wanted = claims.map((claim) => ({ app_key: claim.appKey, cluster_name: check.clusterName, db: check.databases.find((d) => d.appKey === claim.appKey)! }));
  const guarded = tx`
    with wanted as (
      select w.app_key, w.db->>'fullDbName' as full_db_name, k.server
      from jsonb_to_recordset(${tx.json(wanted as unknown as JSONValue)}::jsonb) as w(app_key text, cluster_name text, db jsonb)
      left join clusters c on c.name = w.cluster_name
      cross join lateral ${tx.unsafe(serverKeysSql('w.db', "w.db->>'serverGroup'", "c.data->'config'->'aws'->>'awsAccount'", "c.data->'config'->'aws'->>'awsRegion'", "c.data->'config'->'aws'", 'w.cluster_name'))} k
    ),
    -- One pass over the stacks' deployments, each read by the index on environment, application
    -- and time: from each, its databases with a wanted name (and whether it may have made them)
    -- and the DB.Destroy steps it finished for those names.
    history as materialized (
      select s.environment_name, s.application_name, d.created_at, d.status,
        x.spec->>'clusterName' as cluster_name, x.spec->'aws' as aws, named.databases, destroyed.databases as destroyed
      from unnest(${otherStacks.map((s) => s.environmentName)}::text[], ${otherStacks.map((s) => s.applicationName)}::text[]) as s(environment_name, application_name)
      cross join lateral (
        select d.created_at, d.status, d.data from deployments d
        where d.environment_name = s.environment_name and d.application_name = s.application_name
        offset 0) d
      cross join lateral (
        select d.data->'spec' as spec, coalesce(d.data->'steps', '[]'::jsonb) as steps,
          d.status = 'DONE' and not coalesce((d.data->'spec'->'flags'->>'destroyDatabase')::boolean, false) as applied
        offset 0) x
      cross join lateral (
        select jsonb_agg(jsonb_build_object(
            'db', jsonb_build_object('appKey', db->'appKey', 'fullDbName', db->'fullDbName', 'serverGroup', db->'serverGroup', 'adminConnection', db->'adminConnection'),
            'mayHaveMade', x.applied or exists (
              select 1 from jsonb_array_elements(x.steps) step
              where step->>'name' = 'DB.Upsert.' || (db->>'appKey') and step->>'status' in ('ACTIVE', 'DONE', 'FAILED')))) as databases
        from jsonb_array_elements(coalesce(x.spec->'databases', '[]'::jsonb)) db
        where db->>'fullDbName' = any(${names}::text[])) named
      cross join lateral (
        select jsonb_agg(jsonb_build_array(step->'input'->'database'->>'fullDbName', step->'input'->'database'->>'serverGroup')) as databases
        from jsonb_array_elements(x.steps) step
        where step->>'type' = 'pg_destroy' and step->>'status' = 'DONE' and step->'input'->'database'->>'fullDbName' = any(${names}::text[])) destroyed
    ),
    -- Each stack's last deployment that ended DONE (none: all of its deployments count).
    last_applied as (
      select h.environment_name, h.application_name, coalesce(max(h.created_at) filter (where h.status = 'DONE'), '-infinity'::timestamptz) as created_at
      from history h group by 1, 2
    ),
    last_destroyed as (
      select h.environment_name, h.application_name, gone->>0 as full_db_name, gone->>1 as server_group, max(h.created_at) as created_at
      from history h cross join lateral jsonb_array_elements(coalesce(h.destroyed, '[]'::jsonb)) gone
      group by 1, 2, 3, 4
    ),
    held as (
      select distinct h.environment_name, h.application_name, h.cluster_name,
        h.aws->>'account' as account, h.aws->>'region' as region, named->'db' as db
      from history h
      join last_applied applied on applied.environment_name = h.environment_name and applied.application_name = h.application_name
      cross join lateral jsonb_array_elements(coalesce(h.databases, '[]'::jsonb)) named
      left join last_destroyed gone on gone.environment_name = h.environment_name and gone.application_name = h.application_name
        and gone.full_db_name = named->'db'->>'fullDbName' and gone.server_group = named->'db'->>'serverGroup'
      where h.created_at >= applied.created_at
        or ((named->>'mayHaveMade')::boolean and (gone.created_at is null or gone.created_at <= h.created_at))
    ),
    found as (
      select distinct w.app_key as wanted_key, h.environment_name, h.application_name, h.db->>'appKey' as app_key,
        h.db->>'fullDbName' as full_db_name, h.db->>'serverGroup' as server_group, h.cluster_name
      from held h
      left join clusters hc on hc.name = h.cluster_name
      cross join lateral ${tx.unsafe(
        serverKeysSql(
          'h.db',
          "h.db->>'serverGroup'",
          "coalesce(h.account, hc.data->'config'->'aws'->>'awsAccount')",
          "coalesce(h.region, hc.data->'config'->'aws'->>'awsRegion')",
          "hc.data->'config'->'aws'",
          'h.cluster_name',
        ),
      )} k
      join wanted w on w.full_db_name = h.db->>'fullDbName' and w.server = k.server
    )
    select deployer_expect_version(count(*)::int, 0, ${HOLDERS_FOUND} || coalesce(jsonb_agg(to_jsonb(found))::text, '[]'))
    from found`.execute();
  return guarded.then(
    () => undefined,
    (err: unknown) => {
      if ((err as { code?: unknown } | null)?.code !== '40001') throw err;
      const holderOf = new Map<string, { holder: DatabaseNameHolder; clusterName: string }>();
      for (const r of holdersIn(err)) {
        holderOf.set(r.wanted_key, {
          holder: { environmentName: r.environment_name, applicationName: r.application_name, appKey: r.app_key, fullDbName: r.full_db_name, serverGroup: r.server_group },
          clusterName: r.cluster_name,
        });
      }
      const issues = claims.flatMap((claim) => {
        const held = holderOf.get(claim.appKey);
        if (!held) return [];
        return [{ path: check.pathOf(claim.appKey), message: databaseNameTakenMessage(held.clusterName, held.holder) }];
      });
      // Holders the error does not name (its message could not be read): named generally.
      if (issues.length === 0) {
        const message = `a database name of this deployment is already that of another stack's database on the same server; choose another dbNameSuffix`;
        issues.push({ path: check.databasesPath, message });
      }
      throw new DomainError('conflict', issues[0]!.message, issues);
    },
  );
}

/** The holders the check's error names (empty when it is another 40001). */
function holdersIn(err: unknown): { wanted_key: string; environment_name: string; application_name: string; app_key: string; full_db_name: string; server_group: string; cluster_name: string }[] {
  const message = String((err as { message?: unknown }).message);
  const end = message.lastIndexOf(' is at version ');
  if (!message.startsWith(HOLDERS_FOUND) || end < 0) return [];
  try {
    return JSON.parse(message.slice(HOLDERS_FOUND.length, end));
  } catch {
    return [];
  }
}

/** A refusal of a request whose deployment was assumed absent: tried again (40001), reading it. */
class ReadBeforeRefusing extends Error {
  readonly code = '40001';
  constructor(cause: DomainError) {
    super(`refused without reading the deployment (${cause.message}); trying again with a read`, { cause });
  }
}

/** What a deployment starts with: its `created` event (the engine sets the time). */
export type DeploymentCreation = Omit<Extract<DeploymentEvent, { type: 'created' }>, 'type' | 'at'>;

/**
 * Applies a deployment's `created` event (which queues it on its stack) inside the caller's
 * transaction. The deployment id is the event id: a concurrent identical request becomes a no-op.
 */
export function createDeployment(
  engine: Engine,
  tx: TransactionSql,
  applied: AppliedTransition[],
  deploymentId: string,
  creation: DeploymentCreation,
  cause: Cause,
  options: { assumed?: 'absent' } = {},
): Promise<EntityState<'deployment'>> {
  return engine.store.apply(tx, 'deployment', deploymentId, { eventId: deploymentId, event: { type: 'created', ...creation }, cause }, applied, options);
}
