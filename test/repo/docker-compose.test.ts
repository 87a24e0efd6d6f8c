/**
 * docker-compose.yml is written for users with Docker; there is no Docker engine where the tests
 * run, so this checks what can be checked without one: it parses, it has both services wired
 * together, and what it tells the deployer agrees with the settings and with the Postgres service.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT, SETTING_NAMES } from '../support/server-process.ts';

type Service = {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  environment?: Record<string, string | number> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  ports?: Array<string | { target: number; published?: number | string }>;
  healthcheck?: { test?: string | string[] };
};

const text = readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
const compose = parse(text) as { services: Record<string, Service> };

function environmentOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) return Object.fromEntries(env.map((e) => [e.split('=')[0]!, e.slice(e.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
}

function containerPorts(service: Service): number[] {
  return (service.ports ?? []).map((p) => (typeof p === 'string' ? Number(p.split(':').at(-1)!.split('/')[0]) : p.target));
}

describe('docker-compose.yml', () => {
  it('parses as YAML with a postgres and a deployer service', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['deployer', 'postgres']);
    expect(compose.services.postgres!.image).toMatch(/^postgres:16/);
  });

  it('starts the deployer after postgres is healthy, and checks both', () => {
    const { deployer, postgres } = compose.services;
    const dependsOn = deployer!.depends_on!;
    expect(Array.isArray(dependsOn) ? dependsOn : Object.keys(dependsOn)).toContain('postgres');
    if (!Array.isArray(dependsOn)) expect(dependsOn.postgres!.condition).toBe('service_healthy');
    expect(postgres!.healthcheck?.test).toBeDefined();
    expect(JSON.stringify(deployer!.healthcheck?.test)).toMatch(/\/(readyz|healthz)/);
  });

  it('points DATABASE_URL at the postgres service with its credentials', () => {
    const env = environmentOf(compose.services.deployer!);
    const pg = environmentOf(compose.services.postgres!);
    const url = new URL(env.DATABASE_URL!);
    expect(url.protocol).toMatch(/^postgres(ql)?:$/);
    expect(url.hostname).toBe('postgres');
    expect(decodeURIComponent(url.username)).toBe(pg.POSTGRES_USER);
    expect(decodeURIComponent(url.password)).toBe(pg.POSTGRES_PASSWORD);
    expect(url.pathname).toBe(`/${pg.POSTGRES_DB}`);
  });

  it('publishes the port the deployer listens on, and configures tokens (or it would bind 127.0.0.1 only)', () => {
    const env = environmentOf(compose.services.deployer!);
    expect(env.PORT).toBeDefined();
    expect(containerPorts(compose.services.deployer!)).toContain(Number(env.PORT));
    expect(env.DEPLOYER_API_TOKENS).toMatch(/=(read|deploy|admin)/);
  });

  it('gives the deployer only settings that exist', () => {
    for (const name of Object.keys(environmentOf(compose.services.deployer!))) expect(SETTING_NAMES, name).toContain(name);
  });

  it('builds the deployer from a Dockerfile on node:20-slim that exists', () => {
    const build = compose.services.deployer!.build!;
    const context = typeof build === 'string' ? build : (build.context ?? '.');
    const dockerfile = join(REPO_ROOT, context, typeof build === 'string' ? 'Dockerfile' : (build.dockerfile ?? 'Dockerfile'));
    expect(existsSync(dockerfile)).toBe(true);
    const lines = readFileSync(dockerfile, 'utf8').split('\n');
    expect(lines.find((l) => l.startsWith('FROM '))).toBe('FROM node:20-slim');
    expect(lines.some((l) => /^RUN npm ci\b/.test(l))).toBe(true);
    // Everything it copies exists.
    for (const line of lines.filter((l) => l.startsWith('COPY '))) {
      for (const source of line.split(/\s+/).slice(1, -1)) expect(existsSync(join(REPO_ROOT, context, source)), line).toBe(true);
    }
  });
});
