/**
 * Checks a CloudFormation template against the AWS resource specification that the AWS CDK
 * maintains (`@aws-cdk/aws-service-spec`): every resource type exists, every property (at any
 * depth) is known and of the right shape, required properties are present, and every Ref,
 * Fn::GetAtt and DependsOn points at something the template declares.
 *
 * Values built with intrinsic functions (Ref, Fn::Join...) cannot be checked for their type, so
 * they are accepted wherever a value goes; their targets are checked instead.
 *
 *   const problems = await cfnSpecProblems(template);   // [] when the template is sound
 */
import { loadAwsServiceSpec } from '@aws-cdk/aws-service-spec';
import type { PropertyType, Resource, SpecDatabase, TypeDefinition } from '@aws-cdk/service-spec-types';

type Json = unknown;

/** Loading the spec takes about a second, so it is loaded once per test file. */
let database: Promise<SpecDatabase> | undefined;
function specDatabase(): Promise<SpecDatabase> {
  database ??= loadAwsServiceSpec();
  return database;
}

const PSEUDO_PARAMETERS = new Set([
  'AWS::AccountId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix',
]);

/** CloudFormation's own limits that a generated template could cross. */
const MAX_RESOURCES = 500;
const MAX_PARAMETERS = 200;
const MAX_OUTPUTS = 200;

/** Every problem found, each as `<where>: <what>`; an empty list means the template is sound. */
export async function cfnSpecProblems(template: Json): Promise<string[]> {
  const db = await specDatabase();
  return new TemplateChecker(db, template as TemplateShape).check();
}

/** Throws with every problem listed, for tests. */
export async function assertValidCfnTemplate(template: Json): Promise<void> {
  const problems = await cfnSpecProblems(template);
  if (problems.length > 0) throw new Error(`The template does not match the AWS resource specification:\n  ${problems.join('\n  ')}`);
}

interface TemplateShape {
  Parameters?: Record<string, { Type?: string }>;
  Resources?: Record<string, { Type?: string; Properties?: Record<string, Json>; DependsOn?: string | string[] }>;
  Outputs?: Record<string, { Value?: Json }>;
}

class TemplateChecker {
  private readonly problems: string[] = [];
  private readonly resourceTypes = new Map<string, Resource>();

  constructor(
    private readonly db: SpecDatabase,
    private readonly template: TemplateShape,
  ) {}

  check(): string[] {
    const { Parameters = {}, Resources, Outputs = {} } = this.template;
    if (!Resources || Object.keys(Resources).length === 0) this.problems.push('Resources: a template needs at least one resource');
    const resources = Resources ?? {};
    if (Object.keys(resources).length > MAX_RESOURCES) this.problems.push(`Resources: more than ${MAX_RESOURCES}`);
    if (Object.keys(Parameters).length > MAX_PARAMETERS) this.problems.push(`Parameters: more than ${MAX_PARAMETERS}`);
    if (Object.keys(Outputs).length > MAX_OUTPUTS) this.problems.push(`Outputs: more than ${MAX_OUTPUTS}`);

    for (const name of [...Object.keys(Parameters), ...Object.keys(resources), ...Object.keys(Outputs)]) {
      if (!/^[A-Za-z0-9]{1,255}$/.test(name)) this.problems.push(`${name}: logical ids must be alphanumeric`);
    }
    for (const [name, parameter] of Object.entries(Parameters)) {
      if (!parameter.Type) this.problems.push(`Parameters.${name}: no Type`);
    }

    for (const [id, resource] of Object.entries(resources)) {
      const where = `Resources.${id}`;
      const spec = resource.Type ? this.db.lookup('resource', 'cloudFormationType', 'equals', resource.Type)[0] : undefined;
      if (!spec) {
        this.problems.push(`${where}: unknown resource type ${resource.Type}`);
        continue;
      }
      this.resourceTypes.set(id, spec);
      this.checkObject(`${where}.Properties`, resource.Properties ?? {}, spec.properties);
      const dependsOn = resource.DependsOn === undefined ? [] : ([] as string[]).concat(resource.DependsOn);
      for (const dep of dependsOn) if (!(dep in resources)) this.problems.push(`${where}.DependsOn: no resource ${dep}`);
    }

    // References are checked once every resource's type is known (GetAtt needs the target's spec).
    for (const [id, resource] of Object.entries(resources)) this.checkReferences(`Resources.${id}.Properties`, resource.Properties ?? {});
    for (const [name, output] of Object.entries(Outputs)) {
      if (output.Value === undefined) this.problems.push(`Outputs.${name}: no Value`);
      this.checkReferences(`Outputs.${name}.Value`, output.Value);
    }
    return this.problems;
  }

  /** An object against a property map: no unknown keys, no missing required ones, each value of its type. */
  private checkObject(where: string, value: Json, properties: Record<string, { required?: boolean; type: PropertyType; previousTypes?: PropertyType[] }>): void {
    if (isIntrinsic(value)) return;
    if (!isPlainObject(value)) {
      this.problems.push(`${where}: expected an object`);
      return;
    }
    for (const [key, v] of Object.entries(value)) {
      const property = properties[key];
      if (!property) {
        this.problems.push(`${where}.${key}: unknown property`);
        continue;
      }
      const types = [property.type, ...(property.previousTypes ?? [])];
      const attempts = types.map((t) => this.typeProblems(`${where}.${key}`, v, t));
      if (!attempts.some((a) => a.length === 0)) this.problems.push(...attempts[0]!);
    }
    for (const [key, property] of Object.entries(properties)) {
      if (property.required && !(key in value)) this.problems.push(`${where}.${key}: required property missing`);
    }
  }

  /** The problems of a value against one property type, without recording them. */
  private typeProblems(where: string, value: Json, type: PropertyType): string[] {
    const nested = new TemplateChecker(this.db, this.template);
    nested.checkValue(where, value, type);
    return nested.problems;
  }

  private checkValue(where: string, value: Json, type: PropertyType): void {
    if (isIntrinsic(value)) return;
    const fail = (expected: string) => this.problems.push(`${where}: expected ${expected}, got ${JSON.stringify(value)?.slice(0, 80)}`);
    switch (type.type) {
      case 'string':
      case 'date-time':
        // CloudFormation turns numbers and booleans into strings where a string is expected.
        if (!['string', 'number', 'boolean'].includes(typeof value)) fail('a string');
        else if (type.type === 'string' && type.allowedValues && !type.allowedValues.includes(String(value))) fail(`one of ${type.allowedValues.join(', ')}`);
        return;
      case 'number':
      case 'integer':
        if (!(typeof value === 'number' || (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))))) fail('a number');
        else if (type.type === 'integer' && !Number.isInteger(Number(value))) fail('an integer');
        return;
      case 'boolean':
        if (!(typeof value === 'boolean' || value === 'true' || value === 'false')) fail('a boolean');
        return;
      case 'json':
        return;
      case 'null':
        if (value !== null) fail('null');
        return;
      case 'tag':
        this.checkObject(where, value, { Key: { required: true, type: { type: 'string' } }, Value: { required: true, type: { type: 'string' } } });
        return;
      case 'array':
        if (!Array.isArray(value)) {
          fail('a list');
          return;
        }
        value.forEach((element, i) => this.checkValue(`${where}[${i}]`, element, type.element as PropertyType));
        return;
      case 'map':
        if (!isPlainObject(value)) {
          fail('a map');
          return;
        }
        for (const [k, v] of Object.entries(value)) this.checkValue(`${where}.${k}`, v, type.element as PropertyType);
        return;
      case 'union': {
        const attempts = (type.types as PropertyType[]).map((t) => this.typeProblems(where, value, t));
        if (!attempts.some((a) => a.length === 0)) this.problems.push(...attempts.reduce((best, a) => (a.length < best.length ? a : best)));
        return;
      }
      case 'ref': {
        const definition = this.db.get('typeDefinition', type.reference) as TypeDefinition;
        this.checkObject(where, value, definition.properties);
        return;
      }
    }
  }

  /** Every Ref and Fn::GetAtt names a parameter, pseudo parameter or resource (and a known attribute). */
  private checkReferences(where: string, value: Json): void {
    if (Array.isArray(value)) {
      value.forEach((v, i) => this.checkReferences(`${where}[${i}]`, v));
      return;
    }
    if (!isPlainObject(value)) return;
    const { Parameters = {}, Resources = {} } = this.template;
    if ('Ref' in value && Object.keys(value).length === 1) {
      const target = value.Ref;
      if (typeof target !== 'string' || !(PSEUDO_PARAMETERS.has(target) || target in Parameters || target in Resources)) {
        this.problems.push(`${where}: Ref to undeclared ${JSON.stringify(target)}`);
      }
      return;
    }
    if ('Fn::GetAtt' in value && Object.keys(value).length === 1) {
      const [id, attribute] = value['Fn::GetAtt'] as [string, string];
      const spec = this.resourceTypes.get(id);
      if (!(id in Resources)) this.problems.push(`${where}: Fn::GetAtt of undeclared resource ${id}`);
      else if (spec && !(attribute in spec.attributes)) this.problems.push(`${where}: ${spec.cloudFormationType} has no attribute ${attribute}`);
      return;
    }
    for (const [k, v] of Object.entries(value)) this.checkReferences(`${where}.${k}`, v);
  }
}

function isPlainObject(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{ Ref: x }` or `{ "Fn::Something": ... }`: a value only CloudFormation can work out. */
function isIntrinsic(value: Json): boolean {
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0]!.startsWith('Fn::'));
}
