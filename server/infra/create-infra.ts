/**
 * Chooses the infra the steps act on: the simulator (default) or AWS (DEPLOYER_INFRA=aws).
 * Imported on demand, so a simulated deployer never loads the AWS SDK.
 */
import type { Sql } from 'postgres';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { InfraPort } from './port.ts';

export async function createInfra(deps: { sql: Sql; config: Config; logger: Logger }): Promise<InfraPort> {
  const { config } = deps;
  if (config.infra === 'aws') {
    const { createAwsInfra } = await import('./aws/index.ts');
    return createAwsInfra({
      region: config.aws.region,
      endpoint: config.aws.endpoint,
      templateBucket: config.aws.templateBucket!,
    });
  }
  const { createSimulatedInfra } = await import('./simulated/index.ts');
  return createSimulatedInfra({ sql: deps.sql, latencyMs: config.simulator.latencyMs });
}
