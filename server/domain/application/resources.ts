/**
 * What an application owns or uses besides its runtimes: buckets, secrets,
 * Postgres databases and the topics it publishes to.
 */
import { z } from 'zod';
import { exactlyOneOf, protoObject } from './schema-helpers.ts';
import { migrateContainerSchema } from './container.ts';

/** Lowercase, digits and hyphens: the name becomes part of an S3 bucket name. */
const bucketLabel = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'Must be lowercase letters, digits and hyphens (it is part of a bucket name)');

const blobstoreRefSchema = protoObject({
    /** Read access; the default when neither permission is set. */
    readPermission: z.boolean().default(false),
    /** Write access; does not imply read. */
    writePermission: z.boolean().default(false),
    /** The owning application, in the same environment. */
    application: z.string().regex(/^[a-z][a-z0-9]+$/, 'Must be an application name').optional(),
    /** The full name of a bucket that follows no naming pattern. */
    bucketName: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'Must be a valid S3 bucket name').optional(),
  })
  .superRefine((ref, ctx) => exactlyOneOf(ref, ['application', 'bucketName'], ctx));

export const blobstoreSchema = protoObject({
  name: bucketLabel,
  /** Declared by the original proto; it changes nothing yet. */
  grants: z.array(protoObject({ principal: z.string().default('') })).default([]),
  /** A bucket owned elsewhere: no bucket is created, only permissions are granted. */
  ref: blobstoreRefSchema.optional(),
  /** Owned buckets only: send S3 events to EventBridge. */
  emitEvents: z.boolean().default(false),
  /** Declared by the original proto; it changes nothing yet. */
  sftpSettings: protoObject({ users: z.array(protoObject({ username: z.string().default(''), publicSshKey: z.string().default('') })).default([]) })
    .optional(),
});

export const secretSchema = protoObject({
  name: z.string().regex(/^[A-Za-z0-9_-]+$/, 'Must be letters, digits, _ or -'),
});

/** A database name suffix; "" is what o5 reads as unset. */
const dbNameSuffix = z
  .string()
  .regex(/^[A-Za-z0-9_-]*$/, 'Must be letters, digits, _ or -')
  .optional()
  .overwrite((suffix) => (suffix === '' ? undefined : suffix));

const postgresSchema = protoObject({
    /** Database name inside the server is `<env>_<app>_<suffix>`; the suffix defaults to the database's name. */
    dbNameSuffix,
    /** Deprecated spelling of dbNameSuffix; when both are set, dbNameSuffix is the one used (as in o5). */
    dbName: dbNameSuffix,
    /** Which of the cluster's RDS hosts (`serverGroupName`) holds it; "" (o5's unset) is the default. */
    serverGroup: z
      .string()
      .default('default')
      .overwrite((group) => (group === '' ? 'default' : group)),
    dbExtensions: z.array(z.string().min(1)).default([]),
    /** Run before the new version starts; it gets the database's connection like the app does. */
    migrateContainer: migrateContainerSchema.optional(),
    /**
     * Extension of the o5 schema: a command run in the migrate container's image before a full
     * deployment, whose exit code says whether migrations are pending and which versions work with
     * them (0 none, 2 any order, 3 migrate first, 4 breaking; see README, "Plans").
     */
    migrateCheck: protoObject({ command: z.array(z.string().min(1)).min(1, 'Must name a command') }).optional(),
    /** The first runtime's sidecar publishes this database's outbox. */
    runOutbox: z.boolean().default(false),
    /** The outbox may hold messages to send later. */
    outboxDelayable: z.boolean().default(false),
  })
  .superRefine((pg, ctx) => {
    if (pg.migrateCheck && !pg.migrateContainer) {
      ctx.addIssue({ code: 'custom', message: 'Requires migrateContainer: the check runs in its image', path: ['migrateCheck'] });
    }
    if (pg.outboxDelayable && !pg.runOutbox) {
      ctx.addIssue({ code: 'custom', message: 'Requires runOutbox: true', path: ['outboxDelayable'] });
    }
  });

export const databaseSchema = protoObject({
  /** The key other parts of the config use to refer to the database. */
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'Must start with a letter; letters, digits, _ or -'),
  postgres: postgresSchema,
});

/** Any topic name without spaces: real apps name targets like `/test.v1.topic.TestTopic`. */
export const targetSchema = protoObject({ name: z.string().regex(/^\S+$/, 'Must be a topic name (not empty, no spaces)') });

export type Blobstore = z.output<typeof blobstoreSchema>;
export type Secret = z.output<typeof secretSchema>;
export type Database = z.output<typeof databaseSchema>;
export type Postgres = Database['postgres'];
export type Target = z.output<typeof targetSchema>;

/**
 * The suffix of the database's name inside the server. dbName is the deprecated spelling, used
 * only when dbNameSuffix is not set (o5's appbuilder updateApp does the same).
 */
export function databaseNameSuffix(db: Database): string {
  return db.postgres.dbNameSuffix ?? db.postgres.dbName ?? db.name;
}
