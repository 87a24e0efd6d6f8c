/**
 * The statements of the GitHub status reporter (status-reporter.ts) on `github_deployments`. Each is
 * one short statement, or one short transaction that calls nothing outside the database: no lock
 * or transaction is ever held while GitHub is called.
 */
import type { Sql, TransactionSql } from 'postgres';
import { isNewWish, type Reported, type ReportRow, type StatusReport } from './report-decisions.ts';
import { beginPipelined } from '../../db/pipelined-transaction.ts';

export interface TrackedRow {
  trackingId: string;
  owner: string;
  repo: string;
  environment: string;
  commit: string;
}

/** What a ReportRow is read from; `leased`: whether `token` holds the row's lease (none: false). */
const reportColumns = (sql: Sql | TransactionSql, token: string | null) => sql`
  github_deployment_id::text, reported, reported_seq, wanted, wanted_description, wanted_log_url, wanted_seq,
  creation_requested_at is not null as creation_requested,
  extract(epoch from clock_timestamp() - creation_requested_at)::float8 as creation_requested_seconds_ago,
  coalesce(sending_token = ${token}::uuid, false) as leased`;

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
  return beginPipelined(sql, async (tx) => {
    await tx`
      insert into github_deployments (deployment_id, owner, repo, environment, commit)
      values (${target.trackingId}, ${target.owner}, ${target.repo}, ${target.environment}, ${target.commit})
      on conflict (deployment_id) do nothing`;
    const [locked] = await tx`select ${reportColumns(tx, null)} from github_deployments where deployment_id = ${target.trackingId} for update`;
    const row = toReportRow(locked!);
    if (!isNewWish(row, report)) return row;
    const [wished] = await tx`
      update github_deployments
      set wanted = ${report.status}, wanted_description = ${report.description}, wanted_log_url = ${report.logUrl ?? null},
          wanted_seq = wanted_seq + 1, updated_at = now()
      where deployment_id = ${target.trackingId} returning ${reportColumns(tx, null)}`;
    return toReportRow(wished!);
  }) as Promise<ReportRow>;
}

export type Lease = { kind: 'taken'; row: ReportRow } | { kind: 'held' } | { kind: 'done' };

/**
 * Takes the row's lease for `token` unless GitHub already shows wish `seq`, or another report
 * holds a lease that has not run out.
 */
export async function takeLease(sql: Sql, trackingId: string, token: string, seq: number, leaseSeconds: number): Promise<Lease> {
  const [taken] = await sql`
    update github_deployments set sending_token = ${token}::uuid, sending_until = now() + ${leaseSeconds}::int * interval '1 second'
    where deployment_id = ${trackingId} and reported_seq < ${seq}::int and reported_seq < wanted_seq
      and (sending_token is null or sending_until < now() or sending_token = ${token}::uuid)
    returning ${reportColumns(sql, token)}`;
  if (taken) return { kind: 'taken', row: toReportRow(taken) };
  return (await readReportRow(sql, trackingId, token)).reportedSeq >= seq ? { kind: 'done' } : { kind: 'held' };
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
  const [row] = await sql`
    update github_deployments
    set github_deployment_id = coalesce(github_deployment_id, ${githubId}::bigint),
        sending_until = case when sending_token = ${token}::uuid then now() + ${leaseSeconds}::int * interval '1 second' else sending_until end,
        updated_at = now()
    where deployment_id = ${trackingId} returning ${reportColumns(sql, token)}`;
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
  const [row] = await sql`
    update github_deployments
    set reported = case when reported_seq < ${reported.seq}::int then ${reported.status} else reported end,
        reported_seq = greatest(reported_seq, ${reported.seq}::int),
        sending_until = case when sending_token = ${token}::uuid then now() + ${leaseSeconds}::int * interval '1 second' else sending_until end,
        updated_at = now()
    where deployment_id = ${trackingId} returning ${reportColumns(sql, token)}`;
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
  const [row] = await sql`select ${reportColumns(sql, token)} from github_deployments where deployment_id = ${trackingId}`;
  return toReportRow(row!);
}
