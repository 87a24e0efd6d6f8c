/**
 * A CloudFormation stack as found: what the infra port describes (server/infra/port.ts), what the
 * wait phase keeps of it in the deployment, what the plan is built from and NOPDiscovery hands on.
 * One shape, and the views of it each of those needs.
 */
import type { CfLifecycle } from './lifecycle.ts';

export interface FoundStack {
  stackName: string;
  stackId: string;
  /** Raw CloudFormation status, e.g. UPDATE_ROLLBACK_COMPLETE. */
  status: string;
  lifecycle: CfLifecycle;
  statusReason?: string;
  outputs: Record<string, string>;
  parameters: Record<string, string>;
  /** The stack's tags; whose stack it is is read from them (server/domain/decisions/stack-ownership.ts). */
  tags: Record<string, string>;
  /** The ClientRequestToken of the last operation on the stack, when the provider reports it. */
  lastClientToken?: string;
}

/** What a deployment keeps of the stack the wait phase found (null when there was none). */
export type StackSnapshot = Pick<FoundStack, 'status' | 'lifecycle' | 'outputs' | 'parameters' | 'tags'> & {
  /**
   * Where the template the stack ran when found was kept (the template bucket), only where no
   * earlier deployment of the stack ended DONE (a stack adopted, or whose deployments all failed):
   * what CF.Restore puts back there (server/engine/steps/cloudformation.ts).
   */
  foundTemplateUrl?: string;
};

/** The template bucket's key for the template a deployment found on its stack, beside its own (`templateKey`). */
export function foundTemplateKey(deploymentTemplateKey: string): string {
  return `${deploymentTemplateKey.replace(/\.json$/, '')}.found-stack.template`;
}

export function snapshotOf(stack: FoundStack): StackSnapshot {
  return { status: stack.status, lifecycle: stack.lifecycle, outputs: stack.outputs, parameters: stack.parameters, tags: stack.tags };
}

/** A stack to deploy over: found, and not merely a name CloudFormation has forgotten. */
export function stackExists(stack: Pick<FoundStack, 'lifecycle'> | null | undefined): boolean {
  return !!stack && stack.lifecycle !== 'MISSING';
}
