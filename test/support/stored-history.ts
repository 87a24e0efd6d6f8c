/**
 * A deployer database with a history: `count` deployments copied, rows and events, from one real
 * deployment that the engine ran, spread over environments, applications, statuses and versions,
 * with a stack row for each environment and application. Copying in SQL takes a second where
 * running them would take minutes; what the reads meet (row and state sizes, events per
 * deployment, spread of the filter values) is what the engine writes.
 */
import type { Sql } from 'postgres';
import { stackId } from '../../server/domain/ids.ts';

export interface HistoryShape {
  count: number;
  environments: string[];
  /** Applications per environment. */
  applications: number;
}

export const STATUSES_IN_HISTORY = ['DONE', 'DONE', 'DONE', 'FAILED', 'TERMINATED', 'RUNNING', 'QUEUED'];

export async function storeDeploymentHistory(sql: Sql, sourceDeploymentId: string, shape: HistoryShape): Promise<void> {
  const [source] = await sql`select * from deployments where id = ${sourceDeploymentId}`;
  if (!source) throw new Error(`no deployment ${sourceDeploymentId} to copy`);
  const pairs = shape.environments.flatMap((environment) =>
    Array.from({ length: shape.applications }, (_, i) => ({ environment, application: `app-${i}` })),
  );
  await sql.begin(async (tx) => {
    // n: 1..count; the newest (created last) has the highest n. Stack ids are the engine's own.
    await tx`
      create temporary table stack_ids on commit drop as
      select * from unnest(${pairs.map((p) => p.environment)}::text[], ${pairs.map((p) => p.application)}::text[],
                           ${pairs.map((p) => stackId(p.environment, p.application))}::uuid[]) as s(environment_name, application_name, id)`;
    await tx`
      create temporary table history on commit drop as
      select n, gen_random_uuid() as id, s.id as stack_id, s.environment_name, s.application_name,
             'v' || n as app_version,
             (${STATUSES_IN_HISTORY}::text[])[1 + n % ${STATUSES_IN_HISTORY.length}] as status,
             now() - make_interval(secs => ${shape.count} - n) as created_at
      from generate_series(1, ${shape.count}) n
      join stack_ids s on s.environment_name = (${shape.environments}::text[])[1 + n % ${shape.environments.length}]
                      and s.application_name = 'app-' || (n / ${shape.environments.length}) % ${shape.applications}`;
    await tx`
      insert into deployments (id, status, data, version, created_at, updated_at, stack_id, environment_name, application_name, app_version)
      select h.id, h.status,
             d.data || jsonb_build_object('deploymentId', h.id, 'environmentName', h.environment_name,
               'applicationName', h.application_name, 'version', h.app_version, 'createdAt', h.created_at, 'stackId', h.stack_id),
             d.version, h.created_at, h.created_at, h.stack_id, h.environment_name, h.application_name, h.app_version
      from history h cross join deployments d where d.id = ${sourceDeploymentId}`;
    await tx`
      insert into deployment_events (event_id, entity_id, sequence, type, payload, cause, status, data, data_patch, created_at)
      select gen_random_uuid(), h.id, e.sequence, e.type, e.payload, e.cause, e.status, e.data, e.data_patch, h.created_at
      from history h cross join deployment_events e where e.entity_id = ${sourceDeploymentId}
      order by h.n, e.sequence`;
    await tx`
      insert into stacks (id, status, data, version, name, environment_name, application_name)
      select distinct on (h.stack_id) h.stack_id, s.status,
             s.data || jsonb_build_object('name', h.environment_name || '-' || h.application_name,
               'environmentName', h.environment_name, 'applicationName', h.application_name),
             s.version, h.environment_name || '-' || h.application_name, h.environment_name, h.application_name
      from history h cross join stacks s where s.id = ${source.stack_id}
      on conflict do nothing`;
    await tx`
      insert into stack_events (event_id, entity_id, sequence, type, payload, cause, status, data, data_patch, created_at)
      select gen_random_uuid(), s.id, e.sequence, e.type, e.payload, e.cause, e.status, e.data, e.data_patch, e.created_at
      from stacks s cross join stack_events e
      where e.entity_id = ${source.stack_id} and s.id in (select stack_id from history)
        and not exists (select 1 from stack_events mine where mine.entity_id = s.id)
      order by s.id, e.sequence`;
  });
  // The planner's statistics, as autovacuum would have them after such a history.
  await sql`analyze`;
}
