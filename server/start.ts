/**
 * Starts the whole deployer in this process: database (embedded or DATABASE_URL), migrations,
 * pg-boss, infra, engine, HTTP. Returns a handle whose stop() shuts down in the right order:
 * HTTP drained, workers and pg-boss stopped, pools closed, Postgres stopped last.
 * server/main.ts wraps it with signals; tests call it directly.
 */
import type { ServerType } from '@hono/node-server';
import { connectDatabase } from '../db/connection.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../db/embedded.ts';
import { migrateDatabase } from '../db/migrate.ts';
import { createApp } from './api/app.ts';
import type { App, Services } from './api/context.ts';
import type { Config } from './config.ts';
import { Engine } from './engine/engine.ts';
import { EventFeed } from './engine/event-feed.ts';
import { createBoss } from './engine/jobs.ts';
import { addGitHubQueues, startGitHubJobs } from './github/jobs.ts';
import { createGitHubService } from './github/service.ts';
import { serveHttp } from './http-server.ts';
import { createInfra } from './infra/create-infra.ts';
import type { InfraProvider } from './infra/port.ts';
import type { Logger } from './logger.ts';
import { createMetrics } from './metrics.ts';
import { seedDemo } from './seed-demo.ts';

export interface RunningDeployer {
  app: App;
  services: Services;
  /** Base URL of the HTTP server; undefined when started with `http: false`. */
  url?: string;
  databaseUrl: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  logger: Logger;
  /** Serve HTTP (default true). Tests may use the app in process instead. */
  http?: boolean;
  /** Replace the infra chosen by config (tests). */
  infra?: (deps: { sql: Services['sql']; config: Config }) => InfraProvider;
}

export async function startDeployer(config: Config, options: StartOptions): Promise<RunningDeployer> {
  const { logger } = options;
  const cleanups: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((err) => logger.error({ err }, 'shutdown step failed'));
    }
  };

  try {
    let databaseUrl = config.databaseUrl;
    let embedded: EmbeddedPostgres | undefined;
    if (!databaseUrl) {
      embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, log: (m) => logger.info(m) });
      databaseUrl = embedded.url;
      cleanups.push(async () => {
        await embedded!.stop();
        logger.info('embedded Postgres stopped');
      });
    }

    await migrateDatabase(databaseUrl);
    const database = connectDatabase(databaseUrl, { max: 20 });
    cleanups.push(() => database.close());

    const metrics = createMetrics();
    metrics.observe(database.sql);

    const boss = createBoss(databaseUrl, logger);
    await boss.start();
    cleanups.push(async () => {
      await boss.stop({ graceful: true, timeout: 5_000 });
      logger.info('pg-boss stopped');
    });

    const { infra, simulator } = options.infra
      ? { infra: options.infra({ sql: database.sql, config }), simulator: undefined }
      : await createInfra({
          databaseUrl,
          // Quick start: the embedded Postgres also plays the RDS host, so database steps run for real.
          simulatedRdsUrl: config.simulator.rdsUrl === 'off' ? undefined : (config.simulator.rdsUrl ?? (embedded ? embedded.url : undefined)),
          config,
          logger,
          onAwsCall: (call) => metrics.awsCalls.inc(call),
        });
    cleanups.push(() => infra.close());

    const engine = new Engine({ databaseUrl, sql: database.sql, boss, infra, config, logger, metrics });
    // With GitHub credentials, deployments that came from GitHub are mirrored there as they move.
    const github = createGitHubService({ config, sql: database.sql, logger });
    if (github) engine.addStatusReporter(github.reporter.reportStatus);
    if (github) addGitHubQueues(engine, github, config);
    await engine.start();
    if (github) await startGitHubJobs(engine, config);
    cleanups.push(() => engine.stop());

    const eventFeed = new EventFeed({ databaseUrl, logger });
    await eventFeed.start();
    cleanups.push(() => eventFeed.close());

    const services: Services = {
      config,
      logger,
      sql: database.sql,
      db: database.db,
      store: engine.store,
      engine,
      eventFeed,
      infra,
      simulator,
      metrics,
      github,
      async ready() {
        const database_ = await database.sql`select 1`.then(() => true, () => false);
        const queue = await boss.isInstalled().then(
          (ok) => ok,
          () => false,
        );
        return { database: database_, queue };
      },
    };

    if (config.infra === 'simulated' && config.simulator.seedDemo) {
      await seedDemo(services);
    }

    const app = createApp(services);
    let url: string | undefined;
    if (options.http !== false) {
      const server = await listen(app, config.host, config.port);
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
      // HTTP goes first on the way down: no new requests while the engine stops. Live event streams
      // would hold the server open, so the feed ends them first (their clients resume elsewhere).
      cleanups.push(async () => {
        await eventFeed.close();
        await closeServer(server);
      });
    }

    return { app, services, url, databaseUrl, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function listen(app: App, host: string, port: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serveHttp({ fetch: app.fetch, hostname: host, port }, () => resolve(server));
    server.once('error', reject);
  });
}

/** Stops accepting connections, lets requests in flight finish (up to 5 s), then closes the rest. */
function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    }, 5_000);
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    (server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  });
}
