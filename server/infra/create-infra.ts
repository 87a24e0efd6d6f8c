/**
 * Chooses the infra the steps act on: the simulator (default) or AWS (DEPLOYER_INFRA=aws). Either
 * way a provider of ports, one per deployment on its cluster's account and region
 * (cluster-provider.ts). Imported on demand, so a simulated deployer never loads the AWS SDK.
 */
import postgres from 'postgres';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { AwsCallListener } from './aws/aws-call-metrics.ts';
import type { InfraProvider } from './port.ts';
import type { FaultRecord, FaultRequest } from './simulated/faults.ts';

/** Fault injection into the simulated infra (the /v1/simulator routes). */
export interface SimulatorControls {
  addFault(request: FaultRequest): Promise<FaultRecord>;
  listFaults(): Promise<FaultRecord[]>;
  clearFaults(): Promise<number>;
  /** AWS API calls the simulator has answered since start (server/infra/simulated/index.ts). */
  awsCalls(): { reads: number; writes: number };
  /** Postgres transactions the simulated cloud has run on its own tables since start (server/infra/simulated/store.ts). */
  transactions(): number;
}

export interface CreatedInfra {
  infra: InfraProvider;
  simulator?: SimulatorControls;
}

export async function createInfra(deps: {
  databaseUrl: string;
  /** Postgres standing in as the RDS host in simulated mode (real SQL); absent: database steps are recorded only. */
  simulatedRdsUrl?: string;
  config: Config;
  logger: Logger;
  /** Hears of every AWS call (the metrics), made to AWS or answered by the simulator. */
  onAwsCall?: AwsCallListener;
}): Promise<CreatedInfra> {
  const { config } = deps;
  if (config.infra === 'aws') {
    const { createAwsInfraProvider } = await import('./aws/index.ts');
    if (config.rdsTls.mode === 'off') {
      deps.logger.warn(
        'RDS TLS IS OFF: DEPLOYER_RDS_TLS=off, so the database steps send RDS root passwords, IAM tokens and app passwords in plaintext. Only for a local Postgres in development and tests.',
      );
    } else {
      deps.logger.info(
        `database steps use TLS to RDS hosts, verify-full against ${config.rdsTls.caFile ? `DEPLOYER_RDS_CA_BUNDLE (${config.rdsTls.caFile})` : "Node's default CAs (DEPLOYER_RDS_CA_BUNDLE is not set: RDS's CAs are not among them)"}`,
      );
    }
    return {
      infra: createAwsInfraProvider({
        endpoint: config.aws.endpoint,
        templateBucket: config.aws.templateBucket!,
        retry: { retries: config.aws.retries, baseDelayMs: config.aws.retryBaseMs, maxDelayMs: 20_000 },
        databaseTls: config.rdsTls,
        logger: deps.logger,
        ...(deps.onAwsCall ? { onCall: deps.onAwsCall } : {}),
      }),
    };
  }
  const simulated = await import('./simulated/index.ts');
  // A pool of its own: the simulator puts drizzle on it, which changes how the pool encodes JSON.
  const sql = postgres(deps.databaseUrl, { max: 5, onnotice: () => {} });
  const { createSimulatedInfraProvider } = await import('./simulated/provider.ts');
  const { simulatorTransactions } = await import('./simulated/store.ts');
  const infra = createSimulatedInfraProvider({
    sql,
    latencyMs: config.simulator.latencyMs,
    logger: deps.logger,
    ...(deps.simulatedRdsUrl ? { databaseUrl: deps.simulatedRdsUrl } : {}),
    ...(deps.onAwsCall ? { onAwsCall: deps.onAwsCall } : {}),
  });
  return {
    infra: {
      ...infra,
      close: async () => {
        await infra.close();
        await sql.end({ timeout: 5 });
      },
    },
    simulator: {
      addFault: (request) => simulated.addFault(sql, request),
      listFaults: () => simulated.listFaults(sql),
      clearFaults: () => simulated.clearFaults(sql),
      awsCalls: () => ({ ...infra.awsCalls }),
      transactions: () => simulatorTransactions(sql),
    },
  };
}
