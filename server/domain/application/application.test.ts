import { realConfigText, reportSkipped } from '../../../test/support/o5-corpus.ts';
import { REAL_CONFIGS_MISSING } from '../../../test/support/template-helpers.ts';
import { describe, expect, it } from 'vitest';
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
    app.runtimes[0].routes = [{ prefix: '/a', protocol: 'HTTP' }];
    expect(issuesOf(app)).toEqual([
      { path: 'name', message: expect.stringContaining('no hyphens') },
      { path: 'runtimes[0].containers[0].image.tagg', message: 'Unknown field "tagg"; did you mean "tag"?' },
      { path: 'runtimes[0].containers[0].demand', message: expect.stringContaining('DEMAND_LIGHT') },
      { path: 'runtimes[0].containers[0].envVars[0].o5', message: expect.stringContaining('O5_VAR_ADAPTER_ENDPOINT') },
      { path: 'runtimes[0].routes[0].protocol', message: 'Required: one of ROUTE_PROTOCOL_HTTP, ROUTE_PROTOCOL_GRPC' },
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
