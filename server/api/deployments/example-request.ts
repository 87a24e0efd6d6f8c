/** The example deployment request shown (and runnable) in Swagger UI: the demo app into `demo`. */
export const exampleApplication = {
  name: 'shop',
  databases: [
    {
      name: 'main',
      postgres: {
        serverGroup: 'default',
        dbExtensions: ['uuid-ossp'],
        migrateContainer: {
          image: { name: 'shop' },
          command: ['migrate'],
          envVars: [{ name: 'POSTGRES_URL', database: { databaseName: 'main' } }],
        },
      },
    },
  ],
  runtimes: [
    {
      name: 'api',
      routes: [{ prefix: '/shop/v1/', protocol: 'ROUTE_PROTOCOL_HTTP' }],
      containers: [
        {
          name: 'main',
          image: { name: 'shop' },
          command: ['serve'],
          envVars: [
            { name: 'POSTGRES_URL', database: { databaseName: 'main' } },
            { name: 'PUBLIC_URL', fromEnv: { name: 'public-url' } },
          ],
        },
      ],
    },
  ],
};

export const exampleDeploymentRequest = {
  environment: 'demo',
  version: 'v1',
  application: exampleApplication,
  flags: { quickMode: false },
};
