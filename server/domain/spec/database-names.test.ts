// Which stacks could make a database's name (only their deployments are read for a clash), and the
// names a single request cannot be given: one longer than Postgres keeps, one the app has twice.
import { describe, expect, it } from 'vitest';
import { parseApplication } from '../application/index.ts';
import { ValidationError, type FieldIssue } from '../errors.ts';
import { testCluster, testEnvironment } from '../../../test/support/test-cluster.ts';
import { buildDeploymentSpec, databaseNameClaims, fullDatabaseName, stacksThatCouldName } from './index.ts';

describe('stacksThatCouldName', () => {
  it('gives every (environment, application) that makes the name, the two of the collision among them', () => {
    const name = fullDatabaseName('prod-eu', 'shop', 'main');
    expect(name).toBe(fullDatabaseName('prod', 'eu', 'shop_main'));
    expect(stacksThatCouldName(name)).toEqual([
      { environmentName: 'prod', applicationName: 'eu' },
      { environmentName: 'prod-eu', applicationName: 'shop' },
    ]);
  });

  it('finds the stack of any name it makes, whatever its environment and suffix', () => {
    const cases: Array<[string, string, string]> = [
      ['demo', 'shop', 'main'],
      ['a--b', 'app1', 'x'],
      ['a-', 'b', 'app_x'],
      ['prod-eu-west', 'orders', 'Read-Model_v2'],
    ];
    for (const [env, app, suffix] of cases) {
      expect(stacksThatCouldName(fullDatabaseName(env, app, suffix))).toContainEqual({ environmentName: env, applicationName: app });
    }
  });

  it('needs a suffix: the last part is never an application', () => {
    expect(stacksThatCouldName('demo_shop')).toEqual([]);
    expect(stacksThatCouldName('demo_shop_main')).toEqual([{ environmentName: 'demo', applicationName: 'shop' }]);
  });
});

describe('databaseNameClaims', () => {
  const db = (appKey: string, fullDbName: string, serverGroup = 'default') => ({ appKey, fullDbName, serverGroup });

  it('checks nothing where only the stack itself can make the name', () => {
    expect(databaseNameClaims({ environmentName: 'demo', applicationName: 'shop' }, [db('main', 'demo_shop_main')])).toEqual({ claims: [], otherStacks: [] });
  });

  it('claims a name another stack could make, with a lock per name (servers are compared across clusters), in one order', () => {
    const own = { environmentName: 'prod-eu', applicationName: 'shop' };
    const { claims, otherStacks } = databaseNameClaims(own, [db('z', 'prod_eu_shop_z', 'aurora'), db('main', 'prod_eu_shop_main')]);
    expect(otherStacks).toEqual([{ environmentName: 'prod', applicationName: 'eu' }]);
    expect(claims.map((c) => c.lockKey)).toEqual(['o5-deployer/database-name/prod_eu_shop_main', 'o5-deployer/database-name/prod_eu_shop_z']);
    expect(claims.map((c) => c.appKey)).toEqual(['main', 'z']);
  });
});

describe('database names a request cannot be given', () => {
  const appWith = (databases: string) =>
    parseApplication(`name: shop
databases:
${databases}
runtimes:
  - name: api
    containers: [{ name: main, image: { name: shop } }]
`);
  function issuesOf(databases: string): FieldIssue[] {
    try {
      buildDeploymentSpec({
        deploymentId: '3b241101-e2bb-4255-8caf-4136c566a962',
        application: appWith(databases),
        version: 'v1',
        environment: testEnvironment(),
        cluster: testCluster(),
      });
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      return (err as ValidationError).issues;
    }
    return [];
  }
  // test-env_shop_ is 14 bytes: a suffix of 49 makes 63, what Postgres keeps whole.
  const prefix = fullDatabaseName(testEnvironment().fullName, 'shop', '');

  it('accepts a name of 63 bytes and refuses one of 64, which Postgres would truncate into another', () => {
    expect(prefix.length).toBe(14);
    expect(issuesOf(`  - { name: main, postgres: { dbNameSuffix: ${'x'.repeat(49)} } }`)).toEqual([]);
    expect(issuesOf(`  - { name: main, postgres: { dbNameSuffix: ${'x'.repeat(50)} } }`)).toEqual([
      { path: 'databases[0].postgres.dbNameSuffix', message: `The database name "${prefix}${'x'.repeat(50)}" is longer than Postgres allows (63 bytes); choose a shorter dbNameSuffix` },
    ]);
  });

  it('refuses two databases of the app with one name on one server, and allows it on two servers', () => {
    expect(issuesOf(`  - { name: a, postgres: { dbNameSuffix: x-y } }\n  - { name: b, postgres: { dbNameSuffix: x_y } }`)).toEqual([
      {
        path: 'databases[1].postgres.dbNameSuffix',
        message: 'Makes the database name "test_env_shop_x_y" on server group default, which database "a" has already; choose another dbNameSuffix',
      },
    ]);
    expect(issuesOf(`  - { name: a, postgres: { dbNameSuffix: same } }\n  - { name: same, postgres: {} }`)).toHaveLength(1);
    expect(issuesOf(`  - { name: a, postgres: { dbNameSuffix: same } }\n  - { name: same, postgres: { serverGroup: aurora } }`)).toEqual([]);
  });
});
