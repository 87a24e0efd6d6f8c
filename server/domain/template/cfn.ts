/**
 * The vocabulary of a CloudFormation template as plain JSON: values with intrinsic functions
 * (Ref, Fn::GetAtt, Fn::Join), resources, and the naming rules of o5-domain §5.1.
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

/** `foo-bar_baz` -> `FooBarBaz`: parts split on anything not alphanumeric, each capitalised. */
export function camel(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}

/**
 * The logical id of a resource: its type without `AWS::` and `::`, then the CamelCase name,
 * e.g. (`AWS::ECS::TaskDefinition`, `main`) -> `ECSTaskDefinitionMain`.
 */
export function resourceId(type: string, name: string): string {
  return type.replace(/^AWS::/, '').replaceAll('::', '') + camel(name);
}

/**
 * A parameter name from words: each part split on non-alphanumerics and Title-cased (the rest of
 * the word lowercased), e.g. (`Named IAM Policy`, `send-email`) -> `NamedIamPolicySendEmail`.
 */
export function cleanParameterName(...parts: string[]): string {
  return parts
    .flatMap((p) => p.split(/[^A-Za-z0-9]+/))
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1).toLowerCase())
    .join('');
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
