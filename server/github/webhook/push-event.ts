/**
 * What a push delivery asks for: a deployment of the pushed commit, the record of a deleted branch,
 * or nothing (a tag). Only the fields we use are read, so GitHub adding fields changes nothing.
 */
import { z } from 'zod';

const pushPayload = z.object({
  ref: z.string(),
  after: z.string(),
  deleted: z.boolean().optional(),
  repository: z.object({ full_name: z.string().regex(/^[^/]+\/[^/]+$/) }),
});

/**
 * The commit a branch deletion is stored with: GitHub's own `after` of a deletion (no commit).
 * A deletion is stored so that a push re-creating the branch, even at the same commit, is a push of
 * its own (server/github/deliveries.ts); it deploys nothing.
 */
export const BRANCH_DELETED = '0'.repeat(40);

export type PushDecision =
  | { kind: 'deploy'; owner: string; repo: string; branch: string; commit: string }
  | { kind: 'delete'; owner: string; repo: string; branch: string; commit: typeof BRANCH_DELETED }
  | { kind: 'ignore'; reason: string };

const BRANCH_PREFIX = 'refs/heads/';

/** Throws when the payload is not a push event. */
export function decidePush(payload: unknown): PushDecision {
  const push = pushPayload.parse(payload);
  if (!push.ref.startsWith(BRANCH_PREFIX)) return { kind: 'ignore', reason: `${push.ref} is not a branch` };
  const branch = push.ref.slice(BRANCH_PREFIX.length);
  const [owner, repo] = push.repository.full_name.split('/') as [string, string];
  if (push.deleted || /^0+$/.test(push.after)) return { kind: 'delete', owner, repo, branch, commit: BRANCH_DELETED };
  return { kind: 'deploy', owner, repo, branch, commit: push.after };
}
