/**
 * Values o5 reads as "unset" (proto3 zero values) build what the default builds, under o5's own
 * names: a route or subscription `port: 0` is port 8080 and `targetContainer: ""` the runtime's
 * first container (o5's ecs_service.go); with both `dbName` and `dbNameSuffix`, the suffix is
 * `dbNameSuffix` (app_builder.go, updateApp); a migrate container named "" is `migrate`
 * (dep_database.go); `/Service` subscriptions need no package dot (subscriptions.go). A YAML null is
 * unset and an enum name may leave out its prefix (`HTTP`), as j5codec reads them.
 */
import { describe, expect, it } from 'vitest';
import { parseApplication } from '../application/index.ts';
import { basicApp, buildChecked, container, envValue, resource, SECRETS_MANAGER_HOST } from '../../../test/support/template-helpers.ts';

const TASK = 'ECSTaskDefinitionMain';
const twoContainers = [
  { name: 'main', image: { name: 'foobar', tag: 'latest' } },
  { name: 'other', image: { name: 'foobar', tag: 'latest' } },
];

describe('port 0 and targetContainer "" are the defaults', () => {
  it('routes through the sidecar and bypassing it build the same template as with neither field', async () => {
    const unset = basicApp({
      containers: twoContainers,
      routes: [
        { prefix: '/a', protocol: 'ROUTE_PROTOCOL_HTTP', port: 0, targetContainer: '' },
        { prefix: '/b', protocol: 'ROUTE_PROTOCOL_GRPC', bypassIngress: true, port: 0, targetContainer: '' },
      ],
    });
    const absent = basicApp({
      containers: twoContainers,
      routes: [
        { prefix: '/a', protocol: 'ROUTE_PROTOCOL_HTTP' },
        { prefix: '/b', protocol: 'ROUTE_PROTOCOL_GRPC', bypassIngress: true },
      ],
    });
    const built = await buildChecked(unset);
    expect(built.template).toEqual((await buildChecked(absent)).template);
    expect(container(built.template, TASK, 'main')!.PortMappings).toEqual([{ ContainerPort: 8080 }]);
    expect(envValue(container(built.template, TASK, 'o5_runtime'), 'SERVICE_ENDPOINT')).toBe('main:8080');
    expect(resource(built.template, 'ECSServiceMain').Properties.LoadBalancers).toEqual([
      { ContainerName: 'o5_runtime', ContainerPort: 8888, TargetGroupArn: { Ref: 'ElasticLoadBalancingV2TargetGroupRouteProtocolHttpo5Runtime' } },
      { ContainerName: 'main', ContainerPort: 8080, TargetGroupArn: { Ref: 'ElasticLoadBalancingV2TargetGroupRouteProtocolGrpcmain' } },
    ]);
  });

  it('a subscription builds the same template as with neither field', async () => {
    const unset = basicApp({ containers: twoContainers, subscriptions: [{ name: 'orders', port: 0, targetContainer: '' }] });
    const absent = basicApp({ containers: twoContainers, subscriptions: [{ name: 'orders' }] });
    const built = await buildChecked(unset);
    expect(built.template).toEqual((await buildChecked(absent)).template);
    expect(envValue(container(built.template, TASK, 'o5_runtime'), 'SERVICE_ENDPOINT')).toBe('main:8080');
  });
});

describe('databases', () => {
  const app = (postgres: Record<string, unknown>) =>
    parseApplication({
      name: 'app1',
      databases: [{ name: 'main', postgres: { serverGroup: 'group', ...postgres } }],
      runtimes: [{ name: 'main', containers: [{ name: 'main', imageUrl: 'x', envVars: [{ name: 'DB', database: { databaseName: 'main' } }] }] }],
    });

  it('dbName and dbNameSuffix both set: the database is named by dbNameSuffix, the template is unchanged', async () => {
    const both = await buildChecked(app({ dbName: 'old', dbNameSuffix: 'new' }), [SECRETS_MANAGER_HOST]);
    const suffixOnly = await buildChecked(app({ dbNameSuffix: 'new' }), [SECRETS_MANAGER_HOST]);
    expect(both.databases.map((d) => d.dbNameSuffix)).toEqual(['new']);
    expect(both.template).toEqual(suffixOnly.template);
    expect(Object.keys(both.template.Outputs ?? {})).toEqual(['DatabaseSecretMain']);
  });

  it('an empty dbNameSuffix falls back to dbName, then to the database name', async () => {
    expect((await buildChecked(app({ dbName: 'old', dbNameSuffix: '' }), [SECRETS_MANAGER_HOST])).databases[0]!.dbNameSuffix).toBe('old');
    expect((await buildChecked(app({ dbName: '', dbNameSuffix: '' }), [SECRETS_MANAGER_HOST])).databases[0]!.dbNameSuffix).toBe('main');
  });

  it('a migrate container named "" is the default `migrate`', async () => {
    const migrate = (name?: string) => ({ migrateContainer: { ...(name === undefined ? {} : { name }), imageUrl: 'x', command: ['migrate'] } });
    const unnamed = await buildChecked(app(migrate('')), [SECRETS_MANAGER_HOST]);
    expect(unnamed.template).toEqual((await buildChecked(app(migrate()), [SECRETS_MANAGER_HOST])).template);
    expect(resource(unnamed.template, 'ECSTaskDefinitionMigrateMain').Properties.ContainerDefinitions.map((c: { Name: string }) => c.Name)).toContain('migrate');
  });
});

describe('gRPC subscriptions without a package', () => {
  it('/Greeter and /Greeter/SayHello match the service and method as o5 writes them', async () => {
    const { template } = await buildChecked(basicApp({ subscriptions: [{ name: '/Greeter' }, { name: '/Other/SayHello' }] }));
    const replyFilter = { replyTo: [{ exists: false }, { 'Fn::Join': ['/', [{ Ref: 'EnvName' }, 'app1']] }] };
    expect(resource(template, 'EventsRuleApp1MainSubscription').Properties.EventPattern).toEqual({
      detail: {
        $or: [
          { grpcService: ['Greeter'], sourceEnv: [{ Ref: 'EnvName' }], reply: replyFilter },
          { grpcService: ['Other'], grpcMethod: ['SayHello'], sourceEnv: [{ Ref: 'EnvName' }], reply: replyFilter },
        ],
      },
    });
  });
});

describe('blobstore env vars', () => {
  // subPath is a proto3 `optional` field: o5 tells "" from absent (dep_blobstore.go, S3URL).
  it('subPath "" is s3://<bucket>/, as o5 writes it; no subPath is s3://<bucket>', async () => {
    const app = (blobstore: Record<string, unknown>) =>
      basicApp(
        { containers: [{ name: 'main', imageUrl: 'x', envVars: [{ name: 'BUCKET', blobstore: { name: 'bucket', s3Direct: true, ...blobstore } }] }] },
        { blobstores: [{ name: 'bucket' }] },
      );
    const bucketName = resource((await buildChecked(app({}))).template, 'S3BucketBucket').Properties.BucketName;
    const url = async (blobstore: Record<string, unknown>) => envValue(container((await buildChecked(app(blobstore))).template, TASK, 'main'), 'BUCKET');
    expect(await url({ subPath: '' })).toEqual({ 'Fn::Join': ['', ['s3://', bucketName, '/']] });
    expect(await url({})).toEqual({ 'Fn::Join': ['', ['s3://', bucketName]] });
  });
});

describe('YAML nulls and enum names without their prefix (read as o5 reads them)', () => {
  const yaml = (fields: { port: string; target: string; subPath: string; protocol: string; group: string; demand: string; worker: string }) => `
name: app1
blobstores: [{ name: bucket }]
runtimes:
  - name: main
    workerConfig: ${fields.worker}
    routes:
      - { prefix: /a, protocol: ${fields.protocol}, routeGroup: ${fields.group}, port: ${fields.port}, targetContainer: ${fields.target} }
      - { prefix: /b, protocol: ${fields.protocol}, bypassIngress: true, port: ${fields.port} }
    subscriptions: [{ name: orders, port: ${fields.port}, targetContainer: ${fields.target} }]
    containers:
      - name: main
        image: { name: foobar, tag: latest }
        demand: ${fields.demand}
        envVars:
          - { name: BUCKET, blobstore: { name: bucket, s3Direct: true, subPath: ${fields.subPath} } }
      - { name: other, imageUrl: x }
`;

  it('null is the default and `HTTP` is ROUTE_PROTOCOL_HTTP: the same template as the config that says so', async () => {
    const unset = await buildChecked(parseApplication(yaml({ port: '~', target: 'null', subPath: '~', protocol: 'HTTP', group: '""', demand: 'LIGHT', worker: '' })));
    const spelled = await buildChecked(
      parseApplication(yaml({ port: '8080', target: 'main', subPath: '~', protocol: 'ROUTE_PROTOCOL_HTTP', group: 'ROUTE_GROUP_UNSPECIFIED', demand: 'DEMAND_LIGHT', worker: '~' })),
    );
    expect(unset.template).toEqual(spelled.template);
    const bucketName = resource(unset.template, 'S3BucketBucket').Properties.BucketName;
    // subPath: null is no subPath (s3://<bucket>), not "" (s3://<bucket>/).
    expect(envValue(container(unset.template, TASK, 'main'), 'BUCKET')).toEqual({ 'Fn::Join': ['', ['s3://', bucketName]] });
    expect(container(unset.template, TASK, 'main')!.PortMappings).toEqual([{ ContainerPort: 8080 }]);
    expect(envValue(container(unset.template, TASK, 'o5_runtime'), 'RESEND_CHANCE')).toBeUndefined();
    expect(Object.keys(unset.template.Resources)).toContain('ElasticLoadBalancingV2TargetGroupRouteProtocolHttpo5Runtime');
  });
});
