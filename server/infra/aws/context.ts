/**
 * What every part of the AWS infra shares: the SDK clients, built once per port (one region, one
 * set of credentials), and the call wrapper that retries throttling and turns failures into
 * InfraError. Every client counts its calls through `onCall` (see aws-call-metrics.ts).
 */
import { CloudFormationClient, type CloudFormationClientConfig } from '@aws-sdk/client-cloudformation';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import { countCalls, type AwsCallListener } from './aws-call-metrics.ts';
import { DEFAULT_RETRY_POLICY, callAws, type RetryPolicy } from './errors.ts';

/** verify-full: TLS or nothing, the certificate verified against `ca` (PEM, read from `caFile`). off: plaintext. */
export type DatabaseTls = { mode: 'verify-full'; ca?: string; caFile?: string } | { mode: 'off' };

export interface AwsInfraOptions {
  /** Without it, the SDK's own resolution (AWS_REGION, the profile...). */
  region?: string;
  /**
   * One endpoint for every service (moto, LocalStack). Without it the SDK uses AWS, or whatever
   * `AWS_ENDPOINT_URL` says; pass that variable here too, so that template URLs point at it.
   */
  endpoint?: string;
  /** Without them, the SDK's default credential chain. */
  credentials?: CloudFormationClientConfig['credentials'];
  /** The S3 bucket templates are stored in; CloudFormation must be able to read it. */
  templateBucket: string;
  /** Resolves `AWS::AccountId` in the names of resources to import; only needed if they use it. */
  accountId?: string;
  /** Patience with throttling (see errors.ts). */
  retry?: Partial<RetryPolicy>;
  /** The SDK's own attempts per call (network faults, 5xx); the SDK default when absent. */
  maxAttempts?: number;
  /**
   * TLS of the administrator's sessions on RDS hosts (DEPLOYER_RDS_TLS, DEPLOYER_RDS_CA_BUNDLE):
   * verify-full by default, against Node's default CAs when no bundle is given; `off` only for a
   * local Postgres without TLS (tests, development). See databases.ts.
   */
  databaseTls?: DatabaseTls;
  /** Hears of every SDK call the port's clients make, once it has ended. */
  onCall?: AwsCallListener;
}

export interface AwsClients {
  cloudFormation: CloudFormationClient;
  ecs: ECSClient;
  elb: ElasticLoadBalancingV2Client;
  s3: S3Client;
  secretsManager: SecretsManagerClient;
  sts: STSClient;
}

export interface AwsContext {
  options: AwsInfraOptions;
  clients: AwsClients;
  /** Runs one provider call: retried while throttled, failures thrown as InfraError. */
  call<T>(request: () => Promise<T>): Promise<T>;
  /** The region the clients use: the option, or what the SDK resolved. */
  region(): Promise<string>;
}

export function createAwsContext(options: AwsInfraOptions): AwsContext {
  const config = {
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
  };
  const clients: AwsClients = {
    cloudFormation: new CloudFormationClient(config),
    ecs: new ECSClient(config),
    elb: new ElasticLoadBalancingV2Client(config),
    // Emulators answer on one host name, so buckets go in the path, not in the host name.
    s3: new S3Client({ ...config, forcePathStyle: Boolean(options.endpoint) }),
    secretsManager: new SecretsManagerClient(config),
    sts: new STSClient(config),
  };
  if (options.onCall) {
    for (const client of Object.values(clients)) countCalls(client, options.region, options.onCall);
  }
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  return {
    options,
    clients,
    call: (request) => callAws(request, policy),
    region: async () => options.region ?? (await clients.cloudFormation.config.region()),
  };
}

export function destroyClients(clients: AwsClients): void {
  for (const client of Object.values(clients)) client.destroy();
}
