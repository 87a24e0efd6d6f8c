/**
 * The application config, `o5.yaml`: what an app is made of, independent of where
 * it is deployed. Field names are lowerCamelCase and enums are stored by their full names
 * (`ROUTE_PROTOCOL_HTTP`), as the original system's JSON form has them.
 *
 * Read as o5 reads it (j5codec, after YAML -> JSON): a field given as null (`envVars:` with
 * nothing after it, `port: ~`) is unset, as if the key were not there; an enum may be written
 * without its prefix (`HTTP`), and "" is the enum's unset value (schema-helpers.ts).
 *
 * Checks that span several parts of the document (an env var naming a database that is not
 * declared, two runtimes with the same name...) are validation issues with the path of the
 * offending field, like any other mistake.
 */
import { z } from 'zod';
import { noDuplicates, protoObject } from './schema-helpers.ts';
import { parseDocument, validateDocument, type DocumentFormat } from '../documents.ts';
import type { Container } from './container.ts';
import { legacyFieldWarnings, type LegacyFieldWarning } from './legacy-fields.ts';
import { blobstoreSchema, databaseSchema, secretSchema, targetSchema } from './resources.ts';
import { runtimeSchema } from './runtime.ts';

export const applicationSchema = protoObject({
    /** Part of stack, resource and bucket names: lowercase letters and digits only. */
    name: z.string().max(63, 'At most 63 characters').regex(/^[a-z][a-z0-9]+$/, 'Must match ^[a-z][a-z0-9]+$ (lowercase letters and digits, no hyphens)'),
    /** Topics the app publishes to. */
    targets: z.array(targetSchema).default([]),
    blobstores: z.array(blobstoreSchema).default([]),
    databases: z.array(databaseSchema).default([]),
    runtimes: z.array(runtimeSchema).default([]),
    secrets: z.array(secretSchema).default([]),
    deploymentConfig: protoObject({
        /** Deploy in one stack update without scaling down first (forces the quickMode flag). */
        quickMode: z.boolean().default(false),
      })
      .optional(),
  })
  .superRefine((app, ctx) => {
    if (app.runtimes.length === 0) ctx.addIssue({ code: 'custom', message: 'No runtimes defined', path: ['runtimes'] });
    noDuplicates(app.runtimes, 'name', ['runtimes'], 'runtime', ctx);
    noDuplicates(app.databases, 'name', ['databases'], 'database', ctx);
    noDuplicates(app.blobstores, 'name', ['blobstores'], 'blobstore', ctx);
    noDuplicates(app.secrets, 'name', ['secrets'], 'secret', ctx);
    noDuplicates(app.targets, 'name', ['targets'], 'target', ctx);
    checkEnvVarReferences(app, ctx);
    checkRoutePrefixes(app, ctx);
  });

export type Application = z.output<typeof applicationSchema>;

/** An application config as read, with what should be renamed in it. */
export interface ReadApplication {
  application: Application;
  /** Legacy (snake_case) keys that were read as their current spelling. */
  warnings: LegacyFieldWarning[];
}

/**
 * Reads an application config (text or an already parsed value) and says which legacy keys it
 * uses. Throws DomainError('malformed') or ValidationError with paths, like parseApplication.
 */
export function readApplication(input: string | unknown, format: DocumentFormat = 'yaml'): ReadApplication {
  const value = typeof input === 'string' ? parseDocument(input, format) : input;
  const application = validateDocument(applicationSchema, value, 'application config');
  return { application, warnings: legacyFieldWarnings(applicationSchema, value) };
}

/**
 * Reads an application config: YAML or JSON text (format defaults to YAML, which also reads JSON),
 * or an already parsed value. Throws DomainError('malformed') or ValidationError with paths.
 */
export function parseApplication(input: string | unknown, format: DocumentFormat = 'yaml'): Application {
  const value = typeof input === 'string' ? parseDocument(input, format) : input;
  return validateDocument(applicationSchema, value, 'application config');
}

type AppShape = Pick<Application, 'databases' | 'blobstores' | 'secrets' | 'runtimes'>;

/** Every env var that names a database, blobstore or secret must name a declared one. */
function checkEnvVarReferences(app: AppShape, ctx: z.RefinementCtx): void {
  const declared = {
    database: new Set(app.databases.map((d) => d.name)),
    blobstore: new Set(app.blobstores.map((b) => b.name)),
    secret: new Set(app.secrets.map((s) => s.name)),
  };
  const check = (container: Container, containerPath: (string | number)[]) =>
    container.envVars.forEach((envVar, i) => {
      const at = [...containerPath, 'envVars', i];
      if (envVar.database && !declared.database.has(envVar.database.databaseName)) {
        ctx.addIssue({ code: 'custom', message: `Unknown database "${envVar.database.databaseName}"`, path: [...at, 'database', 'databaseName'] });
      }
      if (envVar.blobstore && !declared.blobstore.has(envVar.blobstore.name)) {
        ctx.addIssue({ code: 'custom', message: `Unknown blobstore "${envVar.blobstore.name}"`, path: [...at, 'blobstore', 'name'] });
      }
      if (envVar.secret && !declared.secret.has(envVar.secret.secretName)) {
        ctx.addIssue({ code: 'custom', message: `Unknown secret "${envVar.secret.secretName}"`, path: [...at, 'secret', 'secretName'] });
      }
    });
  app.runtimes.forEach((runtime, r) => runtime.containers.forEach((c, i) => check(c, ['runtimes', r, 'containers', i])));
  app.databases.forEach((db, d) => {
    if (db.postgres.migrateContainer) check(db.postgres.migrateContainer as Container, ['databases', d, 'postgres', 'migrateContainer']);
  });
}

/**
 * Each route prefix gets one listener rule, named after the prefix, so two routes with the same
 * prefix (even in different runtimes) would be one rule. The Go code let the second silently
 * replace the first; here it is an error.
 */
function checkRoutePrefixes(app: AppShape, ctx: z.RefinementCtx): void {
  const seen = new Map<string, string>();
  app.runtimes.forEach((runtime, r) =>
    runtime.routes.forEach((route, i) => {
      const first = seen.get(route.prefix);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', message: `Duplicate route prefix "${route.prefix}" (also at ${first})`, path: ['runtimes', r, 'routes', i, 'prefix'] });
      } else {
        seen.set(route.prefix, `runtimes[${r}].routes[${i}]`);
      }
    }),
  );
}
