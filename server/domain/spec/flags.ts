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
