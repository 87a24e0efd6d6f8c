/**
 * Containers and their environment variables. A container runs an image (by name
 * in a registry, or a literal URL) with env vars that may point at the app's databases, buckets and
 * secrets, at environment variables of the deployment environment, or at the o5 sidecar.
 */
import { z } from 'zod';
import { exactlyOneOf, protoEnum, protoObject } from './schema-helpers.ts';

/** `[a-zA-Z0-9_-]`: what ECS accepts as a container name. */
const containerName = z.string().regex(/^[a-zA-Z0-9_-]{1,255}$/, 'Must be letters, digits, _ or - (an ECS container name)');

export const DEMANDS = ['DEMAND_UNSPECIFIED', 'DEMAND_LIGHT', 'DEMAND_MEDIUM', 'DEMAND_HEAVY'] as const;
export const O5_VARS = ['O5_VAR_ADAPTER_ENDPOINT'] as const;
/** O5_VAR_UNSPECIFIED is read (as the full name) but refused: o5 fails the build ("unknown O5 var"). */
const O5_VAR_NAMES = ['O5_VAR_UNSPECIFIED', ...O5_VARS];

const envVarSchema = protoObject({
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'Must be a valid environment variable name'),
    /** A literal value. */
    value: z.string().optional(),
    /** The connection string of one of the app's databases. */
    database: protoObject({ databaseName: z.string().min(1) }).optional(),
    /** `s3://<bucket>[/<subPath>]` of one of the app's blobstores. */
    blobstore: protoObject({
        name: z.string().min(1),
        subPath: z.string().optional(),
        // The only format so far; it must be said explicitly, so another can be added later.
        s3Direct: z.boolean().optional(),
      })
      .superRefine((blobstore, ctx) => {
        if (blobstore.s3Direct !== true) {
          ctx.addIssue({ code: 'custom', message: 'Must be true (s3Direct is the only supported format)', path: ['s3Direct'] });
        }
      })
      .optional(),
    /** Declared by the original proto, never implemented: rejected with a clear message. */
    envMap: z.unknown().optional(),
    /** The value of a custom variable of the environment being deployed to. */
    fromEnv: protoObject({ name: z.string().min(1) }).optional(),
    /** A key of one of the app's secrets (the whole secret when jsonKey is absent). */
    secret: protoObject({ secretName: z.string().min(1), jsonKey: z.string().optional() }).optional(),
    /** A value the o5 platform provides (`ADAPTER_ENDPOINT` is read as `O5_VAR_ADAPTER_ENDPOINT`; "" is unset). */
    o5: protoEnum('O5_VAR_', O5_VAR_NAMES, z.enum(O5_VARS).optional()),
  })
  .superRefine((envVar, ctx) => {
    if (envVar.envMap !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'envMap is not supported', path: ['envMap'] });
      return;
    }
    exactlyOneOf(envVar, ['value', 'database', 'blobstore', 'fromEnv', 'secret', 'o5'], ctx);
  });

const imageSchema = protoObject({
  name: z.string().min(1),
  /** Defaults to the version being deployed. */
  tag: z.string().min(1).optional(),
  /** Defaults to the cluster's registry. */
  registry: z.string().min(1).optional(),
});

const containerFields = {
  image: imageSchema.optional(),
  imageUrl: z.string().min(1).optional(),
  command: z.array(z.string()).default([]),
  /** Declared for sizing; every container gets the same CPU and memory for now. */
  demand: protoEnum('DEMAND_', DEMANDS, z.enum(DEMANDS).default('DEMAND_UNSPECIFIED')),
  envVars: z.array(envVarSchema).default([]),
  /** Gives the container /var/run/docker.sock (and ECR pull rights). */
  mountDockerSocket: z.boolean().default(false),
};

function checkContainer(container: { image?: unknown; imageUrl?: unknown; envVars: { name: string }[] }, ctx: z.RefinementCtx) {
  exactlyOneOf(container, ['image', 'imageUrl'], ctx);
  const seen = new Set<string>();
  container.envVars.forEach((v, i) => {
    if (seen.has(v.name)) ctx.addIssue({ code: 'custom', message: `Duplicate env var "${v.name}"`, path: ['envVars', i, 'name'] });
    seen.add(v.name);
  });
}

/** A container of a runtime: its name is how routes and subscriptions target it. */
export const runtimeContainerSchema = protoObject({ name: containerName, ...containerFields }).superRefine(checkContainer);

/**
 * The container that migrates a database; named `migrate` unless said otherwise (an empty name is
 * o5's unset, so `migrate` too: o5's mapPostgresMigration).
 */
export const migrateContainerSchema = protoObject({
  name: z
    .string()
    .regex(/^[a-zA-Z0-9_-]{0,255}$/, 'Must be letters, digits, _ or - (an ECS container name)')
    .default('migrate')
    .overwrite((name) => (name === '' ? 'migrate' : name)),
  ...containerFields,
}).superRefine(checkContainer);

export type Container = z.output<typeof runtimeContainerSchema>;
export type EnvVar = Container['envVars'][number];
