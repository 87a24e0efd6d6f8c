/**
 * Deployment flags: how a deployment runs, chosen per request. All default to
 * false; an application whose config says `deploymentConfig.quickMode` always deploys in quick mode.
 */
import { z } from 'zod';
import type { Application } from '../application/index.ts';

export const deploymentFlagsSchema = z.strictObject({
  /** Skip scaling down and up: one infra update at desired count 1 (existing stack). */
  quickMode: z.boolean().optional(),
  /** New database user and secret even if the database exists (Secrets Manager databases). */
  rotateCredentials: z.boolean().optional(),
  /** While waiting for the stack, cancel an update in progress so it rolls back to a stable state. */
  cancelUpdates: z.boolean().optional(),
  /** Only run the database steps against the existing stack. */
  dbOnly: z.boolean().optional(),
  /** Only apply the CloudFormation template, at desired count 0. */
  infraOnly: z.boolean().optional(),
  /** Create an empty stack, then import the retained resources (buckets, secrets) into it. */
  importResources: z.boolean().optional(),
  /** Scale down and drop every database of the application. */
  destroyDatabase: z.boolean().optional(),
  /** Scale down, drop and re-create every database, migrate, scale up. */
  recreateDatabase: z.boolean().optional(),
});

/** Flags as requested: any subset. */
export type DeploymentFlags = z.output<typeof deploymentFlagsSchema>;

/** Flags as a spec holds them: every flag said. */
export type ResolvedDeploymentFlags = Required<{ [K in keyof DeploymentFlags]: boolean }>;

export const FLAG_NAMES = Object.keys(deploymentFlagsSchema.shape) as (keyof DeploymentFlags)[];

export function resolveFlags(requested: DeploymentFlags | undefined, app: Application): ResolvedDeploymentFlags {
  const flags = Object.fromEntries(FLAG_NAMES.map((name) => [name, requested?.[name] ?? false])) as ResolvedDeploymentFlags;
  if (app.deploymentConfig?.quickMode) flags.quickMode = true;
  return flags;
}

/**
 * Flags refused at request time because they would break what runs: a password rotation changes
 * the app role's password at DB.Upsert, and in quick mode or dbOnly the application's tasks keep
 * running through the deployment with the old one (quick mode even starts the new version before
 * the rotation). The full plan, and recreateDatabase, stop the service before they rotate. Each
 * refusal as `{ path, message }` into the request.
 */
export function refusedFlags(flags: ResolvedDeploymentFlags, requested: DeploymentFlags | undefined): Array<{ path: string; message: string }> {
  if (!flags.rotateCredentials) return [];
  // A flag that wins over these (build-plan.ts) plans no rotation with the service running.
  if (flags.importResources || flags.infraOnly || flags.destroyDatabase || flags.recreateDatabase) return [];
  const mode = flags.dbOnly ? 'dbOnly' : flags.quickMode ? (requested?.quickMode ? 'quickMode' : "quick mode (the application's deploymentConfig.quickMode)") : null;
  if (!mode) return [];
  return [
    {
      path: 'flags.rotateCredentials',
      message:
        `rotateCredentials cannot be combined with ${mode}: the application keeps running through that deployment, and its tasks ` +
        'would lose their database login when the password changes. Rotate with a full deployment, which stops the service first.',
    },
  ];
}
