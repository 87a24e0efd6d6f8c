/**
 * The o5 runtime sidecar, added to a task only when something needs
 * it: ingress from the load balancer, message subscriptions, the adapter endpoint, the IAM
 * database proxy, or an outbox to publish. Each of those switches on its own environment
 * variables; the rest of the sidecar is the same everywhere.
 */
import type { WorkerConfig } from '../application/index.ts';
import { AWS_REGION, ref, type CfnValue } from './cfn.ts';
import type { ContainerDefinition } from './containers.ts';
import { logConfiguration } from './logs.ts';
import type { DatabaseInfo } from './context.ts';

export const SIDECAR_CONTAINER_NAME = 'o5_runtime';
/** Where the load balancer reaches the sidecar. */
export const SIDECAR_PUBLIC_PORT = 8888;
/** Where the app containers reach the sidecar's adapter. */
export const SIDECAR_ADAPTER_PORT = 8081;
const POSTGRES_PROXY_BIND = '/sockets/postgres/.s.PGSQL.5432';

export class SidecarBuilder {
  private readonly endpoints = new Set<string>();
  private readonly linkedContainers = new Set<string>();
  private readonly proxyDatabases = new Map<string, DatabaseInfo>();
  private readonly outboxDatabases = new Map<string, DatabaseInfo>();
  private servesPublic = false;
  private servesAdapter = false;
  private outboxDelayable = false;
  private queueUrl: CfnValue | undefined;
  private workerConfig: WorkerConfig | undefined;

  /** The sidecar forwards requests or messages to `container:port`. */
  addAppEndpoint(containerName: string, port: number): void {
    this.endpoints.add(`${containerName}:${port}`);
    this.linkedContainers.add(containerName);
  }

  /** Routes arrive from the load balancer on the public port. */
  servePublic(): void {
    this.servesPublic = true;
  }

  /** Messages arrive on the runtime's SQS queue. */
  subscribe(queueUrl: CfnValue): void {
    this.queueUrl = queueUrl;
  }

  serveAdapter(): void {
    this.servesAdapter = true;
  }

  proxyDatabase(db: DatabaseInfo): void {
    this.proxyDatabases.set(db.sidecarKey, db);
  }

  runOutbox(db: DatabaseInfo, delayable: boolean): void {
    this.outboxDatabases.set(db.sidecarKey, db);
    this.outboxDelayable ||= delayable;
  }

  setWorkerConfig(config: WorkerConfig | undefined): void {
    this.workerConfig = config;
  }

  get isRequired(): boolean {
    return (
      this.servesPublic ||
      this.endpoints.size > 0 ||
      this.queueUrl !== undefined ||
      this.servesAdapter ||
      this.proxyDatabases.size > 0 ||
      this.outboxDatabases.size > 0
    );
  }

  /** The container definition, or undefined when nothing needs a sidecar. */
  build(appName: string): ContainerDefinition | undefined {
    if (!this.isRequired) return undefined;
    const env: { Name: string; Value: CfnValue }[] = [
      { Name: 'APP_NAME', Value: appName },
      { Name: 'ENVIRONMENT_NAME', Value: ref('EnvName') },
      { Name: 'AWS_REGION', Value: AWS_REGION },
    ];
    const secrets: { Name: string; ValueFrom: CfnValue }[] = [];
    const set = (name: string, value: CfnValue) => env.push({ Name: name, Value: value });
    const sortedKeys = (m: Map<string, unknown>) => [...m.keys()].sort().join(',');

    if (this.queueUrl !== undefined || this.servesAdapter || this.outboxDatabases.size > 0) set('EVENTBRIDGE_ARN', ref('EventBusARN'));
    if (this.servesPublic) {
      set('PUBLIC_ADDR', `:${SIDECAR_PUBLIC_PORT}`);
      set('JWKS', ref('JWKS'));
      set('CORS_ORIGINS', ref('CORSOrigin'));
    }
    if (this.endpoints.size > 0) set('SERVICE_ENDPOINT', [...this.endpoints].sort().join(','));
    if (this.queueUrl !== undefined) set('SQS_URL', this.queueUrl);
    if (this.servesAdapter) set('ADAPTER_ADDR', `:${SIDECAR_ADAPTER_PORT}`);
    if (this.proxyDatabases.size > 0) {
      set('POSTGRES_PROXY_BIND', POSTGRES_PROXY_BIND);
      set('POSTGRES_IAM_PROXY', sortedKeys(this.proxyDatabases));
    }
    if (this.outboxDatabases.size > 0) {
      set('POSTGRES_OUTBOX', sortedKeys(this.outboxDatabases));
      if (this.outboxDelayable) set('POSTGRES_OUTBOX_DELAYABLE', 'true');
    }
    // Credentials of every database the sidecar connects to, proxied or read for the outbox.
    const connected = new Map([...this.proxyDatabases, ...this.outboxDatabases]);
    for (const key of [...connected.keys()].sort()) {
      const db = connected.get(key)!;
      if (db.auth === 'iam') set(`DB_CREDS_${key}`, ref(db.jsonParameter));
      else secrets.push({ Name: `DB_CREDS_${key}`, ValueFrom: db.urlSecretValueFrom });
    }
    const worker = this.workerConfig;
    if (worker && worker.replayChance > 0) set('RESEND_CHANCE', String(worker.replayChance));
    if (worker && worker.deadletterChance > 0) set('DEADLETTER_CHANCE', String(worker.deadletterChance));
    if (worker?.noDeadletters) set('NO_DEADLETTERS', 'true');

    return {
      Name: SIDECAR_CONTAINER_NAME,
      Image: ref('O5SidecarImage'),
      Essential: true,
      Cpu: 128,
      Memory: 128,
      Environment: env,
      Secrets: secrets,
      PortMappings: this.servesPublic ? [{ ContainerPort: SIDECAR_PUBLIC_PORT }] : [],
      MountPoints: [{ ContainerPath: '/sockets', SourceVolume: 'sockets' }],
      // Bridge networking: the sidecar reaches the containers it serves by link name.
      ...(this.linkedContainers.size > 0 ? { Links: [...this.linkedContainers].sort().map((c) => `${c}:${c}`) } : {}),
      LogConfiguration: logConfiguration(appName, SIDECAR_CONTAINER_NAME),
    };
  }
}
