/** What every route handler can reach: the services of this process, the caller, the request id. */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Sql } from 'postgres';
import type { Db } from '../../db/connection.ts';
import type { Config, Scope } from '../config.ts';
import type { Engine } from '../engine/engine.ts';
import type { EventFeed } from '../engine/event-feed.ts';
import type { StateStore } from '../engine/state-store.ts';
import type { GitHubService } from '../github/service.ts';
import type { SimulatorControls } from '../infra/create-infra.ts';
import type { InfraProvider } from '../infra/port.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';

export interface Services {
  config: Config;
  logger: Logger;
  sql: Sql;
  db: Db;
  store: StateStore;
  engine: Engine;
  /** Committed events as they happen (one LISTEN per process), for live streams. */
  eventFeed: EventFeed;
  /** The ports deployments act through, one per deployment and cluster. */
  infra: InfraProvider;
  /** Present in simulated mode: fault injection. */
  simulator?: SimulatorControls;
  metrics: Metrics;
  /** Present when GitHub credentials are configured: triggers from GitHub, statuses back to it. */
  github?: GitHubService;
  /** Database and queue reachable? For /readyz. */
  ready(): Promise<{ database: boolean; queue: boolean }>;
}

export interface Caller {
  /** 'anonymous' when auth is off. */
  name: string;
  scopes: Scope[];
}

export type AppEnv = {
  Variables: {
    services: Services;
    requestId: string;
    logger: Logger;
    caller: Caller;
    /** Parsed YAML body of a document route (JSON bodies go through the route's validator). */
    yamlBody?: unknown;
  };
};

export type App = OpenAPIHono<AppEnv>;

/** Each route file exports one of these; server/api/routes.ts registers them all. */
export type RouteRegistrar = (app: App) => void;
