// Unit tests, no AWS: the placeholder template, scale parameters and the IMPORT template.
import { describe, expect, it } from 'vitest';
import { emptyStackTemplate } from './empty-stack.ts';
import { ImportTemplateError, importCandidates, importTemplate, parseTemplate, resolveValue } from './import-template.ts';
import { scaleParameters } from './scale-parameters.ts';

describe('emptyStackTemplate', () => {
  it('holds exactly one WaitConditionHandle named NullResource', () => {
    expect(JSON.parse(emptyStackTemplate()).Resources).toEqual({
      NullResource: { Type: 'AWS::CloudFormation::WaitConditionHandle' },
    });
  });
});

describe('scaleParameters', () => {
  it('sets every DesiredCount* parameter and keeps every other one', () => {
    expect(scaleParameters(['EnvName', 'DesiredCountmain', 'DesiredCountworker', 'VersionTag'], 1)).toEqual([
      { key: 'EnvName', usePreviousValue: true },
      { key: 'DesiredCountmain', value: '1' },
      { key: 'DesiredCountworker', value: '1' },
      { key: 'VersionTag', usePreviousValue: true },
    ]);
  });

  it('sets a service named in the counts to its own count, the others to the count', () => {
    expect(scaleParameters(['DesiredCountmain', 'DesiredCountworker', 'DesiredCountnew'], 3, { DesiredCountmain: 3, DesiredCountworker: 1 })).toEqual([
      { key: 'DesiredCountmain', value: '3' },
      { key: 'DesiredCountworker', value: '1' },
      { key: 'DesiredCountnew', value: '3' },
    ]);
  });

  it('rejects a count that is not a non-negative integer', () => {
    expect(() => scaleParameters(['DesiredCountmain'], 1, { DesiredCountmain: -2 })).toThrow(/non-negative integer/);
    expect(() => scaleParameters(['DesiredCountmain'], -1)).toThrow(/non-negative integer/);
    expect(() => scaleParameters(['DesiredCountmain'], 0.5)).toThrow(/non-negative integer/);
  });
});

describe('import template', () => {
  const template = parseTemplate(
    JSON.stringify({
      AWSTemplateFormatVersion: '2010-09-09',
      Parameters: { EnvName: { Type: 'String' }, S3BucketNamespace: { Type: 'String' } },
      Resources: {
        S3BucketData: {
          Type: 'AWS::S3::Bucket',
          DeletionPolicy: 'Retain',
          Properties: {
            BucketName: { 'Fn::Join': ['.', ['data', 'shop', { Ref: 'EnvName' }, { Ref: 'AWS::Region' }, { Ref: 'S3BucketNamespace' }]] },
          },
        },
        SecretsManagerSecretDatabaseMain: {
          Type: 'AWS::SecretsManager::Secret',
          DeletionPolicy: 'Retain',
          Properties: { Name: { 'Fn::Sub': '/${EnvName}/shop/postgres/main' } },
        },
        SecretsManagerSecretAppSecretApi: {
          Type: 'AWS::SecretsManager::Secret',
          DeletionPolicy: 'Retain',
          Properties: { Name: '/dev/shop/api' },
        },
        ECSServiceMain: { Type: 'AWS::ECS::Service', Properties: { DesiredCount: { Ref: 'DesiredCountmain' } } },
      },
      Outputs: { DatabaseSecretMain: { Value: { Ref: 'SecretsManagerSecretDatabaseMain' } } },
    }),
  );
  const values = { EnvName: 'dev', S3BucketNamespace: 'example', 'AWS::Region': 'us-east-1' };

  it('finds the buckets and secrets with their physical names resolved', () => {
    expect(importCandidates(template, values)).toEqual([
      { logicalId: 'S3BucketData', resourceType: 'AWS::S3::Bucket', physicalName: 'data.shop.dev.us-east-1.example' },
      { logicalId: 'SecretsManagerSecretDatabaseMain', resourceType: 'AWS::SecretsManager::Secret', physicalName: '/dev/shop/postgres/main' },
      { logicalId: 'SecretsManagerSecretAppSecretApi', resourceType: 'AWS::SecretsManager::Secret', physicalName: '/dev/shop/api' },
    ]);
  });

  it('keeps only the imported resources and the placeholder, and drops the outputs', () => {
    const body = importTemplate(template, [
      { logicalId: 'S3BucketData', resourceType: 'AWS::S3::Bucket', identifier: { BucketName: 'data.shop.dev.us-east-1.example' } },
    ]);
    const parsed = JSON.parse(body);
    expect(Object.keys(parsed.Resources).sort()).toEqual(['NullResource', 'S3BucketData']);
    expect(parsed.Resources.S3BucketData.DeletionPolicy).toBe('Retain');
    expect(parsed.Outputs).toBeUndefined();
    expect(parsed.Parameters).toEqual(template.Parameters);
  });

  it('refuses an import with nothing to import', () => {
    expect(() => importTemplate(template, [])).toThrow(/no resources to import/);
  });

  it('says which value it cannot resolve', () => {
    expect(() => resolveValue({ Ref: 'Missing' }, values, 'S3BucketX.BucketName')).toThrow(
      new ImportTemplateError('S3BucketX.BucketName: no value for Missing'),
    );
    expect(() => resolveValue({ 'Fn::GetAtt': ['X', 'Arn'] }, values, 'here')).toThrow(/cannot resolve/);
    expect(resolveValue({ 'Fn::Sub': ['${!Literal}-${Local}', { Local: { Ref: 'EnvName' } }] }, values, 'x')).toBe('${Literal}-dev');
  });
});
