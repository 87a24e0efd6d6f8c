/**
 * One infra port per deployment and cluster, cached: what the AWS and the simulated infra share.
 * Each implementation only says how to build a port for a session (aws/provider.ts,
 * simulated/provider.ts); this file keeps the ports, checks the account each one acts in, and
 * stops every call of a port whose account is wrong.
 *
 * Why a port per deployment and not per role and region: the role's STS session is named after the
 * deployment, so that CloudTrail in the cluster's account says which deployment made each call. A
 * port is built once for a deployment and reused by all its jobs (the wait phase, every step, every
 * poll); its credentials are refreshed by the SDK before they expire. Ports nobody asked for in
 * `idleMs` are closed on the next `forCluster`.
 */
import type { DeploymentData } from '../domain/machines/deployment.ts';
import type { Logger } from '../logger.ts';
import { InfraError, type AccountCheck, type AwsTarget, type ClusterInfra, type InfraPort, type InfraProvider } from './port.ts';

/** What a port is built for: a deployment on a cluster, and the name of its STS session. */
export interface ClusterSession {
  target: AwsTarget;
  deploymentId: string;
  /** The RoleSessionName (names the deployment); null when the target has no role. */
  sessionName: string | null;
}

export interface BuiltClusterPort {
  /** The port's calls; its `close` releases what it holds. */
  port: InfraPort;
  /** Who the port acts as (STS GetCallerIdentity). Throws InfraError; `retryable` when it is worth asking again. */
  identify(): Promise<{ account: string; arn: string }>;
  templateUrl(key: string): string;
}

export interface InfraProviderOptions {
  kind: InfraProvider['kind'];
  build(session: ClusterSession): BuiltClusterPort;
  logger?: Logger;
  /** A port unused this long is closed. Default 15 min (a job runs at most a minute, polls come every few seconds). */
  idleMs?: number;
  now?: () => number;
}

export interface CachingInfraProvider extends InfraProvider {
  /** How many ports are open (for tests and logs). */
  readonly openPorts: number;
}

const DEFAULT_IDLE_MS = 15 * 60_000;

/** STS RoleSessionName: 2 to 64 of `[\w+=,.@-]`. */
export function stsRoleSessionNameFor(deploymentId: string): string {
  return `o5-deploy-${deploymentId}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}

export function createInfraProvider(options: InfraProviderOptions): CachingInfraProvider {
  const idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
  const now = options.now ?? Date.now;
  // Least recently used first (a port asked for moves to the end): the idle ones are at the front,
  // and a look for them stops at the first that is not, instead of going over every port on
  // every call (there is one per deployment of the last `idleMs`).
  const ports = new Map<string, { port: ClusterInfra; lastUsed: number }>();

  const closeIdle = () => {
    const at = now();
    for (const [key, entry] of ports) {
      if (at - entry.lastUsed <= idleMs) break;
      ports.delete(key);
      entry.port.close().catch((err) => options.logger?.warn({ err, key }, 'closing an idle cluster port failed'));
    }
  };

  return {
    kind: options.kind,
    get openPorts() {
      return ports.size;
    },
    forCluster(target, deploymentId) {
      closeIdle();
      const sessionName = target.roleArn ? stsRoleSessionNameFor(deploymentId) : null;
      const key = JSON.stringify([target.account, target.region, target.roleArn ?? null, deploymentId]);
      let entry = ports.get(key);
      if (entry) {
        ports.delete(key);
      } else {
        const session: ClusterSession = { target, deploymentId, sessionName };
        entry = { port: clusterPort(session, options.build(session), options.logger), lastUsed: now() };
      }
      entry.lastUsed = now();
      ports.set(key, entry);
      return entry.port;
    },
    async close() {
      const open = [...ports.values()];
      ports.clear();
      await Promise.all(open.map((entry) => entry.port.close()));
    },
  };
}

/** The built port, behind its account check. */
function clusterPort(session: ClusterSession, built: BuiltClusterPort, logger: Logger | undefined): ClusterInfra {
  const checkAccount = accountCheck(session, built.identify, logger);
  const guarded = {} as Record<string, unknown>;
  for (const [name, value] of Object.entries(built.port)) {
    guarded[name] =
      typeof value === 'function' && name !== 'close'
        ? async (...args: unknown[]) => {
            const check = await checkAccount();
            if (!check.ok) throw new InfraError('WrongAccount', check.error);
            return (value as (...a: unknown[]) => unknown).apply(built.port, args);
          }
        : value;
  }
  return { ...(guarded as unknown as InfraPort), target: session.target, checkAccount, templateUrl: built.templateUrl };
}

/**
 * GetCallerIdentity once per port: a definitive answer (right account, wrong account, a role that
 * cannot be assumed, no credentials at all) is kept; a transient failure is thrown and asked again
 * next time.
 */
function accountCheck(
  session: ClusterSession,
  identify: BuiltClusterPort['identify'],
  logger: Logger | undefined,
): () => Promise<AccountCheck> {
  const { target, sessionName } = session;
  const acting = target.roleArn ? `role ${target.roleArn}` : "the deployer's own credentials";
  const log = logger?.child({ deploymentId: session.deploymentId, cluster: target.cluster, awsAccount: target.account, awsRegion: target.region, roleArn: target.roleArn ?? null });
  let answer: Promise<AccountCheck> | undefined;

  const ask = async (): Promise<AccountCheck> => {
    if (!target.account) {
      return { ok: false, error: `Deployment ${session.deploymentId} names no AWS account of cluster ${target.cluster} to check (it was created before deployments did); request it again` };
    }
    let caller: { account: string; arn: string };
    try {
      caller = await identify();
    } catch (err) {
      if (err instanceof InfraError && err.retryable) throw err;
      const message = err instanceof Error ? err.message : String(err);
      const error = `Cluster ${target.cluster} expects AWS account ${target.account}, but got none: ${acting} could not be used in ${target.region}: ${message}`;
      log?.warn({ error }, 'AWS identity check failed');
      return { ok: false, error };
    }
    if (caller.account !== target.account) {
      const error = `Cluster ${target.cluster} expects AWS account ${target.account}, but ${acting} acts in account ${caller.account} (${caller.arn}); nothing was done`;
      log?.warn({ error, callerArn: caller.arn }, 'AWS identity check failed');
      return { ok: false, error };
    }
    log?.info({ callerArn: caller.arn, sessionName }, 'acting in the cluster\'s AWS account');
    return { ok: true, identity: { account: caller.account, arn: caller.arn, region: target.region, roleArn: target.roleArn ?? null, sessionName } };
  };

  return () => {
    answer ??= ask().catch((err: unknown) => {
      answer = undefined;
      throw err;
    });
    return answer;
  };
}

/**
 * Stores the template unless the port acts in the wrong account: then nothing is stored anywhere
 * (the deployment is still created, and its wait phase fails with the reason). Either way the URL
 * is the template's in the cluster's region.
 */
export async function storeTemplateInClusterAccount(port: ClusterInfra, input: { key: string; body: string }): Promise<{ url: string }> {
  const check = await port.checkAccount();
  return check.ok ? port.storeTemplate(input) : { url: port.templateUrl(input.key) };
}

/**
 * The port of a deployment: its cluster's account, region and role as fixed in its spec. A
 * deployment created before specs named them has no account to check, so its port refuses every call.
 */
export function clusterInfraOf(provider: InfraProvider, deployment: Pick<DeploymentData, 'deploymentId' | 'spec'>): ClusterInfra {
  const spec = deployment.spec!;
  const target: AwsTarget = spec.aws ?? { cluster: spec.clusterName, account: '', region: spec.template.region };
  return provider.forCluster(target, deployment.deploymentId);
}
