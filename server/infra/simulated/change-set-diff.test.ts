// The resource changes a simulated UPDATE change set lists, as CloudFormation would list them.
import { describe, expect, it } from 'vitest';
import { diffTemplates } from './change-set-diff.ts';
import type { Template } from './template.ts';

const template = (image: string): Template => ({
  Parameters: { Version: { Type: 'String' } },
  Resources: {
    // Listed before what it refers to: found only on a later pass over the resources.
    Service: { Type: 'AWS::ECS::Service', Properties: { TaskDefinition: { Ref: 'SidecarTask' }, DesiredCount: 1 } },
    SidecarTask: { Type: 'AWS::ECS::TaskDefinition', Properties: { Family: 'sidecar', Main: { 'Fn::GetAtt': ['MainTask', 'Arn'] } } },
    MainTask: { Type: 'AWS::ECS::TaskDefinition', Properties: { Family: 'main', Image: image, Tag: { Ref: 'Version' } } },
    Bucket: { Type: 'AWS::S3::Bucket', Properties: { BucketName: 'assets' } },
  },
});

describe('the changes of a simulated change set', () => {
  it('follows replacements through the resources that refer to them, however far down the list', () => {
    const changes = diffTemplates({ template: template('a'), parameters: { Version: 'v1' } }, { template: template('b'), parameters: { Version: 'v1' } });
    expect(changes).toEqual([
      { action: 'Modify', logicalId: 'MainTask', resourceType: 'AWS::ECS::TaskDefinition', replacement: 'True', details: [{ changeSource: 'DirectModification', attribute: 'Properties', name: 'Image' }] },
      { action: 'Modify', logicalId: 'SidecarTask', resourceType: 'AWS::ECS::TaskDefinition', replacement: 'True', details: [{ changeSource: 'ResourceReference', causingEntity: 'MainTask', attribute: 'Properties' }] },
      { action: 'Modify', logicalId: 'Service', resourceType: 'AWS::ECS::Service', replacement: 'False', details: [{ changeSource: 'ResourceReference', causingEntity: 'SidecarTask', attribute: 'Properties' }] },
    ]);
  });

  it('names the parameter a change only follows', () => {
    const changes = diffTemplates({ template: template('a'), parameters: { Version: 'v1' } }, { template: template('a'), parameters: { Version: 'v2' } });
    expect(changes.map((c) => [c.logicalId, c.replacement, c.details.map((d) => d.causingEntity ?? d.name)])).toEqual([
      ['MainTask', 'True', ['Version']],
      ['SidecarTask', 'True', ['MainTask']],
      ['Service', 'False', ['SidecarTask']],
    ]);
  });

  it('sees a property written the same change when a name it refers to became a parameter (even an empty one), or one in a Fn::Sub changed', () => {
    const task = (parameters: Template['Parameters']): Template => ({
      ...(parameters && { Parameters: parameters }),
      Resources: { Task: { Type: 'AWS::ECS::TaskDefinition', Properties: { Tag: { Ref: 'Version' }, Family: { 'Fn::Sub': '${Env}-main' } } } },
    });
    const declared = { Version: { Type: 'String' }, Env: { Type: 'String' } };
    const becameParameter = diffTemplates({ template: task({ Env: { Type: 'String' } }), parameters: { Env: 'dev' } }, { template: task(declared), parameters: { Env: 'dev', Version: '' } });
    expect(becameParameter.map((c) => c.logicalId)).toEqual(['Task']);
    const subChanged = diffTemplates({ template: task(declared), parameters: { Env: 'dev', Version: 'v1' } }, { template: task(declared), parameters: { Env: 'prod', Version: 'v1' } });
    expect(subChanged).toEqual([
      { action: 'Modify', logicalId: 'Task', resourceType: 'AWS::ECS::TaskDefinition', replacement: 'True', details: [{ changeSource: 'ParameterReference', causingEntity: 'Env', attribute: 'Properties', name: 'Family' }] },
    ]);
  });

  it('lists nothing for the same template and parameters', () => {
    expect(diffTemplates({ template: template('a'), parameters: { Version: 'v1' } }, { template: template('a'), parameters: { Version: 'v1' } })).toEqual([]);
  });
});
