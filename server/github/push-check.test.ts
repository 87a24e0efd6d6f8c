/**
 * The branch-head check on a real database, with GitHub answered by a stub: which branches it
 * compares with GitHub, against which stored push, and in how many statements.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { NotFoundError } from '../domain/errors.ts';
import type { Engine } from '../engine/engine.ts';
import { createLogger } from '../logger.ts';
import { checkBranchHeads } from './push-check.ts';
import type { GitHubService } from './service.ts';

const INTERVAL_SECONDS = 60;

describe('the branch-head check', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
    const target = (owner: string, repo: string, branches: Record<string, string[]>) =>
      db.sql`insert into push_targets (repo_key, owner, repo, branches, version) values (${`${owner}/${repo}`}, ${owner}, ${repo}, ${db.sql.json(branches)}, 1)`;
    await target('octo', 'one', { main: ['prod'], dev: ['dev'], 'release/*': ['prod'], idle: [] });
    await target('octo', 'two', { main: ['prod'], fresh: ['dev'] });
    const push = (id: string, repo: string, branch: string, commit: string, ageSeconds: number) =>
      db.sql`
        insert into github_deliveries (delivery_id, repo_key, owner, repo, branch, commit, origin, status, received_by, received_at)
        values (${id}, ${`octo/${repo}`}, 'octo', ${repo}, ${branch}, ${commit}, 'push', 'HANDLED', 'test', now() - make_interval(secs => ${ageSeconds}))`;
    await push('p1', 'one', 'main', 'c-old', 3600);
    await push('p2', 'one', 'main', 'c-new', 1800);
    await push('p3', 'one', 'release/1', 'c-release', 3600);
    await push('p4', 'one', 'idle', 'c-idle', 3600);
    await push('p5', 'two', 'main', 'c-two', 3600);
    await push('p6', 'two', 'fresh', 'c-fresh', 1);
  });
  afterAll(() => db?.drop());

  it('reads the last push of every literal branch in one statement, and asks GitHub only for those pushed to before the interval', async () => {
    const statements: string[] = [];
    const sql = postgres(db.url, { max: 1, onnotice: () => {}, debug: (_connection, query) => statements.push(query) });
    const asked: string[] = [];
    const heads: Record<string, string> = { 'one main': 'c-new' };
    const github = {
      client: {
        branchHead: async ({ repo }: { owner: string; repo: string }, branch: string) => {
          asked.push(`${repo} ${branch}`);
          const head = heads[`${repo} ${branch}`];
          if (!head) throw new NotFoundError(`branch ${branch} is gone`);
          return head;
        },
      },
    } as unknown as GitHubService;
    // Nothing is stored (every head is the last push, or gone), so the queue is never used.
    const engine = { deps: { sql, boss: undefined, logger: createLogger('silent', { pretty: false }) } } as unknown as Engine;
    try {
      const result = await checkBranchHeads(engine, github, INTERVAL_SECONDS);
      // `dev` has no push, `release/*` is a pattern, `idle` deploys nowhere, `fresh` was pushed to a second ago.
      expect(asked.sort()).toEqual(['one main', 'two main']);
      expect(result).toEqual({ checked: 2, missed: [] });
      expect(statements.filter((q) => q.includes('github_deliveries'))).toHaveLength(1);
    } finally {
      await sql.end();
    }
  });
});
