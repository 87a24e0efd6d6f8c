/**
 * The HTTP app: public health, docs and OpenAPI routes, then /v1 behind auth. Every route lives in
 * its own file under a folder per resource; server/api/routes.ts lists them.
 */
import { randomUUID } from 'node:crypto';
import { OpenAPIHono } from '@hono/zod-openapi';
import { routePath } from 'hono/route';
import { z } from 'zod';
import { refuseNulBytes } from '../http-server.ts';
import { authenticate, onlyThisMachineWhenAuthOff } from './auth.ts';
import { isMediaTypeGate, limitBodies, readBodies, unsupportedMediaType } from './body.ts';
import type { App, AppEnv, Services } from './context.ts';
import { registerDocs } from './docs.ts';
import { problem, problemOf, problemResponse, validationHook } from './problem.ts';
import { registerRoutes } from './routes.ts';
import { registerBoard } from './ui/register-board.ts';

export const API_INFO = {
  title: 'Deployer API',
  version: '1.0.0',
  description:
    'Deploys applications described by an o5.yaml to AWS: CloudFormation stacks, ECS services and tasks, ' +
    'and the Postgres databases the applications own. One deployment runs per stack; the others wait in a FIFO queue. ' +
    'Errors are application/problem+json (RFC 9457). Lists are paged with `limit` and an opaque `cursor`.',
};

// Request bodies validated by the routes say "Required" for a missing field, as documents do.
z.config({ customError: (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'Required' : undefined) });

export function createApp(services: Services): App {
  const app: App = new OpenAPIHono<AppEnv>({
    // Request validation failures get the one problem shape, with paths into the document.
    defaultHook: validationHook,
  });

  app.use('*', async (c, next) => {
    const started = performance.now();
    const requestId = c.req.header('x-request-id') || randomUUID();
    c.set('services', services);
    c.set('requestId', requestId);
    c.set('logger', services.logger.child({ requestId }));
    c.header('x-request-id', requestId);
    await next();
    const route = routePath(c) || 'unmatched';
    const seconds = (performance.now() - started) / 1000;
    services.metrics.httpRequestDuration.observe({ method: c.req.method, route, status: String(c.res.status) }, seconds);
    c.get('logger').info(
      { method: c.req.method, path: c.req.path, route, status: c.res.status, ms: Math.round(seconds * 1000) },
      'http request',
    );
  });
  app.use('*', refuseNulBytes());
  // Auth off: only this machine's names, and no browser writes from other origins (auth.ts).
  app.use('*', onlyThisMachineWhenAuthOff());

  app.onError((err, c) => {
    const p = problemOf(isMediaTypeGate(err) ? unsupportedMediaType(c.req.header('content-type')) : err);
    if (p.status >= 500) c.get('logger')?.error({ err }, 'request failed');
    return problemResponse(c, p);
  });
  app.notFound((c) => problemResponse(c, problem(404, 'not-found', 'Not found', `No route for ${c.req.method} ${c.req.path}`)));

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'A token from DEPLOYER_API_TOKENS. Scopes: read < deploy < admin.',
  });

  // Public: liveness, readiness, metrics, docs, the board's page shells, the API description.
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const checks = await services.ready();
    const ok = checks.database && checks.queue;
    return c.json({ status: ok ? 'ready' : 'not ready', checks }, ok ? 200 : 503);
  });
  app.get('/metrics', async (c) =>
    c.body(await services.metrics.registry.metrics(), 200, { 'content-type': services.metrics.registry.contentType }),
  );
  registerDocs(app);
  // The board: HTML pages that read the API as their caller, so the API's auth applies to them.
  registerBoard(app);
  app.get('/openapi.json', (c) => c.json(openApiDocument(app)));

  app.use('/v1/*', authenticate(), limitBodies(), readBodies());
  registerRoutes(app, services);
  return app;
}

export function openApiDocument(app: App) {
  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: API_INFO,
    tags: [
      { name: 'Clusters', description: 'Platform owners: AWS clusters and their overrides.' },
      { name: 'Environments', description: 'Places applications are deployed to, inside a cluster.' },
      { name: 'Deployments', description: 'Request, follow and terminate deployments.' },
      { name: 'Stacks', description: 'One application in one environment: its queue of deployments.' },
      { name: 'Render', description: 'Template, spec and plan of a deployment, without deploying.' },
      { name: 'GitHub', description: 'Deploy from GitHub: triggers and push targets.' },
      { name: 'Simulator', description: 'Fault injection into the simulated infra (simulated mode only).' },
    ],
  });
}
