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

/** A delivery id is read back by id in a path (`GET /v1/github/deliveries/{deliveryId}`): no `/`, `?` or spaces. GitHub sends a UUID. */
const deliveryId = z.string().min(1).max(100).regex(/^[A-Za-z0-9._:-]+$/, 'Letters, digits, ".", "_", ":" or "-" only (GitHub sends a UUID)');

export const githubSourceSchema = z
  .strictObject({
    owner: githubName.openapi({ example: 'octo-org' }),
    repo: githubName.openapi({ example: 'shop' }),
    ref: z.string().min(1).max(255).openapi({ example: 'main', description: 'A branch, a tag or a commit SHA (full or short).' }),
    deliveryId: deliveryId.optional().openapi({
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

export const deliveryBody = z
  .strictObject({
    deliveryId: deliveryId.openapi({ example: '72d3162e-cc78-11e3-81ab-4c9367dc0958', description: "GitHub's X-GitHub-Delivery." }),
    owner: githubName.openapi({ example: 'octo-org' }),
    repo: githubName.openapi({ example: 'shop' }),
    branch: z
      .string()
      .min(1)
      .max(255)
      .refine((branch) => !branch.startsWith('refs/'), 'The branch name, without refs/heads/')
      .openapi({ example: 'main' }),
    commit: z
      .string()
      .regex(/^[0-9a-f]{40}$/, 'A full commit SHA: 40 lower-case hexadecimal digits')
      .openapi({
        example: '6dcb09b5b57875f334f61aebed695e2e4193db5e',
        description: "The pushed commit; for a deletion of the branch, `0000000000000000000000000000000000000000` (GitHub's `after`), which deploys nothing.",
      }),
  })
  .openapi('DeliveryRequest', {
    example: { deliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958', owner: 'octo-org', repo: 'shop', branch: 'main', commit: '6dcb09b5b57875f334f61aebed695e2e4193db5e' },
  });

const deliveryOutcomeSchema = z
  .object({
    environment: z.string(),
    deploymentId: z.string().uuid(),
    result: z.enum(['requested', 'refused', 'skipped']).openapi({
      description:
        '`skipped`: not requested, because the pushed commit was no longer the head of the branch on GitHub when the push was ' +
        'handled (a newer push superseded it, or an old push was sent again).',
    }),
    status: z.string().optional().openapi({ description: 'requested: the deployment\'s status when it was requested.' }),
    reason: z.string().optional().openapi({ description: 'refused: why (also reported to GitHub as a failed deployment). skipped: why.' }),
  })
  .openapi('DeliveryOutcome');

export const deliverySchema = z
  .object({
    deliveryId: z.string(),
    owner: z.string(),
    repo: z.string(),
    branch: z.string(),
    commit: z.string().openapi({
      example: '6dcb09b5b57875f334f61aebed695e2e4193db5e',
      description: 'The pushed commit; `0000000000000000000000000000000000000000` for a deletion of the branch (nothing is deployed; see `note`).',
    }),
    origin: z.enum(['push', 'missed']).openapi({ description: '`missed`: made by the branch-head check for a push whose delivery never arrived.' }),
    status: z.enum(['RECEIVED', 'HANDLED']).openapi({ description: 'HANDLED once every deployment of the push was requested (or refused).' }),
    outcome: z.array(deliveryOutcomeSchema).nullable().openapi({ description: 'Per target environment; null until handled.' }),
    note: z.string().nullable().openapi({ description: 'Why nothing was requested: no push targets for the branch, the same commit came twice, or the push was skipped (no longer the head of the branch).' }),
    receivedBy: z.string(),
    receivedAt: z.string(),
    handledAt: z.string().nullable(),
  })
  .openapi('Delivery');

export const deliveryParams = z.object({
  deliveryId: z.string().min(1).max(120).openapi({ param: { name: 'deliveryId', in: 'path' }, example: '72d3162e-cc78-11e3-81ab-4c9367dc0958' }),
});
