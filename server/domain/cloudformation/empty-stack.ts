/**
 * The placeholder a new stack is created with (CF.CreateEmpty): CloudFormation cannot create a
 * stack without resources, so it holds one WaitConditionHandle, which costs nothing and does
 * nothing. The first CF.Update replaces it with the application's template.
 */
export const PLACEHOLDER_RESOURCE_ID = 'NullResource';

export const placeholderResource = { Type: 'AWS::CloudFormation::WaitConditionHandle' } as const;

export function emptyStackTemplate(): string {
  return JSON.stringify({
    AWSTemplateFormatVersion: '2010-09-09',
    Resources: { [PLACEHOLDER_RESOURCE_ID]: placeholderResource },
  });
}
