/** Shapes of the GitHub routes: triggers and push targets. */
import { z } from '@hono/zod-openapi';
import { problemSchema } from '../problem.ts';

/** GitHub logins and repository names: letters, digits, `.`, `_`, `-`. */
export const githubName = z.string().min(1).max(100).regex(/^[A-Za-z0-9._-]+$/, 'Letters, digits, ., _ and - only');

export const repoParams = z.object({
  owner: githubName.openapi({ param: { name: 'owner', in: 'path' }, example: 'octo-org', description: 'Repository owner (user or organization).' }),
  repo: githubName.openapi({ param: { name: 'repo', in: 'path' }, example: 'shop', description: 'Repository name.' }),
});

export const pushTargetBranchesSchema = z
  .record(
    z.string().min(1).max(255),
    z.array(z.string().min(1)).min(1).openapi({ description: 'Environment names.' }),
  )
  .openapi('PushTargetBranches', {
    description: 'Branch name or pattern -> environments. `*` matches any characters, `/` included (`*` alone: every branch).',
    example: { main: ['staging'], 'release/*': ['prod-main'] },
  });

export const pushTargetsBody = z
  .strictObject({ branches: pushTargetBranchesSchema })
  .openapi('PushTargetsRequest', { example: { branches: { main: ['demo'], 'release/*': ['demo'] } } });

export const pushTargetsSchema = z
  .object({
    owner: z.string(),
    repo: z.string(),
    branches: pushTargetBranchesSchema,
    version: z.number().int().openapi({ description: 'Number of writes so far.' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('PushTargets');

export const pushTargetEventSchema = z
  .object({
    version: z.number().int(),
    branches: pushTargetBranchesSchema,
    actor: z.string().openapi({ description: 'Who wrote this version.' }),
    createdAt: z.string(),
  })
  .openapi('PushTargetEvent');

export const pushLookupSchema = z
  .object({
    owner: z.string(),
    repo: z.string(),
    branch: z.string(),
    environments: z.array(z.string()).openapi({ description: 'Where a push to this branch deploys; empty when nowhere.' }),
    patterns: z.array(z.string()).openapi({ description: 'The branch patterns that matched.' }),
  })
  .openapi('PushLookup');

export const githubSourceSchema = z
  .strictObject({
    owner: githubName.openapi({ example: 'octo-org' }),
    repo: githubName.openapi({ example: 'shop' }),
    ref: z.string().min(1).max(255).openapi({ example: 'main', description: 'A branch, a tag or a commit SHA (full or short).' }),
    deliveryId: z.string().min(1).max(100).optional().openapi({
      description:
        'Set by the webhook receiver: the push delivery this trigger comes from. It is kept with the deployment, and a push ' +
        'that cannot be deployed is then also reported to GitHub as a failed deployment.',
    }),
  })
  .openapi('GitHubSource');

/** Answers of operations that call GitHub; the shared errorResponses() does not list these. */
export const githubErrorResponses = {
  502: {
    description: 'GitHub failed or refused the deployer (problem+json).',
    content: { 'application/problem+json': { schema: problemSchema } },
  },
  503: {
    description: 'GitHub is not configured on this deployer (problem+json).',
    content: { 'application/problem+json': { schema: problemSchema } },
  },
};
