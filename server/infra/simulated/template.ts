/**
 * What the simulated CloudFormation reads from a template: it checks the parameters the way
 * CloudFormation does (undeclared ones and missing required ones are ValidationErrors), and it makes
 * up the outputs a real stack would report: a plausible ARN for each declared output, from the
 * resource the output refers to.
 */
import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { resolveValue } from '../../domain/cloudformation/import-template.ts';
import { RecentResults } from '../../domain/recent-results.ts';
import { InfraError } from '../port.ts';

/** The account of a simulated infra made without one (tests of the simulator alone). */
export const ACCOUNT_ID = '000000000000';

interface TemplateResource {
  readonly Type?: string;
  readonly Properties?: Readonly<Record<string, unknown>>;
}

/** Read only: a parsed template is shared by the calls that read the same body (parseStoredTemplate). */
export interface Template {
  readonly Parameters?: Readonly<Record<string, { readonly Type?: string; readonly Default?: unknown; readonly NoEcho?: unknown }>>;
  readonly Resources: Readonly<Record<string, TemplateResource>>;
  readonly Outputs?: Readonly<Record<string, { readonly Value?: unknown }>>;
}

/** JSON or YAML, as CloudFormation accepts; YAML short tags (`!Ref X`) read as their argument. */
export function parseTemplate(body: string): Template {
  let parsed: unknown;
  try {
    parsed = body.trimStart().startsWith('{') ? JSON.parse(body) : parseYaml(body, { logLevel: 'silent' });
  } catch (err) {
    throw new InfraError('ValidationError', `Template format error: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InfraError('ValidationError', 'Template format error: JSON not well-formed.');
  }
  const template = parsed as Partial<Template>;
  if (!template.Resources || Object.keys(template.Resources).length === 0) {
    throw new InfraError('ValidationError', 'Template format error: At least one Resources member must be defined.');
  }
  return template as Template;
}

/**
 * Stored templates parsed lately, by the sha256 that names their body: a body never changes, and the
 * calls of one deployment parse the same few over and over (its change set, its execution, its
 * scale-down and scale-up). A template handed out is shared: its type is read only (freezing it
 * cost two fifths of a parse). A body that does not parse is not kept: it throws each time.
 */
const parsedBySha256 = new RecentResults<string, Template>(256);

/** A stored template, parsed (parseTemplate). */
export function parseStoredTemplate(stored: { sha256: string; body: string }): Template {
  return parsedBySha256.get(stored.sha256, () => {
    const template = parseTemplate(stored.body);
    rememberNoEcho(stored.sha256, template);
    return template;
  });
}

/** The parameters the template declares NoEcho (`true`, or the string CloudFormation reads as it): described masked. */
export function noEchoParameters(template: Template): string[] {
  return Object.entries(template.Parameters ?? {})
    .filter(([, declaration]) => declaration?.NoEcho === true || String(declaration?.NoEcho).toLowerCase() === 'true')
    .map(([key]) => key);
}

/**
 * The NoEcho parameters of the stored templates this process parsed, by sha256 (a body never
 * changes), so that describing a stack, which reads only its row, masks them without reading its
 * template again: a stack's template was parsed by the update that gave it to the stack.
 */
const noEchoBySha256 = new Map<string, readonly string[]>();
const NO_ECHO_KEPT = 4096;

function rememberNoEcho(sha256: string, template: Template): readonly string[] {
  const keys = noEchoParameters(template);
  if (noEchoBySha256.size >= NO_ECHO_KEPT) noEchoBySha256.clear();
  noEchoBySha256.set(sha256, keys);
  return keys;
}

/** The NoEcho parameters of a stored template: known, or read from its body (`body`, called only when unknown). */
export async function storedNoEchoParameters(sha256: string, body: () => Promise<string | undefined>): Promise<readonly string[]> {
  const known = noEchoBySha256.get(sha256);
  if (known) return known;
  const text = await body();
  return text === undefined ? [] : rememberNoEcho(sha256, parseStoredTemplate({ sha256, body: text }));
}

/** The stack's parameters after an update: the given values, then the template's defaults. */
export function resolveParameters(template: Template, given: Record<string, string>): Record<string, string> {
  const declared = template.Parameters ?? {};
  const undeclared = Object.keys(given).filter((key) => !Object.hasOwn(declared, key));
  if (undeclared.length > 0) {
    throw new InfraError('ValidationError', `Parameters: [${undeclared.join(', ')}] do not exist in the template`);
  }
  const values: Record<string, string> = {};
  const missing: string[] = [];
  for (const [key, declaration] of Object.entries(declared)) {
    if (Object.hasOwn(given, key)) values[key] = given[key];
    else if (declaration?.Default !== undefined) values[key] = String(declaration.Default);
    else missing.push(key);
  }
  if (missing.length > 0) {
    throw new InfraError('ValidationError', `Parameters: [${missing.join(', ')}] must have values`);
  }
  return values;
}

export interface OutputContext {
  stackName: string;
  region: string;
  account: string;
  parameters: Record<string, string>;
  /** The outputs before this operation, so unchanged task definitions keep their revision. */
  previousOutputs: Record<string, string>;
  /** Whether the template or a parameter other than the desired counts changed (a new revision). */
  changed: boolean;
}

/** The outputs a stack built from this template would report once the operation completes. */
export function stackOutputs(template: Template, context: OutputContext): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const [name, output] of Object.entries(template.Outputs ?? {})) {
    outputs[name] = outputValue(name, output?.Value, template, context);
  }
  return outputs;
}

function outputValue(name: string, value: unknown, template: Template, context: OutputContext): string {
  const target = referencedResource(value, template);
  if (target) return resourceValue(name, target.logicalId, target.attribute, template.Resources[target.logicalId], context);
  if (typeof value === 'string') return value;
  if (name.startsWith('DatabaseSecret')) return secretArn(`${context.stackName}/${name}`, context);
  if (name.startsWith('MigrationTaskDefinition')) {
    return taskDefinitionArn(name, `${context.stackName}_migrate_${name.slice('MigrationTaskDefinition'.length).toLowerCase()}`, context);
  }
  return `${context.stackName}-${name}`;
}

/** `{ Ref: X }`, `{ 'Fn::GetAtt': [X, attr] }`, or the bare `X` / `X.attr` a YAML short tag leaves. */
function referencedResource(value: unknown, template: Template): { logicalId: string; attribute?: string } | undefined {
  let logicalId: unknown;
  let attribute: unknown;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const ref = (value as Record<string, unknown>).Ref;
    const getAtt = (value as Record<string, unknown>)['Fn::GetAtt'];
    if (typeof ref === 'string') logicalId = ref;
    else if (Array.isArray(getAtt)) [logicalId, attribute] = getAtt;
    else if (typeof getAtt === 'string') [logicalId, attribute] = getAtt.split('.');
  } else if (typeof value === 'string') {
    [logicalId, attribute] = value.split('.');
  }
  if (typeof logicalId !== 'string' || !Object.hasOwn(template.Resources, logicalId)) return undefined;
  return { logicalId, attribute: typeof attribute === 'string' && attribute !== 'Arn' ? attribute : undefined };
}

function resourceValue(
  outputName: string,
  logicalId: string,
  attribute: string | undefined,
  resource: TemplateResource,
  context: OutputContext,
): string {
  const fallbackName = `${context.stackName}-${logicalId}`;
  if (attribute) return `${fallbackName}-${attribute}`;
  switch (resource.Type) {
    case 'AWS::SecretsManager::Secret':
      return secretArn(physicalName(resource.Properties?.Name, fallbackName, context), context);
    case 'AWS::ECS::TaskDefinition':
      return taskDefinitionArn(outputName, physicalName(resource.Properties?.Family, fallbackName, context), context);
    default: {
      const [, service = 'unknown', kind = 'resource'] = (resource.Type ?? '').split('::');
      return `arn:aws:${service.toLowerCase()}:${context.region}:${context.account}:${kind.toLowerCase()}/${fallbackName}`;
    }
  }
}

/** A name property evaluated against the stack's parameters; the fallback when it cannot be. */
function physicalName(raw: unknown, fallback: string, context: OutputContext): string {
  if (raw === undefined) return fallback;
  const values = {
    ...context.parameters,
    'AWS::StackName': context.stackName,
    'AWS::Region': context.region,
    'AWS::AccountId': context.account,
  };
  try {
    return resolveValue(raw, values, 'name');
  } catch {
    return fallback;
  }
}

/** Secrets Manager appends six characters to a secret's name in its ARN; here they are stable. */
function secretArn(name: string, context: OutputContext): string {
  const suffix = createHash('sha1').update(`${context.stackName}:${name}`).digest('base64url').slice(0, 6);
  return `arn:aws:secretsmanager:${context.region}:${context.account}:secret:${name}-${suffix}`;
}

/** A task definition gets a new revision whenever the stack changes it, and keeps it otherwise. */
function taskDefinitionArn(outputName: string, family: string, context: OutputContext): string {
  const prefix = `arn:aws:ecs:${context.region}:${context.account}:task-definition/${family}:`;
  const previous = context.previousOutputs[outputName];
  const previousRevision = previous?.startsWith(prefix) ? Number(previous.slice(prefix.length)) : 0;
  const revision = previousRevision > 0 && !context.changed ? previousRevision : previousRevision + 1;
  return `${prefix}${revision}`;
}
