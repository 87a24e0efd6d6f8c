/**
 * A whole deployer in the test's process, on a fresh database of its own (real Postgres, real
 * pg-boss), with an SDK client that calls the app without a socket. The SDK is tested wherever
 * the API is.
 *
 *   const t = await startTestDeployer();      // beforeAll
 *   const { data } = await t.client.GET('/v1/clusters');
 *   await t.stop();                           // afterAll
 */
import { createDeployerClient, type DeployerClient } from '../../sdk/client.ts';
import { loadConfig, type Config } from '../../server/config.ts';
import type { AwsTarget } from '../../server/domain/spec/aws-target.ts';
import type { InfraProvider, StackDescription } from '../../server/infra/port.ts';
import { ACCOUNT_ID as SIMULATED_ACCOUNT_ID } from '../../server/infra/simulated/template.ts';
import { createLogger } from '../../server/logger.ts';
import { startDeployer, type RunningDeployer } from '../../server/start.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

export interface TestDeployer {
  deployer: RunningDeployer;
  config: Config;
  database: TestDatabase;
  /** SDK client with the first configured token (or none when auth is off). */
  client: DeployerClient;
  /** SDK client with the given token (or none). */
  clientWith(token?: string): DeployerClient;
  /** Raw request to the app, for what the SDK cannot send (YAML bodies, bad JSON). */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** The simulated cloud's view of a stack, read as a test would read AWS (null when absent). */
  describeStack(stackName: string): Promise<StackDescription | null>;
  /** The template body the simulated stack runs (GetTemplate). */
  stackTemplate(stackName: string): Promise<string | null>;
  stop(): Promise<void>;
}

/** The simulator keeps one cloud; a reader in its made-up account sees every stack of it. */
const SIMULATED_READER: AwsTarget = { cluster: 'test-reader', account: SIMULATED_ACCOUNT_ID, region: 'us-east-1' };

export async function startTestDeployer(
  options: { env?: Record<string, string>; infra?: (deps: { sql: RunningDeployer['services']['sql']; config: Config }) => InfraProvider } = {},
): Promise<TestDeployer> {
  const database = await createTestDatabase();
  const config = loadConfig({
    DATABASE_URL: database.url,
    DEPLOYER_SEED_DEMO: 'false',
    DEPLOYER_SIM_LATENCY_MS: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...options.env,
  });
  const logger = createLogger(config.logLevel, { pretty: false });
  const deployer = await startDeployer(config, { logger, http: false, infra: options.infra });
  const fetch = (request: Request) => Promise.resolve(deployer.app.fetch(request));
  const clientWith = (token?: string) => createDeployerClient({ baseUrl: 'http://localhost', token, fetch });
  return {
    deployer,
    config,
    database,
    client: clientWith(config.apiTokens[0]?.token),
    clientWith,
    request: (path, init) => Promise.resolve(deployer.app.fetch(new Request(`http://localhost${path}`, init))),
    describeStack: (stackName) => deployer.services.infra.forCluster(SIMULATED_READER, 'test-reader').describeStack(stackName),
    stackTemplate: (stackName) => deployer.services.infra.forCluster(SIMULATED_READER, 'test-reader').stackTemplate(stackName),
    async stop() {
      await deployer.stop();
      await database.drop();
    },
  };
}
