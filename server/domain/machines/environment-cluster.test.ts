/** Where stacks live: an environment's first stack joins only in the cluster it was planned in; what a cluster with stacks keeps. */
import { describe, expect, it } from 'vitest';
import type { ClusterConfig } from '../config/cluster.ts';
import { DomainError } from '../errors.ts';
import { decide } from '../state-machine/machine.ts';
import { stackPlacementChanges } from './cluster.ts';
import { environmentMachine, type EnvironmentData } from './environment.ts';
import { stackMachine } from './stack.ts';

const environment = (data: Partial<EnvironmentData> = {}) => ({
  status: 'ACTIVE' as const,
  data: { name: 'prod-main', clusterId: 'cluster-b', clusterName: 'b', config: null, ...data },
});

describe('a stack joining its environment', () => {
  it('carries the cluster its deployment was planned against', () => {
    const d = decide(stackMachine, 's', null, {
      type: 'deployment_requested',
      deployment: { deploymentId: 'a', version: 'v1' },
      environmentName: 'prod-main',
      environmentId: 'env',
      applicationName: 'shop',
      clusterId: 'cluster-a',
    });
    expect(d.effects).toEqual([{ kind: 'link', machine: 'environment', entityId: 'env', event: { type: 'stack_added', stackId: 's', clusterId: 'cluster-a' } }]);
  });

  it('is refused (conflict, at `environment`) by an environment that moved to another cluster since', () => {
    const refused = (() => {
      try {
        decide(environmentMachine, 'env', environment(), { type: 'stack_added', stackId: 's', clusterId: 'cluster-a' });
      } catch (err) {
        return err;
      }
    })();
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused).toMatchObject({ kind: 'conflict', issues: [{ path: 'environment' }] });
    expect((refused as Error).message).toBe("environment 'prod-main' moved to cluster 'b' after this deployment was planned in its former cluster; request the deployment again");
  });

  it('joins an environment still in that cluster, and one whose event names none (stored before it was sent)', () => {
    for (const event of [{ type: 'stack_added' as const, stackId: 's', clusterId: 'cluster-b' }, { type: 'stack_added' as const, stackId: 's' }]) {
      expect(decide(environmentMachine, 'env', environment(), event).data.stacks).toEqual(['s']);
    }
  });
});

describe('stackPlacementChanges', () => {
  const cluster = (aws: Partial<ClusterConfig['aws']>) => ({ name: 'c', aws: { awsAccount: '000000000000', awsRegion: 'us-east-1', vpcId: 'vpc-a', ...aws } }) as ClusterConfig;

  it('names a new account and a new region, at their paths in the cluster document', () => {
    expect(stackPlacementChanges(cluster({}), cluster({ awsAccount: '111111111111', awsRegion: 'eu-west-1' }))).toEqual([
      { path: 'aws.awsAccount', was: '000000000000', is: '111111111111' },
      { path: 'aws.awsRegion', was: 'us-east-1', is: 'eu-west-1' },
    ]);
  });

  it('leaves what the stacks are updated for in place (the VPC)', () => {
    expect(stackPlacementChanges(cluster({}), cluster({ vpcId: 'vpc-b' }))).toEqual([]);
  });
});
