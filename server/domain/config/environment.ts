/**
 * The environment config: one deployment target inside a cluster, such as
 * `prod` or `staging-eu`. Its values feed template parameters: custom variables for `fromEnv`
 * env vars, trusted JWKS and CORS origins for the sidecar, links to other environments for
 * cross-environment subscriptions, and named IAM policies for runtimes.
 */
import { MIGRATION_POLICIES } from '../decisions/strategy.ts';
import { z } from 'zod';

const nonEmpty = z.string().min(1, 'Must not be empty');

/** A custom variable's value: a literal, or a list joined with a delimiter. */
const customVariableSchema = z
  .strictObject({
    name: nonEmpty,
    value: z.string().optional(),
    join: z.strictObject({ delimiter: z.string(), values: z.array(z.string()) }).optional(),
  })
  .superRefine((variable, ctx) => {
    const given = [variable.value !== undefined, variable.join !== undefined].filter(Boolean).length;
    if (given !== 1) ctx.addIssue({ code: 'custom', message: 'Exactly one of value, join is required', path: [] });
  });

const environmentLinkSchema = z.strictObject({
  /** The name an application uses in a subscription's `envName`. */
  lookupName: nonEmpty,
  /** The linked environment's full name. */
  fullName: nonEmpty,
  /** ARN prefix of the linked environment's SNS topics. */
  snsPrefix: nonEmpty,
});

const namedIamPolicySchema = z.strictObject({ name: nonEmpty, policyArn: nonEmpty });

const environmentAwsSchema = z.strictObject({
  /** Host header the ALB listener rules match; `*.*` when absent. */
  hostHeader: z.string().min(1).optional(),
  environmentLinks: z.array(environmentLinkSchema).default([]),
  iamPolicies: z.array(namedIamPolicySchema).default([]),
});

export const environmentConfigSchema = z
  .strictObject({
    // With the application's name (at most 63 too), the stack name `<environment>-<app>` stays within CloudFormation's 128.
    fullName: z.string().max(63, 'At most 63 characters').regex(/^[a-z][a-z0-9-]+$/, 'Must match ^[a-z][a-z0-9-]+$ (lowercase letters, digits, hyphens)'),
    /** Informational; optional because an environment inside a cluster document takes that cluster. */
    clusterName: nonEmpty.optional(),
    trustJwks: z.array(z.string()).default([]),
    vars: z.array(customVariableSchema).default([]),
    corsOrigins: z.array(z.string()).default([]),
    aws: environmentAwsSchema.optional(),
    /**
     * Extension of the o5 schema (README, "Plans"): how a full deployment counts a database whose
     * migration check is unknown: breaking (4, the default), migrateFirst (3) or compatible (2).
     */
    migrationPolicy: z.enum(MIGRATION_POLICIES).optional(),
    /** Extension: `required` stops every evaluated deployment in EVALUATED until it is approved or rejected. */
    approval: z.enum(['required', 'none']).optional(),
  })
  .superRefine((env, ctx) => {
    reportDuplicates(env.vars.map((v) => v.name), ['vars'], 'variable', ctx);
    reportDuplicates(env.aws?.environmentLinks.map((l) => l.lookupName) ?? [], ['aws', 'environmentLinks'], 'lookupName', ctx, 'lookupName');
    reportDuplicates(env.aws?.iamPolicies.map((p) => p.name) ?? [], ['aws', 'iamPolicies'], 'policy', ctx);
  });

export type EnvironmentConfig = z.output<typeof environmentConfigSchema>;
export type CustomVariable = EnvironmentConfig['vars'][number];

/** The value a custom variable stands for: the literal, or the joined list. */
export function customVariableValue(variable: CustomVariable): string {
  if (variable.join) return variable.join.values.join(variable.join.delimiter);
  return variable.value ?? '';
}

/** Adds one issue per repeated name, on the repeated entry (`vars[2].name`). */
export function reportDuplicates(
  names: string[],
  listPath: (string | number)[],
  what: string,
  ctx: z.RefinementCtx,
  field = 'name',
): void {
  const seen = new Set<string>();
  names.forEach((name, index) => {
    if (seen.has(name)) {
      ctx.addIssue({ code: 'custom', message: `Duplicate ${what} "${name}"`, path: [...listPath, index, field] });
    }
    seen.add(name);
  });
}
