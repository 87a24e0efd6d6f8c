// Same-plan latency across versions: N first deployments of new stacks (the full plan on a new
// stack), one at a time, request to DONE as the server timestamps say (createdAt -> finishedAt).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../server/config.ts';
import { createLogger } from '../../server/logger.ts';
import { startDeployer } from '../../server/start.ts';

const demoClusterYaml = readFileSync(new URL('../../db/seed/demo-cluster.yaml', import.meta.url), 'utf8');
const demoAppYaml = readFileSync(new URL('../../db/seed/demo-app.yaml', import.meta.url), 'utf8');
const N = Number(process.env.N ?? 30);
const config = loadConfig({
  ...process.env,
  DEPLOYER_DATA_DIR: mkdtempSync(join(tmpdir(), 'deployer-lat-')),
  DEPLOYER_INFRA: 'simulated',
  DEPLOYER_SIM_LATENCY_MS: '0',
  DEPLOYER_SEED_DEMO: 'false',
  DEPLOYER_SIM_RDS_URL: 'off',
  LOG_LEVEL: 'warn',
});
const deployer = await startDeployer(config, { logger: createLogger(config.logLevel, { pretty: false }), http: false });
const call = (path: string, init?: RequestInit) => deployer.app.fetch(new Request(`http://lat${path}`, init));
const put = await call('/v1/clusters/demo', { method: 'PUT', headers: { 'content-type': 'application/yaml' }, body: demoClusterYaml });
if (put.status !== 200) throw new Error(`cluster: ${put.status}`);
const took: number[] = [];
for (let i = 0; i < N + 3; i++) {
  const applicationYaml = demoAppYaml.replace('name: shop', `name: lat${i}`);
  const res = await call('/v1/deployments', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ environment: 'demo', version: 'v1', applicationYaml }) });
  const { id } = (await res.json()) as { id: string };
  let d: { status: string; createdAt: string; finishedAt: string | null; steps: { name: string }[] };
  for (;;) {
    d = await (await call(`/v1/deployments/${id}`)).json();
    if (['DONE', 'FAILED', 'TERMINATED'].includes(d.status)) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  if (d.status !== 'DONE') throw new Error(`${id} ${d.status}`);
  if (i >= 3) took.push(Date.parse(d.finishedAt!) - Date.parse(d.createdAt));
  if (i === 0) console.log('steps:', d.steps.map((s) => s.name).join(' -> '));
}
took.sort((a, b) => a - b);
console.log(`new-stack full plan, ${N} samples: median ${took[Math.floor(N / 2)]} ms, p90 ${took[Math.floor(N * 0.9)]} ms, min ${took[0]} ms`);
await deployer.stop();
process.exit(0);
