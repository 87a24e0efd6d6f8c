/**
 * The template of a resource IMPORT change set (CF.ImportPlan).
 * The application's template is cut down to the resources that outlive a stack (DeletionPolicy
 * Retain): S3 buckets, identified by their bucket name, and Secrets Manager secrets, identified by
 * the ARN of the secret with that name. Everything else goes, outputs too (they would reference
 * resources that are gone); the placeholder the empty stack was created with stays, because an
 * import may not delete the stack's existing resources.
 *
 * Pure: finding out which secrets (and buckets) exist is the caller's job, in between
 * `importCandidates` and `importTemplate`.
 */
import { PLACEHOLDER_RESOURCE_ID, placeholderResource } from './empty-stack.ts';

export interface ImportCandidate {
  logicalId: string;
  resourceType: 'AWS::S3::Bucket' | 'AWS::SecretsManager::Secret';
  /** The physical name: BucketName of a bucket, Name of a secret. */
  physicalName: string;
}

export interface ResourceToImport {
  logicalId: string;
  resourceType: string;
  identifier: Record<string, string>;
}

interface Template {
  Resources?: Record<string, { Type?: string; Properties?: Record<string, unknown> }>;
  Outputs?: unknown;
  [section: string]: unknown;
}

export class ImportTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportTemplateError';
  }
}

export function parseTemplate(body: string): Template {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    throw new ImportTemplateError(`the template is not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ImportTemplateError('the template is not a JSON object');
  }
  return parsed as Template;
}

const NAME_PROPERTY = { 'AWS::S3::Bucket': 'BucketName', 'AWS::SecretsManager::Secret': 'Name' } as const;

/**
 * The importable resources of a template, with their physical names resolved against `values`:
 * the stack's parameter values and the pseudo parameters (`AWS::Region`, ...).
 */
export function importCandidates(template: Template, values: Record<string, string>): ImportCandidate[] {
  const candidates: ImportCandidate[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    const resourceType = resource.Type;
    if (resourceType !== 'AWS::S3::Bucket' && resourceType !== 'AWS::SecretsManager::Secret') continue;
    const property = NAME_PROPERTY[resourceType];
    const raw = resource.Properties?.[property];
    if (raw === undefined) {
      throw new ImportTemplateError(`${logicalId}.${property} is missing: cannot identify the resource to import`);
    }
    const physicalName = resolveValue(raw, values, `${logicalId}.${property}`);
    candidates.push({ logicalId, resourceType, physicalName });
  }
  return candidates;
}

/** The IMPORT template: the given resources, the placeholder, no outputs. */
export function importTemplate(template: Template, imports: ResourceToImport[]): string {
  if (imports.length === 0) throw new ImportTemplateError('no resources to import');
  const resources = template.Resources ?? {};
  const kept: Record<string, unknown> = {};
  for (const { logicalId } of imports) {
    if (!resources[logicalId]) throw new ImportTemplateError(`${logicalId} is not in the template`);
    kept[logicalId] = resources[logicalId];
  }
  kept[PLACEHOLDER_RESOURCE_ID] = placeholderResource;
  const { Outputs: _outputs, Resources: _resources, ...rest } = template;
  return JSON.stringify({ ...rest, Resources: kept });
}

/** Evaluates the few intrinsic functions physical names are built with: Ref, Fn::Join, Fn::Sub. */
export function resolveValue(raw: unknown, values: Record<string, string>, where: string): string {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    const entries = Object.entries(raw);
    if (entries.length === 1) {
      const [fn, arg] = entries[0];
      if (fn === 'Ref' && typeof arg === 'string') return lookup(arg, values, where);
      if (fn === 'Fn::Join' && Array.isArray(arg) && typeof arg[0] === 'string' && Array.isArray(arg[1])) {
        return arg[1].map((part: unknown) => resolveValue(part, values, where)).join(arg[0]);
      }
      if (fn === 'Fn::Sub') return substitute(arg, values, where);
    }
  }
  throw new ImportTemplateError(`${where}: cannot resolve ${JSON.stringify(raw)}`);
}

function substitute(arg: unknown, values: Record<string, string>, where: string): string {
  const [text, variables] = Array.isArray(arg) ? arg : [arg, {}];
  if (typeof text !== 'string' || typeof variables !== 'object' || variables === null) {
    throw new ImportTemplateError(`${where}: malformed Fn::Sub`);
  }
  const local: Record<string, string> = {};
  for (const [name, value] of Object.entries(variables)) local[name] = resolveValue(value, values, where);
  // `${!Literal}` is an escaped `${Literal}`.
  return text.replace(/\$\{(!?)([^}]+)\}/g, (_match, bang: string, name: string) =>
    bang ? `\${${name}}` : Object.hasOwn(local, name) ? local[name] : lookup(name, values, where),
  );
}

function lookup(name: string, values: Record<string, string>, where: string): string {
  if (!Object.hasOwn(values, name)) throw new ImportTemplateError(`${where}: no value for ${name}`);
  return values[name];
}
