/**
 * The vocabulary of a CloudFormation template as plain JSON: values with intrinsic functions
 * (Ref, Fn::GetAtt, Fn::Join), resources, and o5's naming rules.
 */
import { createHash } from 'node:crypto';

/** Any JSON value a template may hold, including intrinsic functions (which are objects). */
export type CfnValue = string | number | boolean | null | CfnValue[] | { [key: string]: CfnValue };

export interface CfnResource {
  Type: string;
  Properties?: Record<string, CfnValue>;
  DependsOn?: string[];
  DeletionPolicy?: 'Retain' | 'Delete';
  UpdateReplacePolicy?: 'Retain' | 'Delete';
}

export interface CfnParameterDeclaration {
  Type: string;
  Description?: string;
  Default?: string;
}

export interface CfnOutput {
  Description?: string;
  Value: CfnValue;
}

export interface CfnTemplate {
  AWSTemplateFormatVersion: '2010-09-09';
  Description?: string;
  Parameters?: Record<string, CfnParameterDeclaration>;
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, CfnOutput>;
}

export const ref = (name: string): CfnValue => ({ Ref: name });

export const getAtt = (logicalId: string, attribute: string): CfnValue => ({ 'Fn::GetAtt': [logicalId, attribute] });

/** Fn::Join, or the joined string itself when every part is already a string. */
export function join(separator: string, parts: CfnValue[]): CfnValue {
  if (parts.every((p): p is string => typeof p === 'string')) return parts.join(separator);
  return { 'Fn::Join': [separator, parts] };
}

/** Pseudo parameters CloudFormation fills in itself. */
export const AWS_REGION = ref('AWS::Region');
export const AWS_ACCOUNT_ID = ref('AWS::AccountId');
export const AWS_STACK_NAME = ref('AWS::StackName');

/*
 * Names in the template are o5's (docs/o5-names.md): a stack that o5-deploy-aws created keeps its
 * resources when this deployer takes it over, because CloudFormation matches resources by logical
 * id and a changed id is a new resource. The three functions below reproduce o5's naming functions
 * exactly, quirks included.
 */

/**
 * CamelCase the way o5's logical ids are made: drop anything not alphanumeric, upper-case the
 * first letter and each letter after `_`, `-`, `.`, a space or a digit, and lower-case a capital
 * that follows a capital (`ROUTE_PROTOCOL_HTTPo5_runtime` -> `RouteProtocolHttpo5Runtime`).
 */
export function camel(name: string): string {
  let out = '';
  let capNext = true;
  let previousWasCapital = false;
  for (const original of name.trim()) {
    const isCapital = original >= 'A' && original <= 'Z';
    const isLower = original >= 'a' && original <= 'z';
    let c = original;
    if (capNext && isLower) c = c.toUpperCase();
    else if (!capNext && previousWasCapital && isCapital) c = c.toLowerCase();
    previousWasCapital = isCapital;
    if (isCapital || isLower) {
      out += c;
      capNext = false;
    } else if (c >= '0' && c <= '9') {
      out += c;
      capNext = true;
    } else {
      capNext = c === '_' || c === ' ' || c === '-' || c === '.';
    }
  }
  return out;
}

/**
 * The logical id of a resource: its type without `AWS::` and `::`, then the CamelCase name,
 * e.g. (`AWS::ECS::TaskDefinition`, `main`) -> `ECSTaskDefinitionMain`.
 */
export function resourceId(type: string, name: string): string {
  return type.replace(/^AWS::/, '').replaceAll('::', '') + camel(name);
}

/** Title case of one word: its first letter upper case, the rest lower case (`privateKey` -> `Privatekey`). */
function titleWord(word: string): string {
  const first = word.search(/[A-Za-z]/);
  if (first < 0) return word;
  return word.slice(0, first) + word[first]!.toUpperCase() + word.slice(first + 1).toLowerCase();
}

/**
 * Title case of a phrase: words are runs of letters, digits and `_`; everything else separates them
 * (`github-token` -> `Github-Token`, `private_key` -> `Private_key`).
 */
export function titleCase(text: string): string {
  return text.replace(/[A-Za-z0-9_]+/g, titleWord);
}

/**
 * A parameter name from words: each part split on non-alphanumerics and Title-cased (the rest of
 * the word lowercased), e.g. (`Named IAM Policy`, `send-email`) -> `NamedIamPolicySendEmail`.
 */
export function cleanParameterName(...parts: string[]): string {
  return parts
    .flatMap((p) => p.split(/[^A-Za-z0-9]+/))
    .map(titleWord)
    .join('');
}

/**
 * How o5's template library writes an intrinsic function inside a string (base64 of a JSON text
 * with its own spacing). o5 puts the task family, written this way, into the names of the named
 * policy parameters, so reproducing their names needs it.
 */
export function encodedJoin(separator: string, parts: string[]): string {
  const inner = parts.join('", "').replace(/^[, "]+|[, "]+$/g, '');
  return Buffer.from(`{ "Fn::Join": [ "${separator}", [ "${inner}" ] ] }`).toString('base64');
}

export function encodedRef(name: string): string {
  return Buffer.from(`{ "Ref": "${name}" }`).toString('base64');
}

/** `appKey`, `app-key` -> `APP_KEY`: how database keys appear in sidecar variables. */
export function screamingSnake(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .join('_')
    .toUpperCase();
}

export function sha1Hex(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}
