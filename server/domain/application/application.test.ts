import { realConfigText, reportSkipped } from '../../../test/support/o5-corpus.ts';
import { REAL_CONFIGS_MISSING } from '../../../test/support/template-helpers.ts';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DomainError, ValidationError, type FieldIssue } from '../errors.ts';
import { databaseNameSuffix, parseApplication, parseSubscriptionName, readApplication, type Application } from './index.ts';

const fixture = (name: string) => realConfigText(name);

/** A valid application, small enough to change one field at a time. */
function minimalApp(): Record<string, any> {
  return { name: 'shop', runtimes: [{ name: 'api', containers: [{ name: 'main', image: { name: 'shop' } }] }] };
}

function issuesOf(input: unknown): FieldIssue[] {
  try {
    parseApplication(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).issues;
  }
  throw new Error('expected a ValidationError');
}

reportSkipped(REAL_CONFIGS_MISSING, 'the real fixtures');
describe.skipIf(REAL_CONFIGS_MISSING !== undefined)('the real fixtures', () => {
  it('o5deploy parses with every section', () => {
    const app = parseApplication(fixture('o5deploy'));
    expect(app.name).toBe('o5deploy');
    expect(app.blobstores).toEqual([{ name: 'cf-templates', grants: [], emitEvents: false }]);
    expect(app.secrets).toEqual([{ name: 'github' }]);
    expect(app.targets.map((t) => t.name)).toEqual(['o5-deployer-input', 'o5-deployer-event', 'o5-aws-command_request', 'o5-aws-command_reply']);
    const db = app.databases[0]!;
    expect(db.postgres).toMatchObject({ runOutbox: true, serverGroup: 'default', dbExtensions: ['uuid-ossp'], outboxDelayable: false });
    expect(db.postgres.migrateContainer).toMatchObject({ name: 'migrate', command: ['migrate'], image: { name: 'o5-deploy-aws', registry: 'ghcr.io/pentops' } });
    const runtime = app.runtimes[0]!;
    expect(runtime.namedEnvPolicies).toEqual(['assume-o5-deployer']);
    expect(runtime.routes).toEqual([
      { prefix: '/deployer/v1/', protocol: 'ROUTE_PROTOCOL_HTTP', port: 8080, subdomains: [], bypassIngress: false, routeGroup: 'ROUTE_GROUP_UNSPECIFIED' },
    ]);
    expect(runtime.subscriptions).toHaveLength(8);
    expect(runtime.containers[0]!.envVars).toEqual([
      { name: 'POSTGRES_URL', database: { databaseName: 'main' } },
      { name: 'DEPLOYER_ASSUME_ROLE', fromEnv: { name: 'o5-deployer-assume-role' } },
      { name: 'CF_TEMPLATES', blobstore: { name: 'cf-templates', s3Direct: true } },
      { name: 'GRPC_PORT', value: '8080' },
      { name: 'GITHUB_APPS', secret: { secretName: 'github' } },
    ]);
  });

  it('o5test parses, with the deprecated dbName as the name suffix', () => {
    const app = parseApplication(fixture('o5test'));
    expect(app.name).toBe('o5test');
    expect(databaseNameSuffix(app.databases[0]!)).toBe('o5test');
    expect(app.runtimes[0]!.containers[0]!.demand).toBe('DEMAND_LIGHT');
  });

  it('reads the same config from JSON', () => {
    const fromYaml = parseApplication(fixture('o5test'));
    expect(parseApplication(JSON.stringify(fromYaml), 'json')).toEqual(fromYaml);
  });
});

describe('every field', () => {
  it('parses a config that uses every field, filling defaults', () => {
    const app: Application = parseApplication(`
name: shop
deploymentConfig: { quickMode: true }
targets: [{ name: shop-events }]
secrets: [{ name: payments }]
blobstores:
  - name: uploads
    emitEvents: true
    grants: [{ principal: auditor }]
    sftpSettings: { users: [{ username: bob, publicSshKey: ssh-ed25519 AAA }] }
  - name: invoices
    ref: { application: billing, writePermission: true }
  - name: legacy
    ref: { bucketName: legacy.bucket.example }
databases:
  - name: main
    postgres:
      serverGroup: aurora
      dbNameSuffix: core
      dbExtensions: [uuid-ossp]
      runOutbox: true
      outboxDelayable: true
      migrateContainer:
        imageUrl: ghcr.io/acme/shop:1
        command: [migrate, up]
        envVars: [{ name: DB, database: { databaseName: main } }]
  - name: other
    postgres: {}
runtimes:
  - name: api
    directIngress: true
    namedEnvPolicies: [send-email]
    workerConfig: { replayChance: 1, deadletterChance: 2, noDeadletters: true }
    routes:
      - prefix: /shop/v1/
        protocol: ROUTE_PROTOCOL_GRPC
        subdomains: [grpc, api]
        targetContainer: sidecarless
        bypassIngress: true
        port: 9000
        routeGroup: ROUTE_GROUP_FIRST
      - protocol: ROUTE_PROTOCOL_HTTP
        routeGroup: ROUTE_GROUP_FALLBACK
    subscriptions:
      - name: /shop.v1.topic.PaymentTopic/Paid
        envName: staging
        targetContainer: sidecarless
        port: 9001
        rawMessage: true
    containers:
      - name: main
        image: { name: shop, tag: v1, registry: ghcr.io/acme }
        demand: DEMAND_HEAVY
        mountDockerSocket: true
        envVars:
          - { name: A, value: a }
          - { name: B, database: { databaseName: main } }
          - { name: C, blobstore: { name: uploads, subPath: in, s3Direct: true } }
          - { name: D, secret: { secretName: payments, jsonKey: apiKey } }
          - { name: E, fromEnv: { name: public-url } }
          - { name: F, o5: O5_VAR_ADAPTER_ENDPOINT }
      - name: sidecarless
        imageUrl: nginx
`);
    expect(app.deploymentConfig).toEqual({ quickMode: true });
    expect(app.blobstores[0]).toEqual({
      name: 'uploads',
      emitEvents: true,
      grants: [{ principal: 'auditor' }],
      sftpSettings: { users: [{ username: 'bob', publicSshKey: 'ssh-ed25519 AAA' }] },
    });
    expect(app.blobstores[1]!.ref).toEqual({ application: 'billing', readPermission: false, writePermission: true });
    expect(app.blobstores[2]!.ref).toEqual({ bucketName: 'legacy.bucket.example', readPermission: false, writePermission: false });
    expect(app.databases[0]!.postgres).toMatchObject({ serverGroup: 'aurora', dbNameSuffix: 'core', runOutbox: true, outboxDelayable: true });
    expect(databaseNameSuffix(app.databases[0]!)).toBe('core');
    expect(app.databases[0]!.postgres.migrateContainer).toMatchObject({ name: 'migrate', imageUrl: 'ghcr.io/acme/shop:1', command: ['migrate', 'up'] });
    expect(app.databases[1]!.postgres).toEqual({ serverGroup: 'default', dbExtensions: [], runOutbox: false, outboxDelayable: false });
    expect(databaseNameSuffix(app.databases[1]!)).toBe('other');
    const runtime = app.runtimes[0]!;
    expect(runtime.directIngress).toBe(true);
    expect(runtime.workerConfig).toEqual({ replayChance: 1, deadletterChance: 2, noDeadletters: true });
    expect(runtime.routes[1]).toEqual({
      prefix: '',
      protocol: 'ROUTE_PROTOCOL_HTTP',
      routeGroup: 'ROUTE_GROUP_FALLBACK',
      subdomains: [],
      bypassIngress: false,
      port: 8080,
    });
    expect(runtime.subscriptions[0]).toEqual({
      name: '/shop.v1.topic.PaymentTopic/Paid',
      envName: 'staging',
      targetContainer: 'sidecarless',
      port: 9001,
      rawMessage: true,
    });
    expect(runtime.containers[0]).toMatchObject({ demand: 'DEMAND_HEAVY', mountDockerSocket: true, image: { name: 'shop', tag: 'v1', registry: 'ghcr.io/acme' } });
    expect(runtime.containers[0]!.envVars.map((v) => Object.keys(v)[1])).toEqual(['value', 'database', 'blobstore', 'secret', 'fromEnv', 'o5']);
    expect(runtime.containers[1]).toEqual({ name: 'sidecarless', imageUrl: 'nginx', command: [], demand: 'DEMAND_UNSPECIFIED', envVars: [], mountDockerSocket: false });
  });
});

describe('bad configs name the path of each mistake', () => {
  it('reports malformed YAML with its line', () => {
    expect(() => parseApplication('name: shop\nruntimes: [\n')).toThrow(DomainError);
    expect(() => parseApplication('name: shop\nruntimes: [\n')).toThrow(/line 3/);
  });

  it('requires runtimes', () => {
    expect(issuesOf({ name: 'shop' })).toEqual([{ path: 'runtimes', message: 'No runtimes defined' }]);
  });

  it('refuses a name over 63 characters (the stack name <environment>-<app> stops at 128)', () => {
    expect(issuesOf({ ...minimalApp(), name: 'a'.repeat(64) })).toEqual([{ path: 'name', message: 'At most 63 characters' }]);
  });

  it('rejects unknown fields, bad names and bad enums', () => {
    const app = minimalApp();
    app.name = 'my-shop';
    app.colour = 'blue';
    app.runtimes[0].containers[0].demand = 'DEMAND_HUGE';
    app.runtimes[0].containers[0].image.tagg = 'x';
    app.runtimes[0].containers[0].envVars = [{ name: 'E', o5: 'O5_VAR_UNSPECIFIED' }];
    app.runtimes[0].routes = [{ prefix: '/a', protocol: 'http' }];
    expect(issuesOf(app)).toEqual([
      { path: 'name', message: expect.stringContaining('no hyphens') },
      { path: 'runtimes[0].containers[0].image.tagg', message: 'Unknown field "tagg"; did you mean "tag"?' },
      { path: 'runtimes[0].containers[0].demand', message: expect.stringContaining('DEMAND_LIGHT') },
      { path: 'runtimes[0].containers[0].envVars[0].o5', message: expect.stringContaining('O5_VAR_ADAPTER_ENDPOINT') },
      { path: 'runtimes[0].routes[0].protocol', message: 'Must be one of ROUTE_PROTOCOL_HTTP, ROUTE_PROTOCOL_GRPC (found "http")' },
      { path: 'colour', message: expect.stringMatching(/^Unknown field "colour"; the fields here are: name, targets, /) },
    ]);
  });

  it('requires exactly one image source and one env var kind; rejects envMap and non-s3Direct blobstores', () => {
    const app = minimalApp();
    app.blobstores = [{ name: 'b' }];
    app.runtimes[0].containers[0] = {
      name: 'main',
      envVars: [
        { name: 'A' },
        { name: 'B', value: 'x', fromEnv: { name: 'y' } },
        { name: 'C', envMap: {} },
        { name: 'D', blobstore: { name: 'b' } },
        { name: 'A', value: 'again' },
      ],
    };
    expect(issuesOf(app)).toEqual([
      { path: 'runtimes[0].containers[0].envVars[0]', message: 'Exactly one of value, database, blobstore, fromEnv, secret, o5 is required' },
      { path: 'runtimes[0].containers[0].envVars[1]', message: expect.stringContaining('found value, fromEnv') },
      { path: 'runtimes[0].containers[0].envVars[2].envMap', message: 'envMap is not supported' },
      { path: 'runtimes[0].containers[0].envVars[3].blobstore.s3Direct', message: 'Must be true (s3Direct is the only supported format)' },
      { path: 'runtimes[0].containers[0]', message: 'Exactly one of image, imageUrl is required' },
      { path: 'runtimes[0].containers[0].envVars[4].name', message: 'Duplicate env var "A"' },
    ]);
  });

  it('checks routes: subdomains, ports, prefixes, target containers', () => {
    const app = minimalApp();
    app.runtimes[0].routes = [
      { prefix: '/a', protocol: 'ROUTE_PROTOCOL_HTTP', subdomains: ['a', 'b', 'c', 'd'] },
      { prefix: '/b', protocol: 'ROUTE_PROTOCOL_HTTP', port: 70000 },
      { protocol: 'ROUTE_PROTOCOL_HTTP' },
    ];
    expect(issuesOf(app)).toEqual([
      { path: 'runtimes[0].routes[0].subdomains', message: 'At most 3 subdomains' },
      { path: 'runtimes[0].routes[1].port', message: expect.stringContaining('65535') },
      { path: 'runtimes[0].routes[2].prefix', message: 'Required unless routeGroup is ROUTE_GROUP_FALLBACK' },
    ]);
    app.runtimes[0].routes = [{ prefix: '/a', protocol: 'ROUTE_PROTOCOL_GRPC', targetContainer: 'nope' }];
    app.runtimes[0].subscriptions = [{ name: 'topic', targetContainer: 'gone' }];
    expect(issuesOf(app)).toEqual([
      { path: 'runtimes[0].routes[0].targetContainer', message: 'Unknown container "nope" (this runtime has main)' },
      { path: 'runtimes[0].subscriptions[0].targetContainer', message: 'Unknown container "gone" (this runtime has main)' },
    ]);
  });

  it('rejects the same route prefix twice, even across runtimes', () => {
    const app = minimalApp();
    app.runtimes.push({ name: 'worker', containers: [{ name: 'main', imageUrl: 'x' }] });
    app.runtimes[0].routes = [{ prefix: '/a', protocol: 'ROUTE_PROTOCOL_HTTP' }];
    app.runtimes[1].routes = [{ prefix: '/a', protocol: 'ROUTE_PROTOCOL_GRPC' }];
    expect(issuesOf(app)).toEqual([{ path: 'runtimes[1].routes[0].prefix', message: 'Duplicate route prefix "/a" (also at runtimes[0].routes[0])' }]);
  });

  it('checks subscription names against every form', () => {
    const app = minimalApp();
    app.runtimes[0].subscriptions = [{ name: 'global/nope' }, { name: 'foo/bar' }, { name: '/' }, { name: '/a.B/c/d' }, { name: 'o5-infra/' }, { name: '/a.B/' }];
    expect(issuesOf(app).map((i) => [i.path, i.message.split(';')[0]])).toEqual([
      ['runtimes[0].subscriptions[0].name', 'global/<type> takes type event, upsert or *'],
      ['runtimes[0].subscriptions[1].name', 'Unknown prefix "foo/"'],
      ['runtimes[0].subscriptions[2].name', 'Expected /<Service> or /<Service>/<Method>: the service name is empty or has spaces'],
      ['runtimes[0].subscriptions[3].name', 'Expected /<Service> or /<Service>/<Method> (too many slashes)'],
      ['runtimes[0].subscriptions[4].name', 'o5-infra/<topic> needs an SNS topic name (letters, digits, _ or -)'],
      ['runtimes[0].subscriptions[5].name', 'Expected /<Service>/<Method>: the method name is empty or has spaces'],
    ]);
  });

  it('checks worker config ranges', () => {
    const app = minimalApp();
    app.runtimes[0].workerConfig = { replayChance: 101, deadletterChance: -1 };
    expect(issuesOf(app).map((i) => i.path)).toEqual(['runtimes[0].workerConfig.replayChance', 'runtimes[0].workerConfig.deadletterChance']);
  });

  it('reports env vars naming an undeclared database, blobstore or secret, in runtimes and migrations', () => {
    const app = minimalApp();
    app.databases = [
      { name: 'main', postgres: { migrateContainer: { imageUrl: 'x', envVars: [{ name: 'DB', database: { databaseName: 'other' } }] } } },
    ];
    app.runtimes[0].containers[0].envVars = [
      { name: 'A', database: { databaseName: 'nodb' } },
      { name: 'B', blobstore: { name: 'nobucket', s3Direct: true } },
      { name: 'C', secret: { secretName: 'nosecret', jsonKey: 'k' } },
    ];
    expect(issuesOf(app)).toEqual([
      { path: 'runtimes[0].containers[0].envVars[0].database.databaseName', message: 'Unknown database "nodb"' },
      { path: 'runtimes[0].containers[0].envVars[1].blobstore.name', message: 'Unknown blobstore "nobucket"' },
      { path: 'runtimes[0].containers[0].envVars[2].secret.secretName', message: 'Unknown secret "nosecret"' },
      { path: 'databases[0].postgres.migrateContainer.envVars[0].database.databaseName', message: 'Unknown database "other"' },
    ]);
  });

  it('reports duplicate names of every kind', () => {
    const app = minimalApp();
    app.runtimes.push(structuredClone(app.runtimes[0]));
    app.runtimes[0].containers.push({ name: 'main', imageUrl: 'x' });
    app.databases = [{ name: 'db', postgres: {} }, { name: 'db', postgres: {} }];
    app.blobstores = [{ name: 'b' }, { name: 'b' }];
    app.secrets = [{ name: 's' }, { name: 's' }];
    app.targets = [{ name: 't' }, { name: 't' }];
    expect(issuesOf(app)).toEqual([
      { path: 'runtimes[0].containers[1].name', message: 'Duplicate container "main"' },
      { path: 'runtimes[1].name', message: 'Duplicate runtime "api"' },
      { path: 'databases[1].name', message: 'Duplicate database "db"' },
      { path: 'blobstores[1].name', message: 'Duplicate blobstore "b"' },
      { path: 'secrets[1].name', message: 'Duplicate secret "s"' },
      { path: 'targets[1].name', message: 'Duplicate target "t"' },
    ]);
  });

  it('checks blobstore refs and postgres options', () => {
    const app = minimalApp();
    app.blobstores = [{ name: 'a', ref: {} }, { name: 'b', ref: { application: 'xx', bucketName: 'y.z' } }, { name: 'Bad_Name' }];
    app.databases = [{ name: 'db', postgres: { dbNameSuffix: 'a.b', outboxDelayable: true } }, { name: 'nopg' }];
    expect(issuesOf(app)).toEqual([
      { path: 'blobstores[0].ref', message: 'Exactly one of application, bucketName is required' },
      { path: 'blobstores[1].ref', message: expect.stringContaining('Only one of application, bucketName') },
      { path: 'blobstores[2].name', message: expect.stringContaining('bucket name') },
      { path: 'databases[0].postgres.dbNameSuffix', message: 'Must be letters, digits, _ or -' },
      { path: 'databases[0].postgres.outboxDelayable', message: 'Requires runOutbox: true' },
      { path: 'databases[1].postgres', message: 'Required' },
    ]);
  });

  it('requires a container per runtime', () => {
    const app = minimalApp();
    app.runtimes[0].containers = [];
    expect(issuesOf(app)).toEqual([{ path: 'runtimes[0].containers', message: 'A runtime needs at least one container' }]);
  });
});

describe('parseSubscriptionName', () => {
  it.each([
    ['o5-infra/o5-infra', { kind: 'sns', topic: 'o5-infra' }],
    ['o5-deployer-input', { kind: 'topic', topic: 'o5-deployer-input' }],
    ['/o5.aws.deployer.v1.topic.DeploymentRequestTopic', { kind: 'service', service: 'o5.aws.deployer.v1.topic.DeploymentRequestTopic' }],
    ['/foo.v1.Bar/Baz', { kind: 'method', service: 'foo.v1.Bar', method: 'Baz' }],
    // o5 takes what is between the slashes: a service need not be package-qualified.
    ['/Greeter', { kind: 'service', service: 'Greeter' }],
    ['/Greeter/SayHello', { kind: 'method', service: 'Greeter', method: 'SayHello' }],
    ['/foo-v1.Bar/say-hello', { kind: 'method', service: 'foo-v1.Bar', method: 'say-hello' }],
    ['global/event', { kind: 'global', type: 'event' }],
    ['/global/upsert', { kind: 'global', type: 'upsert' }],
    ['/global/*', { kind: 'global', type: '*' }],
  ])('%s', (name, expected) => {
    expect(parseSubscriptionName(name)).toEqual(expected);
  });
});

describe("o5's unset values (proto3 zero values) are the defaults", () => {
  it('a route or subscription with port 0 and targetContainer "" targets the first container on 8080', () => {
    const app = minimalApp();
    app.runtimes[0].routes = [{ prefix: '/a', protocol: 'ROUTE_PROTOCOL_HTTP', port: 0, targetContainer: '' }];
    app.runtimes[0].subscriptions = [{ name: 'orders', port: 0, targetContainer: '' }];
    const runtime = parseApplication(app).runtimes[0]!;
    expect(runtime.routes[0]).toMatchObject({ port: 8080 });
    expect(runtime.routes[0]!.targetContainer).toBeUndefined();
    expect(runtime.subscriptions[0]).toMatchObject({ port: 8080 });
    expect(runtime.subscriptions[0]!.targetContainer).toBeUndefined();
    // What is stored is the default, and reads back as itself.
    expect(parseApplication(JSON.parse(JSON.stringify(parseApplication(app))))).toEqual(parseApplication(app));
  });

  it('a negative port or one above 65535 is still refused at its path', () => {
    const app = minimalApp();
    app.runtimes[0].routes = [{ prefix: '/a', protocol: 'ROUTE_PROTOCOL_HTTP', port: -1 }];
    app.runtimes[0].subscriptions = [{ name: 'orders', port: 65536 }];
    expect(issuesOf(app).map((i) => i.path)).toEqual(['runtimes[0].routes[0].port', 'runtimes[0].subscriptions[0].port']);
  });

  it('dbName and dbNameSuffix both set: accepted, and dbNameSuffix names the database', () => {
    const app = minimalApp();
    app.databases = [{ name: 'db', postgres: { dbName: 'old', dbNameSuffix: 'new' } }];
    expect(databaseNameSuffix(parseApplication(app).databases[0]!)).toBe('new');
  });

  it('empty dbNameSuffix, dbName and serverGroup are unset; an empty migrate container name is `migrate`', () => {
    const app = minimalApp();
    app.databases = [
      { name: 'a', postgres: { dbName: 'old', dbNameSuffix: '' } },
      { name: 'b', postgres: { dbName: '', dbNameSuffix: '', serverGroup: '', migrateContainer: { name: '', imageUrl: 'x' } } },
    ];
    const [a, b] = parseApplication(app).databases;
    expect(databaseNameSuffix(a!)).toBe('old');
    expect(databaseNameSuffix(b!)).toBe('b');
    expect(b!.postgres.serverGroup).toBe('default');
    expect(b!.postgres.migrateContainer!.name).toBe('migrate');
  });
});

/** The value with every null-valued key left out: what o5's reader makes of the nulls. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v)]));
}

/** Parses `text`, checks it means what it means without its null keys and that the result reads back as itself. */
function parseWithNulls(text: string): Application {
  const app = parseApplication(text);
  expect(app).toEqual(parseApplication(withoutNulls(parseYaml(text))));
  expect(parseApplication(JSON.parse(JSON.stringify(app)))).toEqual(app);
  return app;
}

describe("YAML null is unset, as o5 reads it (j5codec: nothing is set for a null)", () => {
  it('a null scalar is its default: port 8080, the first container, no subPath, no tag, false, 0', () => {
    const app = parseWithNulls(`
name: shop
deploymentConfig: { quickMode: ~ }
secrets: [{ name: pay }]
blobstores:
  - name: up
    emitEvents: null
    grants: [{ principal: ~ }]
    sftpSettings: { users: [{ username: ~, publicSshKey: null }] }
databases:
  - name: main
    postgres: { serverGroup: ~, dbNameSuffix: null, dbName: ~, runOutbox: null, outboxDelayable: null }
runtimes:
  - name: api
    directIngress: ~
    workerConfig: { replayChance: null, deadletterChance: ~, noDeadletters: Null }
    routes:
      - { prefix: /a, protocol: ROUTE_PROTOCOL_HTTP, port: ~, targetContainer: null, bypassIngress: ~ }
    subscriptions:
      - { name: orders, envName: null, port: ~, targetContainer: ~, rawMessage: NULL }
    containers:
      - name: main
        image: { name: shop, tag: ~, registry: null }
        mountDockerSocket:
        envVars:
          - { name: A, blobstore: { name: up, subPath: null, s3Direct: true } }
          - { name: B, secret: { secretName: pay, jsonKey: ~ } }
`);
    expect(app.deploymentConfig).toEqual({ quickMode: false });
    expect(app.blobstores[0]).toEqual({ name: 'up', emitEvents: false, grants: [{ principal: '' }], sftpSettings: { users: [{ username: '', publicSshKey: '' }] } });
    expect(app.databases[0]!.postgres).toEqual({ serverGroup: 'default', dbExtensions: [], runOutbox: false, outboxDelayable: false });
    expect(databaseNameSuffix(app.databases[0]!)).toBe('main');
    const runtime = app.runtimes[0]!;
    expect(runtime.directIngress).toBe(false);
    expect(runtime.workerConfig).toEqual({ replayChance: 0, deadletterChance: 0, noDeadletters: false });
    expect(runtime.routes[0]).toEqual({ prefix: '/a', protocol: 'ROUTE_PROTOCOL_HTTP', port: 8080, subdomains: [], bypassIngress: false, routeGroup: 'ROUTE_GROUP_UNSPECIFIED' });
    expect(runtime.subscriptions[0]).toEqual({ name: 'orders', port: 8080, rawMessage: false });
    expect(runtime.containers[0]!.image).toEqual({ name: 'shop' });
    expect(runtime.containers[0]!.mountDockerSocket).toBe(false);
    // An unset subPath is no subPath (s3://<bucket>), not "" (s3://<bucket>/).
    expect(runtime.containers[0]!.envVars[0]!.blobstore).toEqual({ name: 'up', s3Direct: true });
    expect('subPath' in runtime.containers[0]!.envVars[0]!.blobstore!).toBe(false);
    expect(runtime.containers[0]!.envVars[1]!.secret).toEqual({ secretName: 'pay' });
  });

  it('a null list is the empty list (`envVars:` with nothing after it)', () => {
    const app = parseWithNulls(`
name: shop
targets:
secrets: ~
blobstores: [{ name: up, grants: ~, sftpSettings: { users: null } }]
databases: [{ name: main, postgres: { dbExtensions: ~ } }]
runtimes:
  - name: api
    namedEnvPolicies:
    routes: ~
    subscriptions: null
    containers:
      - name: main
        imageUrl: x
        command:
        envVars:
  - name: web
    routes: [{ prefix: /web, protocol: ROUTE_PROTOCOL_HTTP, subdomains: ~ }]
    containers: [{ name: main, imageUrl: x }]
`);
    expect([app.targets, app.secrets, app.blobstores[0]!.grants, app.blobstores[0]!.sftpSettings!.users, app.databases[0]!.postgres.dbExtensions]).toEqual([[], [], [], [], []]);
    const [api, web] = app.runtimes;
    expect([api!.namedEnvPolicies, api!.routes, api!.subscriptions, api!.containers[0]!.command, api!.containers[0]!.envVars]).toEqual([[], [], [], [], []]);
    expect(web!.routes[0]!.subdomains).toEqual([]);
  });

  it('a null message is unset: no workerConfig, deploymentConfig, migrate container; a bucket with ref null is owned', () => {
    const app = parseWithNulls(`
name: shop
deploymentConfig: ~
blobstores: [{ name: up, ref: null, sftpSettings: ~ }]
databases: [{ name: main, postgres: { migrateContainer: ~, migrateCheck: null } }]
runtimes:
  - name: api
    workerConfig:
    containers: [{ name: main, imageUrl: x }]
`);
    expect(app.deploymentConfig).toBeUndefined();
    expect(app.blobstores[0]).toEqual({ name: 'up', grants: [], emitEvents: false });
    expect(app.databases[0]!.postgres.migrateContainer).toBeUndefined();
    expect(app.databases[0]!.postgres.migrateCheck).toBeUndefined();
    expect(app.runtimes[0]!.workerConfig).toBeUndefined();
  });

  it('a null member of a oneof is not set: the other member given is the one', () => {
    const app = parseWithNulls(`
name: shop
secrets: [{ name: pay }]
databases: [{ name: main, postgres: {} }]
runtimes:
  - name: api
    containers:
      - name: main
        image: ~
        imageUrl: x
        envVars:
          - { name: A, value: ~, fromEnv: { name: public-url } }
          - { name: B, envMap: null, value: b }
          - { name: C, database: ~, blobstore: null, secret: { secretName: pay }, o5: ~ }
          - { name: D, secret: ~, o5: null, database: { databaseName: main } }
`);
    const container = app.runtimes[0]!.containers[0]!;
    expect(container.imageUrl).toBe('x');
    expect(container.image).toBeUndefined();
    expect(container.envVars).toEqual([
      { name: 'A', fromEnv: { name: 'public-url' } },
      { name: 'B', value: 'b' },
      { name: 'C', secret: { secretName: 'pay' } },
      { name: 'D', database: { databaseName: 'main' } },
    ]);
  });

  it('a legacy (snake_case) key given as null is unset too, and named in a warning', () => {
    const { application, warnings } = readApplication(
      'name: ui\nruntimes:\n  - name: main\n    containers: [{ name: main, imageUrl: x }]\n    routes: [{ prefix: /, protocol: ROUTE_PROTOCOL_HTTP, bypass_ingress: ~, target_container: null }]\n',
    );
    expect(application.runtimes[0]!.routes[0]).toMatchObject({ bypassIngress: false, port: 8080 });
    expect(application.runtimes[0]!.routes[0]!.targetContainer).toBeUndefined();
    expect(warnings.map((w) => w.legacyKey)).toEqual(['bypass_ingress', 'target_container']);
  });

  it('what o5 refuses (at read or at build) with a null is still refused, at its path', () => {
    const issues = (text: string) => issuesOf(parseYaml(text)).map((i) => [i.path, i.message]);
    // o5: "" fails the name pattern only when set; a nameless app or runtime builds nothing it can deploy.
    expect(issues('name: ~\nruntimes: [{ name: api, containers: [{ name: main, imageUrl: x }] }]')).toEqual([['name', 'Required']]);
    // o5: a database with its engine unset fails the build ("unknown database engine type"); a runtime without
    // containers indexes Containers[0] for its first route or subscription, else asks ECS for an empty task definition.
    expect(issues('name: shop\nruntimes: [{ name: api, containers: ~ }]\ndatabases: [{ name: db, postgres: ~ }]')).toEqual([
      ['databases[0].postgres', 'Required'],
      ['runtimes[0].containers', 'Required'],
    ]);
    // o5: an env var whose only value is null has no value ("unknown env var type"); a null protocol is UNSPECIFIED ("unsupported protocol").
    expect(
      issues('name: shop\nruntimes:\n  - name: api\n    routes: [{ prefix: /a, protocol: ~ }]\n    containers: [{ name: main, imageUrl: x, envVars: [{ name: A, value: ~ }] }]'),
    ).toEqual([
      ['runtimes[0].containers[0].envVars[0]', 'Exactly one of value, database, blobstore, fromEnv, secret, o5 is required'],
      ['runtimes[0].routes[0].protocol', 'Required: one of ROUTE_PROTOCOL_HTTP, ROUTE_PROTOCOL_GRPC'],
    ]);
    // o5: an unknown key is an error whatever its value ("has no property"); a null list item is not an object or a string.
    expect(issues('name: shop\ncolour: ~\nruntimes: [{ name: api, containers: [{ name: main, imageUrl: x, command: [run, ~], envVars: [~] }] }]')).toEqual([
      ['runtimes[0].containers[0].command[1]', expect.stringContaining('expected string, received null')],
      ['runtimes[0].containers[0].envVars[0]', expect.stringContaining('expected object, received null')],
      ['colour', expect.stringMatching(/^Unknown field "colour"/)],
    ]);
    // An empty document is null: no application at all (o5: "unexpected token <nil>").
    expect(issuesOf(parseYaml('')).map((i) => i.path)).toEqual(['']);
  });
});

describe('enum values as o5 reads them (j5: the name with or without its prefix; "" is unset)', () => {
  it('a name without its prefix is read, and stored, as the full name', () => {
    const app = parseWithNulls(`
name: shop
runtimes:
  - name: api
    routes:
      - { prefix: /a, protocol: HTTP, routeGroup: FIRST }
      - { protocol: GRPC, routeGroup: FALLBACK }
      - { prefix: /c, protocol: ROUTE_PROTOCOL_GRPC, routeGroup: NORMAL }
    containers: [{ name: main, imageUrl: x, demand: LIGHT, envVars: [{ name: E, o5: ADAPTER_ENDPOINT }] }]
`);
    const runtime = app.runtimes[0]!;
    expect(runtime.routes.map((r) => [r.protocol, r.routeGroup])).toEqual([
      ['ROUTE_PROTOCOL_HTTP', 'ROUTE_GROUP_FIRST'],
      ['ROUTE_PROTOCOL_GRPC', 'ROUTE_GROUP_FALLBACK'],
      ['ROUTE_PROTOCOL_GRPC', 'ROUTE_GROUP_NORMAL'],
    ]);
    expect(runtime.containers[0]!.demand).toBe('DEMAND_LIGHT');
    expect(runtime.containers[0]!.envVars[0]).toEqual({ name: 'E', o5: 'O5_VAR_ADAPTER_ENDPOINT' });
    expect(JSON.stringify(app)).not.toMatch(/"(HTTP|GRPC|FIRST|FALLBACK|NORMAL|LIGHT|ADAPTER_ENDPOINT)"/);
  });

  it('"" and the UNSPECIFIED name (with or without prefix) are the zero value: the default demand and route group', () => {
    const app = parseApplication(`
name: shop
runtimes:
  - name: api
    routes:
      - { prefix: /a, protocol: HTTP, routeGroup: "" }
      - { prefix: /b, protocol: HTTP, routeGroup: UNSPECIFIED }
      - { prefix: /c, protocol: HTTP, routeGroup: ROUTE_GROUP_UNSPECIFIED }
    containers:
      - { name: a, imageUrl: x, demand: "" }
      - { name: b, imageUrl: x, demand: UNSPECIFIED }
      - { name: c, imageUrl: x, demand: DEMAND_UNSPECIFIED }
`);
    const runtime = app.runtimes[0]!;
    expect(runtime.routes.map((r) => r.routeGroup)).toEqual(Array(3).fill('ROUTE_GROUP_UNSPECIFIED'));
    expect(runtime.containers.map((c) => c.demand)).toEqual(Array(3).fill('DEMAND_UNSPECIFIED'));
    expect(parseApplication(JSON.parse(JSON.stringify(app)))).toEqual(app);
  });

  it('o5: "" is not set, so the env var is whatever else it is', () => {
    const app = minimalApp();
    app.runtimes[0].containers[0].envVars = [{ name: 'A', value: 'a', o5: '' }];
    const parsed = parseApplication(app);
    expect(parsed.runtimes[0]!.containers[0]!.envVars).toEqual([{ name: 'A', value: 'a' }]);
    expect(parseApplication(JSON.parse(JSON.stringify(parsed)))).toEqual(parsed);
  });

  it('refuses what o5 refuses: an unknown or mis-cased name, a number, an unset protocol, an unspecified o5 var', () => {
    const app = minimalApp();
    app.runtimes[0].routes = [
      { prefix: '/a', protocol: '' },
      { prefix: '/b', protocol: 'UNSPECIFIED' },
      { prefix: '/c', protocol: 'ROUTE_PROTOCOL_UNSPECIFIED' },
      { prefix: '/d', protocol: 'http' },
      { prefix: '/e', protocol: 1 },
      { prefix: '/f', protocol: 'HTTP', routeGroup: 'ROUTE_PROTOCOL_FIRST' },
      { prefix: '/g', protocol: 'HTTP', routeGroup: 'fallback' },
    ];
    app.runtimes[0].containers[0].demand = 'HUGE';
    app.runtimes[0].containers[0].envVars = [
      { name: 'A', o5: 'UNSPECIFIED' },
      { name: 'B', o5: '' },
    ];
    expect(issuesOf(app)).toEqual([
      { path: 'runtimes[0].containers[0].demand', message: expect.stringContaining('DEMAND_LIGHT') },
      { path: 'runtimes[0].containers[0].envVars[0].o5', message: expect.stringContaining('O5_VAR_ADAPTER_ENDPOINT') },
      { path: 'runtimes[0].containers[0].envVars[1]', message: 'Exactly one of value, database, blobstore, fromEnv, secret, o5 is required' },
      { path: 'runtimes[0].routes[0].protocol', message: 'Required: one of ROUTE_PROTOCOL_HTTP, ROUTE_PROTOCOL_GRPC' },
      { path: 'runtimes[0].routes[1].protocol', message: 'Must be one of ROUTE_PROTOCOL_HTTP, ROUTE_PROTOCOL_GRPC (found "ROUTE_PROTOCOL_UNSPECIFIED")' },
      { path: 'runtimes[0].routes[2].protocol', message: 'Must be one of ROUTE_PROTOCOL_HTTP, ROUTE_PROTOCOL_GRPC (found "ROUTE_PROTOCOL_UNSPECIFIED")' },
      { path: 'runtimes[0].routes[3].protocol', message: 'Must be one of ROUTE_PROTOCOL_HTTP, ROUTE_PROTOCOL_GRPC (found "http")' },
      { path: 'runtimes[0].routes[4].protocol', message: 'Must be one of ROUTE_PROTOCOL_HTTP, ROUTE_PROTOCOL_GRPC (found 1)' },
      { path: 'runtimes[0].routes[5].routeGroup', message: expect.stringContaining('ROUTE_GROUP_FALLBACK') },
      { path: 'runtimes[0].routes[6].routeGroup', message: expect.stringContaining('ROUTE_GROUP_FALLBACK') },
    ]);
  });
});

describe('legacy (snake_case) field names', () => {
  it('reads them as their current spelling and names each one in a warning', () => {
    const { application, warnings } = readApplication(
      'name: ui\nruntimes:\n  - name: main\n    containers: [{ name: main, image_url: x }]\n    routes:\n      - { prefix: /, protocol: ROUTE_PROTOCOL_HTTP, bypass_ingress: true, route_group: ROUTE_GROUP_FALLBACK }\n',
    );
    expect(application.runtimes[0]!.routes[0]).toMatchObject({ bypassIngress: true, routeGroup: 'ROUTE_GROUP_FALLBACK' });
    expect(application.runtimes[0]!.containers[0]!.imageUrl).toBe('x');
    expect(warnings.map((w) => [w.path, w.legacyKey, w.currentKey])).toEqual([
      ['runtimes[0].containers[0].image_url', 'image_url', 'imageUrl'],
      ['runtimes[0].routes[0].bypass_ingress', 'bypass_ingress', 'bypassIngress'],
      ['runtimes[0].routes[0].route_group', 'route_group', 'routeGroup'],
    ]);
  });

  it('a key given in both spellings is an error, not a silent choice', () => {
    const app = { name: 'ui', runtimes: [{ name: 'main', containers: [{ name: 'main', imageUrl: 'x', image_url: 'y' }] }] };
    expect(issuesOf(app)).toEqual([{ path: 'runtimes[0].containers[0].image_url', message: 'Unknown field "image_url"; did you mean "imageUrl"?' }]);
  });

  it('a current config has no warnings', () => {
    expect(readApplication({ name: 'ui', runtimes: [{ name: 'main', containers: [{ name: 'main', imageUrl: 'x' }] }] }).warnings).toEqual([]);
  });
});

describe('YAML 1.1 values, read as o5 reads them (sigs.k8s.io/yaml over go-yaml v2, then j5codec)', () => {
  const app = (lines: string[]) =>
    ['name: shop', 'runtimes:', '  - name: api', '    containers:', '      - name: main', '        image: { name: shop }', ...lines, ''].join('\n');

  it('yes, on, y are true and no, off, n are false in a boolean field', () => {
    const text = [
      'databases:',
      '  - name: main',
      '    postgres: { runOutbox: on, outboxDelayable: yes }',
      '  - name: other',
      '    postgres: { runOutbox: Y, outboxDelayable: OFF }',
      'deploymentConfig: { quickMode: y }',
      'runtimes:',
      '  - name: api',
      '    directIngress: No',
      '    containers: [{ name: main, image: { name: shop } }]',
      'name: shop',
      '',
    ].join('\n');
    const parsed = parseApplication(text);
    expect(parsed.databases.map((d) => [d.postgres.runOutbox, d.postgres.outboxDelayable])).toEqual([
      [true, true],
      [true, false],
    ]);
    expect(parsed.deploymentConfig?.quickMode).toBe(true);
    expect(parsed.runtimes[0]!.directIngress).toBe(false);
  });

  it('an unquoted yes/on/no in a string field is a boolean, refused at its path as j5 refuses it ("expected string, got bool"); quoted it is the string', () => {
    const text = app(['        envVars:', '          - { name: FEATURE, value: on }', '          - { name: OTHER, value: "on" }', '          - { name: MODE, value: 0755 }']);
    const issues = issuesOf(text);
    expect(issues.map((i) => i.path)).toEqual(['runtimes[0].containers[0].envVars[0].value', 'runtimes[0].containers[0].envVars[2].value']);
    expect(issues[0]!.message).toMatch(/expected string, received boolean/);
    expect(issues[1]!.message).toMatch(/expected string, received number/);
    const quoted = parseApplication(app(['        envVars: [{ name: FEATURE, value: "on" }, { name: MODE, value: "0755" }]']));
    expect(quoted.runtimes[0]!.containers[0]!.envVars.map((v) => v.value)).toEqual(['on', '0755']);
  });

  it('a number in Go syntax (0x, 0o, a leading 0 for octal, _ between digits) is that number in a number field', () => {
    const text = ['name: shop', 'runtimes:', '  - name: api', '    workerConfig: { replayChance: 0x1F, deadletterChance: 0_10 }', '    containers: [{ name: main, image: { name: shop } }]', ''].join('\n');
    const parsed = parseApplication(text);
    expect(parsed.runtimes[0]!.workerConfig).toMatchObject({ replayChance: 31, deadletterChance: 8 });
  });
});
