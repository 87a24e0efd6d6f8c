/**
 * The IAM role a task runs as: trusted by ECS tasks, with the environment's named
 * policies attached and one inline policy per kind of access the task needs. Inline policies are
 * named `<EnvName>-<family>-<kind>` so they are unique per environment and task.
 */
import { AWS_STACK_NAME, join, ref, type CfnResource, type CfnValue } from './cfn.ts';

export type BucketAccess = 'read' | 'write' | 'readWrite';

const POLICY_VERSION = '2012-10-17';

/** Gathers what a task needs while its containers are mapped, then becomes an IAM role. */
export class PolicyBuilder {
  private readonly bucketArns: Record<BucketAccess, CfnValue[]> = { read: [], write: [], readWrite: [] };
  private readonly queueArns: CfnValue[] = [];
  private readonly rdsConnectArns: CfnValue[] = [];
  private readonly managedPolicyArns: CfnValue[] = [];
  private ecrPull = false;

  /** Grants access to a bucket once, whatever number of env vars point at it. */
  addBucket(arn: CfnValue, access: BucketAccess): void {
    const list = this.bucketArns[access];
    if (!list.some((a) => JSON.stringify(a) === JSON.stringify(arn))) list.push(arn);
  }

  addQueueSubscribe(arn: CfnValue): void {
    this.queueArns.push(arn);
  }

  addRdsConnect(arn: CfnValue): void {
    if (!this.rdsConnectArns.some((a) => JSON.stringify(a) === JSON.stringify(arn))) this.rdsConnectArns.push(arn);
  }

  addManagedPolicy(arn: CfnValue): void {
    this.managedPolicyArns.push(arn);
  }

  addEcrPull(): void {
    this.ecrPull = true;
  }

  /**
   * The role resource. `roleName` becomes `<StackName>-<roleName>`; `family` names the inline
   * policies. Publishing to the event bus is always allowed: every app reports to o5-monitor.
   */
  buildRole(roleName: string, family: string, description: string): CfnResource {
    const policy = (kind: string, statements: CfnValue[]): CfnValue => ({
      PolicyName: join('-', [ref('EnvName'), family, kind]),
      PolicyDocument: { Version: POLICY_VERSION, Statement: statements },
    });
    const allow = (actions: string[], resources: CfnValue[]): CfnValue => ({ Effect: 'Allow', Action: actions, Resource: resources });
    const bucketPolicy = (kind: string, arns: CfnValue[], objectActions: string[]) =>
      policy(kind, [
        allow(['s3:ListBucket', 's3:GetBucketLocation'], arns),
        allow(objectActions, arns.flatMap((arn) => [arn, join('', [arn, '/*'])])),
      ]);

    const policies: CfnValue[] = [policy('eventbridge-publish', [allow(['events:PutEvents'], [ref('EventBusARN')])])];
    if (this.queueArns.length > 0) {
      policies.push(
        policy('sqs-subscribe', [
          allow(['sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ChangeMessageVisibility'], this.queueArns),
        ]),
      );
    }
    if (this.bucketArns.readWrite.length > 0) policies.push(bucketPolicy('s3-readwrite', this.bucketArns.readWrite, ['s3:GetObject', 's3:PutObject']));
    if (this.bucketArns.read.length > 0) policies.push(bucketPolicy('s3-read-only', this.bucketArns.read, ['s3:GetObject']));
    if (this.bucketArns.write.length > 0) policies.push(bucketPolicy('s3-write-only', this.bucketArns.write, ['s3:PutObject']));
    if (this.rdsConnectArns.length > 0) policies.push(policy('rds-connect', [allow(['rds-db:connect'], this.rdsConnectArns)]));
    if (this.ecrPull) {
      policies.push(
        policy('ecr-pull', [
          allow(
            [
              'ecr:GetAuthorizationToken',
              'ecr:BatchCheckLayerAvailability',
              'ecr:GetDownloadUrlForLayer',
              'ecr:GetRepositoryPolicy',
              'ecr:DescribeRepositories',
              'ecr:ListImages',
              'ecr:DescribeImages',
              'ecr:BatchGetImage',
            ],
            ['*'],
          ),
        ]),
      );
    }

    return {
      Type: 'AWS::IAM::Role',
      Properties: {
        RoleName: join('-', [AWS_STACK_NAME, roleName]),
        Description: description,
        AssumeRolePolicyDocument: {
          Version: POLICY_VERSION,
          Statement: [{ Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        },
        ManagedPolicyArns: this.managedPolicyArns,
        Policies: policies,
      },
    };
  }
}
