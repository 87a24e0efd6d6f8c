/**
 * Push targets: which environments a push to a branch of a repository deploys to. One document
 * per repository, `{ branches: { "<branch or pattern>": ["<environment>", ...] } }`; every write
 * is kept as an event.
 *
 * Patterns: `*` matches any run of characters, `/` included (`*` alone is every branch, as in o5;
 * `release/*` is `release/1.2` and `release/1.2/hotfix`); every other character is literal. A push
 * deploys to the union of the environments of every pattern its branch matches.
 */
import type { Sql } from 'postgres';
import type { PushTargetBranches } from '../../db/schema/github.ts';
import { DomainError, formatPath, type FieldIssue } from '../domain/errors.ts';
import { beginPipelined } from '../../db/pipelined-transaction.ts';

export type { PushTargetBranches };

export interface PushTargets {
  owner: string;
  repo: string;
  branches: PushTargetBranches;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface PushTargetEvent {
  version: number;
  branches: PushTargetBranches;
  actor: string;
  createdAt: string;
}

/** GitHub names are case-insensitive: `Octo/Repo` and `octo/repo` are one repository. */
export const repoKey = (owner: string, repo: string) => `${owner}/${repo}`.toLowerCase();

export function branchMatches(pattern: string, branch: string): boolean {
  const regex = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
  return regex.test(branch);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The environments a push to `branch` deploys to, and which patterns matched, each sorted by name. */
export function targetsOfBranch(branches: PushTargetBranches, branch: string): { environments: string[]; patterns: string[] } {
  const patterns = Object.keys(branches).filter((pattern) => branchMatches(pattern, branch)).sort();
  const environments = [...new Set(patterns.flatMap((pattern) => branches[pattern]!))].sort();
  return { environments, patterns };
}

/** Rules the schema cannot say: patterns are branch names, environments exist. */
async function checkBranches(sql: Sql, branches: PushTargetBranches): Promise<void> {
  const issues: FieldIssue[] = [];
  for (const pattern of Object.keys(branches)) {
    if (pattern.startsWith('refs/')) {
      issues.push({ path: formatPath(['branches', pattern]), message: 'Write the branch name without refs/heads/' });
    }
  }
  if (issues.length) throw new DomainError('validation', `Invalid push targets: ${issues[0]!.path}: ${issues[0]!.message}`, issues);

  const names = [...new Set(Object.values(branches).flat())];
  const rows = names.length ? await sql`select name from environments where name = any(${names})` : [];
  const known = new Set(rows.map((r) => r.name as string));
  const missing = names.filter((name) => !known.has(name));
  if (missing.length === 0) return;
  for (const [pattern, environments] of Object.entries(branches)) {
    environments.forEach((environment, i) => {
      if (!known.has(environment)) issues.push({ path: formatPath(['branches', pattern, i]), message: `Environment '${environment}' does not exist` });
    });
  }
  throw new DomainError('not_found', `Unknown environment${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`, issues);
}

/** Replaces a repository's push targets (creating them the first time) and records the write. */
export async function putPushTargets(
  sql: Sql,
  target: { owner: string; repo: string; branches: PushTargetBranches },
  by: { actor: string; requestId?: string },
): Promise<PushTargets> {
  await checkBranches(sql, target.branches);
  const key = repoKey(target.owner, target.repo);
  return beginPipelined(sql, async (tx) => {
    const [row] = await tx`
      insert into push_targets (repo_key, owner, repo, branches, version)
      values (${key}, ${target.owner}, ${target.repo}, ${tx.json(target.branches)}, 1)
      on conflict (repo_key) do update
        set owner = excluded.owner, repo = excluded.repo, branches = excluded.branches,
            version = push_targets.version + 1, updated_at = now()
      returning *`;
    await tx`
      insert into push_target_events (repo_key, version, branches, actor, request_id)
      values (${key}, ${row!.version}, ${tx.json(target.branches)}, ${by.actor}, ${by.requestId ?? null})`;
    return toPushTargets(row!);
  }) as Promise<PushTargets>;
}

export async function getPushTargets(sql: Sql, owner: string, repo: string): Promise<PushTargets | null> {
  const [row] = await sql`select * from push_targets where repo_key = ${repoKey(owner, repo)}`;
  return row ? toPushTargets(row) : null;
}

/** Writes of a repository's push targets, oldest first, after the given version. */
export async function listPushTargetEvents(sql: Sql, owner: string, repo: string, page: { afterVersion: number; limit: number }) {
  const rows = await sql`
    select version, branches, actor, created_at from push_target_events
    where repo_key = ${repoKey(owner, repo)} and version > ${page.afterVersion}
    order by version
    limit ${page.limit}`;
  return rows.map(
    (r): PushTargetEvent => ({ version: r.version, branches: r.branches, actor: r.actor, createdAt: new Date(r.created_at).toISOString() }),
  );
}

function toPushTargets(row: Record<string, any>): PushTargets {
  return {
    owner: row.owner,
    repo: row.repo,
    branches: row.branches,
    version: row.version,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}
