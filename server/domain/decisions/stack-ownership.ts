/**
 * Whose stack it is. A stack this deployer creates carries the tag below from its first call
 * (CreateStack in server/infra/aws/stacks.ts; the simulator stores it the same way), and
 * CloudFormation keeps a stack's tags through every UpdateStack that does not name tags. A stack
 * without it was made by someone else (o5-deploy-aws, a person, an older version of this deployer):
 * it is adopted, i.e. updated in place and never deleted or recreated by a repair.
 *
 * A tag rather than our client token in the stack's events: the tag is part of DescribeStacks,
 * which the wait phase reads anyway, while the creating event is the oldest of a history that
 * grows with every deployment. A stack that lost the tag errs on the safe side: it is adopted.
 */
import type { FoundStack } from '../cloudformation/found-stack.ts';

export const MANAGED_BY_TAG = { key: 'deployer:managed-by', value: 'deployer' } as const;

export type StackOwnership = 'created' | 'adopted';

export function stackOwnership(stack: Pick<FoundStack, 'tags'>): StackOwnership {
  return stack.tags?.[MANAGED_BY_TAG.key] === MANAGED_BY_TAG.value ? 'created' : 'adopted';
}

/** What the plan says about the stack it deploys over, for the deployment's plan and events. */
export function ownershipNote(stackName: string, stack: Pick<FoundStack, 'tags'> | null): string | undefined {
  if (!stack || stackOwnership(stack) === 'created') return undefined;
  return (
    `adopting existing stack ${stackName}: it was not created by this deployer (no ${MANAGED_BY_TAG.key} tag); ` +
    'it is updated in place under its resource names, and never deleted or recreated'
  );
}

/** Why a stack whose first create failed is left alone when it is not ours (see decideStackWait). */
export function foreignFailedCreateError(stackName: string, stack: Pick<FoundStack, 'status'>): string {
  return (
    `Stack ${stackName} is ${stack.status} and was not created by this deployer (no ${MANAGED_BY_TAG.key} tag): ` +
    'CloudFormation cannot update it, and this deployer does not delete a stack it did not create. ' +
    'Delete it yourself (its resources may be in use), then deploy again'
  );
}
