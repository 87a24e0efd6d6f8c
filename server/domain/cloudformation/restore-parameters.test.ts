// Unit tests, no AWS: the parameters CF.Restore sends with the version it puts back.
import { describe, expect, it } from 'vitest';
import { maskedParameters, needsCurrentParameters, NO_ECHO_MASK, restoreParameters, templateParameters, unmaskedParameter, type TemplateParameter } from './restore-parameters.ts';

const declared = (...keys: Array<string | TemplateParameter>): TemplateParameter[] => keys.map((k) => (typeof k === 'string' ? { key: k, noEcho: false } : k));

describe('restoreParameters', () => {
  it('sends the values found as they are when none is masked (the stack is not described for it)', () => {
    const found = { VersionTag: 'v1', DesiredCountmain: '3' };
    const template = declared('VersionTag', 'DesiredCountmain');
    expect(needsCurrentParameters(found, template)).toBe(false);
    expect(restoreParameters(found, null, template)).toEqual({
      kind: 'ready',
      parameters: [
        { key: 'VersionTag', value: 'v1' },
        { key: 'DesiredCountmain', value: '3' },
      ],
      values: found,
    });
  });

  it('keeps a NoEcho parameter (found masked) with UsePreviousValue where the stack still has it, masked: never the mask as its value', () => {
    const found = { VersionTag: 'o5-v1', DbMasterPassword: NO_ECHO_MASK };
    expect(maskedParameters(found)).toEqual(['DbMasterPassword']);
    const template = declared('VersionTag', { key: 'DbMasterPassword', noEcho: true });
    expect(needsCurrentParameters(found, template)).toBe(true);
    expect(restoreParameters(found, { VersionTag: 'v2', DbMasterPassword: NO_ECHO_MASK }, template)).toEqual({
      kind: 'ready',
      parameters: [
        { key: 'VersionTag', value: 'o5-v1' },
        { key: 'DbMasterPassword', usePreviousValue: true },
      ],
      values: found,
    });
  });

  it('says which NoEcho parameters are lost where the stack no longer has them, or has them with a value of its own', () => {
    const found = { VersionTag: 'o5-v1', DbMasterPassword: NO_ECHO_MASK, ApiKey: NO_ECHO_MASK };
    const template = declared('VersionTag', 'DbMasterPassword', 'ApiKey');
    expect(restoreParameters(found, { VersionTag: 'v2' }, template)).toEqual({ kind: 'lost', keys: ['DbMasterPassword', 'ApiKey'], missing: [] });
    expect(restoreParameters(found, { VersionTag: 'v2', DbMasterPassword: NO_ECHO_MASK, ApiKey: 'shown' }, template)).toEqual({ kind: 'lost', keys: ['ApiKey'], missing: [] });
    expect(restoreParameters(found, {}, template)).toEqual({ kind: 'lost', keys: ['DbMasterPassword', 'ApiKey'], missing: [] });
  });

  it('sends only the parameters the template declares: one the stack has since (a service added later) is left out', () => {
    const found = { VersionTag: 'v2', DesiredCountapi: '2', DesiredCountworker: '1', ListenerRulePriorityworker: '7' };
    expect(restoreParameters(found, null, declared('VersionTag', 'DesiredCountapi'))).toEqual({
      kind: 'ready',
      parameters: [
        { key: 'VersionTag', value: 'v2' },
        { key: 'DesiredCountapi', value: '2' },
      ],
      values: { VersionTag: 'v2', DesiredCountapi: '2' },
    });
  });

  it('a declared parameter the stack was found without: kept as the stack has it now, else its default; a service absent then at 0 tasks', () => {
    const found = { VersionTag: 'v2', DesiredCountapi: '2' };
    const template = declared('VersionTag', 'DesiredCountapi', 'DesiredCountworker', 'QueueArn', { key: 'LogLevel', default: 'info', noEcho: false }, { key: 'Retries', default: '3', noEcho: false });
    expect(needsCurrentParameters(found, template)).toBe(true);
    expect(restoreParameters(found, { VersionTag: 'v3', DesiredCountapi: '0', DesiredCountworker: '4', QueueArn: 'arn:q', Retries: '5' }, template)).toEqual({
      kind: 'ready',
      parameters: [
        { key: 'VersionTag', value: 'v2' },
        { key: 'DesiredCountapi', value: '2' },
        { key: 'DesiredCountworker', value: '0' },
        { key: 'QueueArn', usePreviousValue: true },
        { key: 'Retries', usePreviousValue: true },
      ],
      values: { VersionTag: 'v2', DesiredCountapi: '2', DesiredCountworker: '0', QueueArn: 'arn:q', LogLevel: 'info', Retries: '5' },
    });
  });

  it('a declared parameter without a default that has no value anywhere cannot be put back', () => {
    const found = { VersionTag: 'v2', DbMasterPassword: NO_ECHO_MASK };
    const template = declared('VersionTag', 'QueueArn', 'TopicArn', 'DbMasterPassword');
    expect(restoreParameters(found, { VersionTag: 'v3' }, template)).toEqual({ kind: 'lost', keys: ['DbMasterPassword'], missing: ['QueueArn', 'TopicArn'] });
  });
});

describe('templateParameters', () => {
  it('reads the Parameters section of a JSON template, defaults as strings, NoEcho as CloudFormation reads it', () => {
    const body = JSON.stringify({
      Parameters: { VersionTag: { Type: 'String' }, Count: { Type: 'Number', Default: 2 }, Secret: { Type: 'String', NoEcho: 'true' }, Subnets: { Type: 'CommaDelimitedList', Default: ['a', 'b'] } },
      Resources: { H: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
    });
    expect(templateParameters(body)).toEqual([
      { key: 'VersionTag', noEcho: false },
      { key: 'Count', default: '2', noEcho: false },
      { key: 'Secret', noEcho: true },
      { key: 'Subnets', default: 'a,b', noEcho: false },
    ]);
  });

  it('reads a YAML template with short-form intrinsics; one without Parameters declares none', () => {
    const yaml = "AWSTemplateFormatVersion: '2010-09-09'\nParameters:\n  DbMasterPassword:\n    Type: String\n    NoEcho: true\n  Env:\n    Type: String\n    Default: !Sub '${AWS::Region}'\nResources:\n  H:\n    Type: AWS::CloudFormation::WaitConditionHandle\nOutputs:\n  P:\n    Value: !Ref DbMasterPassword\n";
    expect(templateParameters(yaml)).toEqual([
      { key: 'DbMasterPassword', noEcho: true },
      { key: 'Env', default: '${AWS::Region}', noEcho: false },
    ]);
    expect(templateParameters('{"Resources":{}}')).toEqual([]);
    expect(() => templateParameters('{ not json')).toThrow(/Template format error/);
  });
});

describe('unmaskedParameter', () => {
  it('sends a value copied masked from a description as UsePreviousValue; any other as it is', () => {
    expect(unmaskedParameter({ key: 'VersionTag', value: NO_ECHO_MASK })).toEqual({ key: 'VersionTag', usePreviousValue: true });
    expect(unmaskedParameter({ key: 'VersionTag', value: 'v1' })).toEqual({ key: 'VersionTag', value: 'v1' });
    expect(unmaskedParameter({ key: 'VersionTag', usePreviousValue: true })).toEqual({ key: 'VersionTag', usePreviousValue: true });
  });
});
