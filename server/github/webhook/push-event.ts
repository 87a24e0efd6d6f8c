/**
 * What a push delivery asks for: a deployment of the pushed commit, or nothing (a deleted branch,
 * a tag). Only the fields we use are read, so GitHub adding fields changes nothing.
 */
import { z } from 'zod';

const pushPayload = z.object({
  ref: z.string(),
  after: z.string(),
  deleted: z.boolean().optional(),
  repository: z.object({ full_name: z.string().regex(/^[^/]+\/[^/]+$/) }),
});

export type PushDecision =
  | { kind: 'deploy'; owner: string; repo: string; branch: string; commit: string }
  | { kind: 'ignore'; reason: string };

const BRANCH_PREFIX = 'refs/heads/';

/** Throws when the payload is not a push event. */
export function decidePush(payload: unknown): PushDecision {
  const push = pushPayload.parse(payload);
  if (!push.ref.startsWith(BRANCH_PREFIX)) return { kind: 'ignore', reason: `${push.ref} is not a branch` };
  const branch = push.ref.slice(BRANCH_PREFIX.length);
  if (push.deleted || /^0+$/.test(push.after)) return { kind: 'ignore', reason: `branch ${branch} was deleted` };
  const [owner, repo] = push.repository.full_name.split('/') as [string, string];
  return { kind: 'deploy', owner, repo, branch, commit: push.after };
}
