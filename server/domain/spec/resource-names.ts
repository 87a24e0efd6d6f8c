/**
 * The names AWS gives resources a length limit for, checked when the deployment is requested: a
 * name that is too long (an environment, application and runtime name joined) would otherwise fail
 * only inside CloudFormation, mid-deployment, after the service was scaled down. Each name is
 * resolved from the template with the deployment's parameter values; one that cannot be resolved
 * here (a value known only at deploy time) is left to CloudFormation.
 */
import { resolveValue } from '../cloudformation/import-template.ts';
import type { FieldIssue } from '../errors.ts';
import type { CfnTemplate } from '../template/index.ts';

/** Named resource types: the property that names them, what people call it, and AWS's limit. */
const NAME_LIMITS: Record<string, { property: string; what: string; max: number }> = {
  'AWS::IAM::Role': { property: 'RoleName', what: 'IAM role name', max: 64 },
  'AWS::SQS::Queue': { property: 'QueueName', what: 'SQS queue name', max: 80 },
  'AWS::S3::Bucket': { property: 'BucketName', what: 'S3 bucket name', max: 63 },
  'AWS::ECS::TaskDefinition': { property: 'Family', what: 'ECS task definition family', max: 255 },
};

/**
 * An issue for each named resource whose name is longer than AWS allows, at the config entry that
 * made the resource (`resourcePaths`) or at the application's name.
 */
export function resourceNameIssues(
  template: CfnTemplate,
  values: Record<string, string>,
  resourcePaths: ReadonlyMap<string, string>,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const limit = NAME_LIMITS[resource.Type];
    const raw = limit && (resource.Properties as Record<string, unknown> | undefined)?.[limit.property];
    if (!limit || raw === undefined) continue;
    let name: string;
    try {
      name = resolveValue(raw, values, logicalId);
    } catch {
      continue;
    }
    if (name.length <= limit.max) continue;
    issues.push({
      path: resourcePaths.get(logicalId) ?? 'name',
      message: `Makes the ${limit.what} ${name} (${name.length} characters, for ${logicalId}), longer than AWS allows (${limit.max}): shorten the environment, application or entry name`,
    });
  }
  return issues;
}
