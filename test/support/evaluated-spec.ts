/**
 * The spec of an evaluated full deployment of `o5deploy` at v2 on the test cluster, for the plan and
 * state machine tests: a database `main` with its migration (and, unless turned off, its check),
 * and optionally a database without a migration (`cache`), a forced strategy, a required approval.
 */
import { parseApplication } from '../../server/domain/application/index.ts';
import { buildDeploymentSpec, type DeploymentSpec } from '../../server/domain/spec/index.ts';
import { testCluster, testEnvironment } from './test-cluster.ts';

export interface EvaluatedSpecOptions {
  strategy?: 'auto' | 'NOP' | 'DOWNTIME';
  migrateCheck?: boolean;
  approval?: 'required';
  /** Adds `cache`, a database without a migration: its DB.Upsert is evaluated, with no DB.Evaluate. */
  uncheckedDatabase?: boolean;
}

export function evaluatedSpec(options: EvaluatedSpecOptions = {}): DeploymentSpec {
  return buildDeploymentSpec({
    deploymentId: 'd0c5e7a4-6f1b-4a34-9a56-0f6f8b7b2c11',
    application: parseApplication({
      name: 'o5deploy',
      databases: [
        {
          name: 'main',
          postgres: {
            serverGroup: 'default',
            migrateContainer: { image: { name: 'o5-deploy-aws' }, command: ['migrate'] },
            ...(options.migrateCheck !== false && { migrateCheck: { command: ['migrate', 'check'] } }),
          },
        },
        ...(options.uncheckedDatabase ? [{ name: 'cache', postgres: { serverGroup: 'default' } }] : []),
      ],
      runtimes: [{ name: 'main', containers: [{ name: 'main', image: { name: 'o5-deploy-aws' } }] }],
    }),
    version: 'v2',
    environment: testEnvironment(),
    cluster: testCluster(),
    ...(options.strategy && { strategy: options.strategy }),
    ...(options.approval && { approval: options.approval }),
  }).spec;
}
