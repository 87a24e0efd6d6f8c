import { describe, expect, it } from 'vitest';
import { parseTemplate, resolveParameters, stackOutputs, type OutputContext } from './template.ts';

const context: OutputContext = {
  stackName: 'dev-shop',
  region: 'eu-west-1',
  account: '000000000000',
  parameters: { EnvName: 'dev' },
  previousOutputs: {},
  changed: true,
};

describe('parseTemplate', () => {
  it('reads JSON and YAML, YAML short tags as their argument', () => {
    expect(parseTemplate('{"Resources":{"A":{"Type":"AWS::SNS::Topic"}}}').Resources.A.Type).toBe('AWS::SNS::Topic');
    const yaml = parseTemplate('Resources:\n  A:\n    Type: AWS::SNS::Topic\nOutputs:\n  TopicArn:\n    Value: !Ref A\n');
    expect(stackOutputs(yaml, context).TopicArn).toBe('arn:aws:sns:eu-west-1:000000000000:topic/dev-shop-A');
  });

  it('refuses what CloudFormation refuses', () => {
    expect(() => parseTemplate('[]')).toThrow('Template format error');
    expect(() => parseTemplate('{"Outputs":{}}')).toThrow('At least one Resources member must be defined.');
  });
});

describe('resolveParameters', () => {
  const template = parseTemplate(
    JSON.stringify({
      Parameters: { A: { Type: 'String' }, B: { Type: 'Number', Default: 3 } },
      Resources: { R: { Type: 'AWS::SNS::Topic' } },
    }),
  );

  it('takes the given values and fills in defaults', () => {
    expect(resolveParameters(template, { A: 'x' })).toEqual({ A: 'x', B: '3' });
    expect(resolveParameters(template, { A: 'x', B: '4' })).toEqual({ A: 'x', B: '4' });
  });

  it('refuses undeclared parameters and missing required ones', () => {
    expect(() => resolveParameters(template, { A: 'x', C: 'y' })).toThrow('Parameters: [C] do not exist in the template');
    expect(() => resolveParameters(template, {})).toThrow('Parameters: [A] must have values');
  });
});

describe('stackOutputs', () => {
  const template = parseTemplate(
    JSON.stringify({
      Resources: {
        Secret: { Type: 'AWS::SecretsManager::Secret', Properties: { Name: { 'Fn::Sub': '/${EnvName}/shop/postgres/main' } } },
        Unnamed: { Type: 'AWS::SecretsManager::Secret' },
        Migrate: { Type: 'AWS::ECS::TaskDefinition', Properties: { Family: { 'Fn::Join': ['_', [{ Ref: 'AWS::StackName' }, 'migrate', 'main']] } } },
        Queue: { Type: 'AWS::SQS::Queue' },
      },
      Outputs: {
        DatabaseSecretMain: { Value: { Ref: 'Secret' } },
        DatabaseSecretOther: { Value: { Ref: 'Unnamed' } },
        MigrationTaskDefinitionMain: { Value: { Ref: 'Migrate' } },
        QueueArn: { Value: { 'Fn::GetAtt': ['Queue', 'Arn'] } },
        QueueUrl: { Value: { 'Fn::GetAtt': ['Queue', 'QueueUrl'] } },
        Literal: { Value: 'hello' },
        DatabaseSecretElsewhere: { Value: { 'Fn::ImportValue': 'x' } },
        MigrationTaskDefinitionElsewhere: { Value: { 'Fn::ImportValue': 'y' } },
      },
    }),
  );

  it('gives each output a value shaped like what AWS would report', () => {
    const outputs = stackOutputs(template, context);
    expect(outputs.DatabaseSecretMain).toMatch(/^arn:aws:secretsmanager:eu-west-1:000000000000:secret:\/dev\/shop\/postgres\/main-[\w-]{6}$/);
    expect(outputs.DatabaseSecretOther).toMatch(/^arn:aws:secretsmanager:eu-west-1:000000000000:secret:dev-shop-Unnamed-[\w-]{6}$/);
    expect(outputs.MigrationTaskDefinitionMain).toBe('arn:aws:ecs:eu-west-1:000000000000:task-definition/dev-shop_migrate_main:1');
    expect(outputs.QueueArn).toBe('arn:aws:sqs:eu-west-1:000000000000:queue/dev-shop-Queue');
    expect(outputs.QueueUrl).toBe('dev-shop-Queue-QueueUrl');
    expect(outputs.Literal).toBe('hello');
    // Unresolvable values fall back on what the output's name says it is.
    expect(outputs.DatabaseSecretElsewhere).toMatch(/^arn:aws:secretsmanager:eu-west-1:000000000000:secret:dev-shop\/DatabaseSecretElsewhere-/);
    expect(outputs.MigrationTaskDefinitionElsewhere).toBe(
      'arn:aws:ecs:eu-west-1:000000000000:task-definition/dev-shop_migrate_elsewhere:1',
    );
  });

  it('keeps a task definition revision while the stack is unchanged, and bumps it when it changes', () => {
    const first = stackOutputs(template, context);
    const kept = stackOutputs(template, { ...context, previousOutputs: first, changed: false });
    const bumped = stackOutputs(template, { ...context, previousOutputs: first, changed: true });
    expect(kept.MigrationTaskDefinitionMain).toBe(first.MigrationTaskDefinitionMain);
    expect(bumped.MigrationTaskDefinitionMain).toMatch(/:2$/);
    expect(bumped.DatabaseSecretMain).toBe(first.DatabaseSecretMain);
  });
});
