/**
 * The statements of the GitHub status reporter (status-reporter.ts) on `github_deployments`. Each is
 * one short statement, or one short transaction that calls nothing outside the database: no lock
 * or transaction is ever held while GitHub is called.
 */
import type { Sql } from 'postgres';
import { isNewWish, type Reported, type ReportRow, type StatusReport } from './report-decisions.ts';

export interface TrackedRow {
  trackingId: string;
  owner: string;
  repo: string;
  environment: string;
  commit: string;
}

const COLUMNS = `github_deployment_id::text, reported, reported_seq, wanted, wanted_description, wanted_log_url, wanted_seq,
  creation_requested_at is not null as creation_requested,
  extract(epoch from clock_timestamp() - creation_requested_at)::float8 as creation_requested_seconds_ago, sending_token = $2::uuid as leased`;

type Row = Record<string, any>;

function toReportRow(r: Row): ReportRow & { leased: boolean } {
  return {
    githubDeploymentId: r.github_deployment_id === null ? null : Number(r.github_deployment_id),
    reported: r.reported as Reported | null,
    reportedSeq: r.reported_seq,
    wanted: r.wanted ? { status: r.wanted as Reported, description: r.wanted_description ?? '', ...(r.wanted_log_url ? { logUrl: r.wanted_log_url } : {}) } : null,
    wantedSeq: r.wanted_seq,
    creationRequested: r.creation_requested,
    creationRequestedSecondsAgo: r.creation_requested_seconds_ago,
    leased: r.leased === true,
  };
}

/**
 * Records a report as the row's wish when it asks for something new (isNewWish), creating the row
 * on the first report. A short transaction: the row lock orders concurrent wishes only.
 */
export async function recordWish(sql: Sql, target: TrackedRow, report: StatusReport): Promise<ReportRow> {
  return sql.begin(async (tx) => {
    await tx`
      insert into github_deployments (deployment_id, owner, repo, environment, commit)
      values (${target.trackingId}, ${target.owner}, ${target.repo}, ${target.environment}, ${target.commit})
      on conflict (deployment_id) do nothing`;
    const [locked] = await tx.unsafe(`select ${COLUMNS} from github_deployments where deployment_id = $1 for update`, [target.trackingId, null]);
    const row = toReportRow(locked!);
    if (!isNewWish(row, report)) return row;
    const [wished] = await tx.unsafe(
      `update github_deployments
       set wanted = $3, wanted_description = $4, wanted_log_url = $5, wanted_seq = wanted_seq + 1, updated_at = now()
       where deployment_id = $1 returning ${COLUMNS}`,
      [target.trackingId, null, report.status, report.description, report.logUrl ?? null],
    );
    return toReportRow(wished!);
  }) as Promise<ReportRow>;
}

export type Lease = { kind: 'taken'; row: ReportRow } | { kind: 'held' } | { kind: 'done' };

/**
 * Takes the row's lease for `token` unless GitHub already shows wish `seq`, or another report
 * holds a lease that has not run out.
 */
export async function takeLease(sql: Sql, trackingId: string, token: string, seq: number, leaseSeconds: number): Promise<Lease> {
  const [taken] = await sql.unsafe(
    `update github_deployments set sending_token = $2::uuid, sending_until = now() + $4::int * interval '1 second'
     where deployment_id = $1 and reported_seq < $3::int and reported_seq < wanted_seq
       and (sending_token is null or sending_until < now() or sending_token = $2::uuid)
     returning ${COLUMNS}`,
    [trackingId, token, seq, leaseSeconds],
  );
  if (taken) return { kind: 'taken', row: toReportRow(taken) };
  const [row] = await sql.unsafe(`select ${COLUMNS} from github_deployments where deployment_id = $1`, [trackingId, token]);
  return toReportRow(row!).reportedSeq >= seq ? { kind: 'done' } : { kind: 'held' };
}

/** Before a creation is asked of GitHub: a later holder looks for it there first. Renews the lease. */
export async function recordCreationRequested(sql: Sql, trackingId: string, token: string, leaseSeconds: number): Promise<boolean> {
  const rows = await sql`
    update github_deployments
    set creation_requested_at = coalesce(creation_requested_at, now()), sending_until = now() + ${leaseSeconds} * interval '1 second'
    where deployment_id = ${trackingId} and sending_token = ${token}
    returning 1`;
  return rows.length === 1;
}

/** GitHub's id, as soon as GitHub gives it: whoever records first wins. Renews the lease. */
export async function recordGitHubId(sql: Sql, trackingId: string, token: string, githubId: number, leaseSeconds: number): Promise<ReportRow & { leased: boolean }> {
  const [row] = await sql.unsafe(
    `update github_deployments
     set github_deployment_id = coalesce(github_deployment_id, $3::bigint),
         sending_until = case when sending_token = $2::uuid then now() + $4::int * interval '1 second' else sending_until end, updated_at = now()
     where deployment_id = $1 returning ${COLUMNS}`,
    [trackingId, token, githubId, leaseSeconds],
  );
  return toReportRow(row!);
}

/** A status GitHub accepted, for wish `seq`. Renews the lease. */
export async function recordReported(
  sql: Sql,
  trackingId: string,
  token: string,
  reported: { status: Reported; seq: number },
  leaseSeconds: number,
): Promise<ReportRow & { leased: boolean }> {
  const [row] = await sql.unsafe(
    `update github_deployments
     set reported = case when reported_seq < $4::int then $3 else reported end, reported_seq = greatest(reported_seq, $4::int),
         sending_until = case when sending_token = $2::uuid then now() + $5::int * interval '1 second' else sending_until end, updated_at = now()
     where deployment_id = $1 returning ${COLUMNS}`,
    [trackingId, token, reported.status, reported.seq, leaseSeconds],
  );
  return toReportRow(row!);
}

/**
 * Gives the lease back. `whenCaughtUp`: only if GitHub shows the latest wish, so that a wish
 * recorded while the holder was calling GitHub is sent by the holder (false: read the row again).
 */
export async function releaseLease(sql: Sql, trackingId: string, token: string, { whenCaughtUp }: { whenCaughtUp: boolean }): Promise<boolean> {
  const rows = await sql`
    update github_deployments set sending_token = null, sending_until = null
    where deployment_id = ${trackingId} and sending_token = ${token} and (${!whenCaughtUp} or reported_seq >= wanted_seq)
    returning 1`;
  return rows.length === 1;
}

export async function readReportRow(sql: Sql, trackingId: string, token: string): Promise<ReportRow & { leased: boolean }> {
  const [row] = await sql.unsafe(`select ${COLUMNS} from github_deployments where deployment_id = $1`, [trackingId, token]);
  return toReportRow(row!);
}
