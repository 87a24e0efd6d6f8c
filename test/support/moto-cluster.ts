/**
 * The shared infrastructure of a cluster, created in moto so that application stacks can point at
 * real resources: a VPC with two subnets, a load balancer with a listener, security groups, the ECS
 * cluster, the event bus, the cluster's `o5-infra` SNS topic, the task execution role and the
 * environment's named IAM policy. Returns the test cluster and environment (test-cluster.ts) with
 * their ids and ARNs replaced by those of the created resources.
 */
import { CloudFormationClient, CreateStackCommand, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import type { ClusterConfig } from '../../server/domain/config/cluster.ts';
import type { EnvironmentConfig } from '../../server/domain/config/environment.ts';
import { testCluster, testEnvironment } from './test-cluster.ts';

const CLUSTER_INFRA_TEMPLATE = {
  AWSTemplateFormatVersion: '2010-09-09',
  Description: 'What a cluster provides to every application stack',
  Resources: {
    Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.0.0.0/16' } },
    SubnetA: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.0.1.0/24', AvailabilityZone: 'us-east-1a' } },
    SubnetB: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.0.2.0/24', AvailabilityZone: 'us-east-1b' } },
    AlbSecurityGroup: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'load balancer', VpcId: { Ref: 'Vpc' } } },
    DbClientSecurityGroup: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'database clients', VpcId: { Ref: 'Vpc' } } },
    Alb: {
      Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
      Properties: { Name: 'test', Subnets: [{ Ref: 'SubnetA' }, { Ref: 'SubnetB' }], SecurityGroups: [{ Ref: 'AlbSecurityGroup' }] },
    },
    Listener: {
      Type: 'AWS::ElasticLoadBalancingV2::Listener',
      Properties: {
        LoadBalancerArn: { Ref: 'Alb' },
        Port: 80,
        Protocol: 'HTTP',
        DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } }],
      },
    },
    EcsCluster: { Type: 'AWS::ECS::Cluster', Properties: { ClusterName: 'test-ecs' } },
    EventBus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'test' } },
    InfraTopic: { Type: 'AWS::SNS::Topic', Properties: { TopicName: 'test-cluster-o5-infra' } },
    TaskExecutionRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        RoleName: 'ecs-task-exec',
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        },
      },
    },
    DeployerPolicy: {
      Type: 'AWS::IAM::ManagedPolicy',
      Properties: {
        ManagedPolicyName: 'assume-o5-deployer',
        PolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }] },
      },
    },
  },
  Outputs: {
    VpcId: { Value: { Ref: 'Vpc' } },
    SubnetA: { Value: { Ref: 'SubnetA' } },
    SubnetB: { Value: { Ref: 'SubnetB' } },
    AlbSecurityGroup: { Value: { Ref: 'AlbSecurityGroup' } },
    DbClientSecurityGroup: { Value: { Ref: 'DbClientSecurityGroup' } },
    ListenerArn: { Value: { Ref: 'Listener' } },
    EventBusArn: { Value: { 'Fn::GetAtt': ['EventBus', 'Arn'] } },
    TaskExecutionRoleArn: { Value: { 'Fn::GetAtt': ['TaskExecutionRole', 'Arn'] } },
    DeployerPolicyArn: { Value: { Ref: 'DeployerPolicy' } },
  },
};

/** Polls until the stack is no longer in progress (moto is quick), and returns it. */
export async function waitForStack(cf: CloudFormationClient, stackName: string, timeoutMs = 20_000): Promise<Stack> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stack = (await cf.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks![0]!;
    if (!stack.StackStatus!.endsWith('_IN_PROGRESS')) return stack;
    if (Date.now() > deadline) throw new Error(`stack ${stackName} still ${stack.StackStatus} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function createClusterInfra(cf: CloudFormationClient): Promise<{ cluster: ClusterConfig; environment: EnvironmentConfig }> {
  await cf.send(
    new CreateStackCommand({ StackName: 'test-cluster-infra', TemplateBody: JSON.stringify(CLUSTER_INFRA_TEMPLATE), Capabilities: ['CAPABILITY_NAMED_IAM'] }),
  );
  const stack = await waitForStack(cf, 'test-cluster-infra');
  if (stack.StackStatus !== 'CREATE_COMPLETE') throw new Error(`cluster infra: ${stack.StackStatus} ${stack.StackStatusReason ?? ''}`);
  const out = Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey!, o.OutputValue!]));

  const cluster = testCluster();
  cluster.aws.vpcId = out.VpcId!;
  cluster.aws.albIngress = { listenerArn: out.ListenerArn!, securityGroupId: out.AlbSecurityGroup! };
  cluster.aws.eventBridge.eventBusArn = out.EventBusArn!;
  cluster.aws.ecsCluster.taskExecutionRole = out.TaskExecutionRoleArn!;
  cluster.aws.ecsCluster.subnetIds = [out.SubnetA!, out.SubnetB!];
  for (const host of cluster.aws.rdsHosts) host.clientSecurityGroupId = out.DbClientSecurityGroup!;

  const environment = testEnvironment();
  environment.aws!.iamPolicies = environment.aws!.iamPolicies.map((p) => ({ ...p, policyArn: out.DeployerPolicyArn! }));
  return { cluster, environment };
}
