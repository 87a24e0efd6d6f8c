/**
 * A test deployer on the simulated cloud whose cluster ports pass some calls through the test: how
 * a test makes ECS lose an answer, list a task late or stop it before it starts, while everything
 * else is the simulator's own. The simulator gets a pool of its own, as it always does
 * (server/infra/create-infra.ts); `pool()` is it, for faults and for reading the simulated cloud.
 */
import postgres from 'postgres';
import type { ClusterInfra, InfraProvider } from '../../server/infra/port.ts';
import { createSimulatedInfraProvider } from '../../server/infra/simulated/provider.ts';
import { startTestDeployer, type TestDeployer } from './deployer.ts';

type Method = { [K in keyof ClusterInfra]: ClusterInfra[K] extends (...args: never[]) => unknown ? K : never }[keyof ClusterInfra];

/** For each call to intercept, what it becomes, given the simulator's own. */
export type Interceptors = { [K in Method]?: (real: ClusterInfra[K]) => ClusterInfra[K] };

export async function startDeployerIntercepting(intercept: Interceptors, env: Record<string, string> = {}): Promise<{ t: TestDeployer; pool: () => postgres.Sql }> {
  let pool: postgres.Sql | undefined;
  const t = await startTestDeployer({
    env,
    infra: ({ config }) => {
      pool = postgres(config.databaseUrl!, { max: 5, onnotice: () => {} });
      const provider = createSimulatedInfraProvider({ sql: pool, latencyMs: 0 });
      return new Proxy(provider, {
        get(target, property, receiver) {
          if (property === 'close') return async () => (await target.close(), await pool!.end({ timeout: 5 }));
          const value = Reflect.get(target, property, receiver);
          if (property !== 'forCluster') return typeof value === 'function' ? value.bind(target) : value;
          return (...args: Parameters<InfraProvider['forCluster']>) => {
            const port = target.forCluster(...args);
            return new Proxy(port, {
              get(p, name, r) {
                const real = Reflect.get(p, name, r);
                const bound = typeof real === 'function' ? real.bind(p) : real;
                const wrap = (intercept as Record<PropertyKey, ((real: unknown) => unknown) | undefined>)[name];
                return wrap ? wrap(bound) : bound;
              },
            });
          };
        },
      }) as InfraProvider;
    },
  });
  return {
    t,
    pool: () => {
      if (!pool) throw new Error('the deployer has not made its simulated cloud yet');
      return pool;
    },
  };
}
