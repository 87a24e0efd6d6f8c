/**
 * What operators see of deployments: GET /metrics (Prometheus text) after deployments that ended
 * DONE and FAILED and with one queued behind a running one, and the JSON log lines of the same
 * work: a request id on every HTTP log, deployment/stack/step ids on every engine log.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeployerClient, type DeployerClient } from '../sdk/client.ts';
import { waitForDeployment } from '../sdk/helpers.ts';
import { createTestDatabase, type TestDatabase } from '../test/support/database.ts';
import { demoAppYaml } from '../test/support/deployments.ts';
import { loadConfig } from './config.ts';
import { startDeployer, type RunningDeployer } from './start.ts';

type Sample = { name: string; labels: Record<string, string>; value: number };

/** Prometheus text format, samples only. */
function parseMetrics(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a sample: ${line}`);
      const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

describe('metrics and logs of deployments', () => {
  let database: TestDatabase;
  let deployer: RunningDeployer;
  let client: DeployerClient;
  const logLines: Array<Record<string, unknown>> = [];

  const fault = (fault: string) => client.POST('/v1/simulator/faults', { body: { stack: 'demo-shop', step: 'DB.Migrate.main', fault } });
  const deploy = async (version: string) => {
    const { data, error } = await client.POST('/v1/deployments', { body: { environment: 'demo', version, applicationYaml: demoAppYaml } });
    if (!data) throw new Error(JSON.stringify(error));
    return data.id;
  };
  const scrape = async () => {
    const res = await deployer.app.fetch(new Request('http://localhost/metrics'));
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseMetrics(await res.text());
  };
  const value = (samples: Sample[], name: string, labels: Record<string, string>) =>
    samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

  beforeAll(async () => {
    database = await createTestDatabase();
    const config = loadConfig({ DATABASE_URL: database.url, DEPLOYER_SIM_LATENCY_MS: '0', DEPLOYER_SEED_DEMO: 'true', LOG_LEVEL: 'debug' });
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
        done();
      },
    });
    deployer = await startDeployer(config, { logger: pino({ level: 'debug' }, sink), http: false });
    client = createDeployerClient({ baseUrl: 'http://localhost', fetch: (req) => Promise.resolve(deployer.app.fetch(req)) });

    // One DONE, one FAILED, then one running (hanging) with another queued behind it.
    await waitForDeployment(client, await deploy('v1'));
    await fault('exitCode:3');
    await waitForDeployment(client, await deploy('v2'));
    await client.DELETE('/v1/simulator/faults');
    await fault('hang');
    const running = await deploy('v3');
    while ((await client.GET('/v1/deployments/{id}', { params: { path: { id: running } } })).data?.status !== 'RUNNING') {
      await new Promise((r) => setTimeout(r, 20));
    }
    await deploy('v4');
    await client.GET('/v1/deployments/{id}', { params: { path: { id: '9f1c2a34-5b6d-4e7f-8a9b-0c1d2e3f4a5b' } } });
  });
  afterAll(async () => {
    await deployer?.stop();
    await database?.drop();
  });

  it('/metrics: step durations by step type, as a histogram', async () => {
    const samples = await scrape();
    for (const stepType of ['cf_create', 'cf_update', 'cf_scale', 'pg_upsert', 'pg_migrate', 'pg_cleanup']) {
      expect(value(samples, 'deployer_step_duration_seconds_count', { step_type: stepType, outcome: 'done' }), stepType).toBeGreaterThanOrEqual(1);
    }
    expect(value(samples, 'deployer_step_duration_seconds_count', { step_type: 'pg_migrate', outcome: 'failed' })).toBe(1);
    const buckets = samples.filter((s) => s.name === 'deployer_step_duration_seconds_bucket' && s.labels.step_type === 'pg_migrate' && s.labels.outcome === 'done');
    expect(buckets.map((b) => b.labels.le)).toContain('+Inf');
    expect(buckets.at(-1)!.value).toBe(value(samples, 'deployer_step_duration_seconds_count', { step_type: 'pg_migrate', outcome: 'done' }));
  });

  it('/metrics: deployments finished and stored, by status and environment; queue length per stack', async () => {
    const samples = await scrape();
    expect(value(samples, 'deployer_deployments_finished_total', { status: 'DONE', environment: 'demo' })).toBe(1);
    expect(value(samples, 'deployer_deployments_finished_total', { status: 'FAILED', environment: 'demo' })).toBe(1);
    for (const status of ['DONE', 'FAILED', 'RUNNING', 'QUEUED']) {
      expect(value(samples, 'deployer_deployments', { status, environment: 'demo' }), status).toBe(1);
    }
    expect(value(samples, 'deployer_stack_queue_length', { stack: 'demo-shop' })).toBe(1);
  });

  it('/metrics: job wait by queue, HTTP durations by route template and status', async () => {
    const samples = await scrape();
    expect(value(samples, 'deployer_job_wait_seconds_count', { queue: 'deployment-stack-wait' })).toBeGreaterThanOrEqual(3);
    expect(value(samples, 'deployer_job_wait_seconds_count', { queue: 'deployment-step' })).toBeGreaterThanOrEqual(6);
    expect(value(samples, 'deployer_http_request_duration_seconds_count', { method: 'POST', route: '/v1/deployments', status: '202' })).toBe(4);
    expect(value(samples, 'deployer_http_request_duration_seconds_count', { method: 'GET', route: '/v1/deployments/:id', status: '404' })).toBe(1);
  });

  it('/metrics: the AWS calls the simulated cloud answered, by service, operation, region and outcome, as on AWS', async () => {
    const before = deployer.services.simulator!.awsCalls();
    const samples = await scrape();
    const after = deployer.services.simulator!.awsCalls();
    const calls = samples.filter((s) => s.name === 'deployer_aws_calls_total');
    for (const [service, operation] of [['CloudFormation', 'CreateStack'], ['CloudFormation', 'UpdateStack'], ['CloudFormation', 'DescribeStacks'], ['ECS', 'RunTask'], ['ECS', 'DescribeTasks'], ['S3', 'PutObject']]) {
      expect(value(samples, 'deployer_aws_calls_total', { service: service!, operation: operation!, outcome: 'ok' }), operation).toBeGreaterThanOrEqual(1);
    }
    expect(calls.every((s) => s.labels.region === 'us-east-1')).toBe(true);
    // Counted in one place: the metric and the simulator's own count (the bench's) agree.
    const total = calls.reduce((sum, s) => sum + s.value, 0);
    expect(total).toBeGreaterThanOrEqual(before.reads + before.writes);
    expect(total).toBeLessThanOrEqual(after.reads + after.writes);
  });

  it('logs: JSON lines; a request id on every HTTP log; deployment, stack and step ids on engine logs', () => {
    const http = logLines.filter((l) => l.msg === 'http request');
    expect(http.length).toBeGreaterThan(5);
    for (const line of http) expect(line).toMatchObject({ requestId: expect.any(String), method: expect.any(String), route: expect.any(String), status: expect.any(Number) });

    const deployments = logLines.filter((l) => String(l.msg).startsWith('deployment '));
    expect(deployments.map((l) => l.msg)).toEqual(expect.arrayContaining(['deployment DONE', 'deployment FAILED', 'deployment RUNNING']));
    for (const line of deployments) expect(line).toMatchObject({ deploymentId: expect.any(String), stackId: expect.any(String) });

    const steps = logLines.filter((l) => ['starting step', 'step done', 'step failed'].includes(String(l.msg)));
    expect(steps.length).toBeGreaterThan(6);
    for (const line of steps) expect(line).toMatchObject({ deploymentId: expect.any(String), stackId: expect.any(String), step: expect.any(String), stepType: expect.any(String) });
    expect(steps.find((l) => l.msg === 'step failed')).toMatchObject({ step: 'DB.Migrate.main', error: expect.stringContaining('exited with code 3') });

    const stacks = logLines.filter((l) => String(l.msg).startsWith('stack '));
    expect(stacks.length).toBeGreaterThan(0);
    for (const line of stacks) expect(line).toMatchObject({ stackId: expect.any(String), stack: 'demo-shop' });
  });
});
