/**
 * Swagger UI prefills each request body from its example, so every request body in the OpenAPI
 * document must have one, and it must work: this walks the document the server serves, sends each
 * example as Swagger UI's "Execute" would (path parameters from their examples too), and expects
 * the deployer to carry it out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../support/deployer.ts';

type Json = Record<string, any>;

/** Operations whose example is right but needs something this test deployer lacks, and what it answers instead. */
const ANSWERED_ELSEWHERE: Record<string, { status: number; why: string }> = {
  'POST /v1/deployments/trigger': { status: 503, why: 'reads the app config from GitHub; no GitHub credentials here' },
  'POST /v1/github/deliveries': { status: 503, why: 'a push is stored only where GitHub can be read; no GitHub credentials here' },
  'POST /v1/deployments/{id}/approve': { status: 409, why: 'approves a deployment that waits in EVALUATED; the example deployment is never evaluated' },
  'POST /v1/deployments/{id}/reject': { status: 409, why: 'rejects a deployment that waits in EVALUATED; the example deployment is never evaluated' },
  'POST /v1/stacks/{environment}/{application}/rollback': { status: 409, why: 'rolls back to an earlier DONE deployment; the examples make one deployment at most' },
};

interface Operation {
  key: string;
  method: string;
  path: string;
  operation: Json;
}

function operationsWithBodies(doc: Json): Operation[] {
  return Object.entries(doc.paths as Json).flatMap(([path, item]) =>
    Object.entries(item as Json)
      .filter(([, operation]) => (operation as Json).requestBody)
      .map(([method, operation]) => ({ key: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), path, operation: operation as Json })),
  );
}

/** The example Swagger UI shows for a media type: its own, or its schema's. */
function exampleOf(doc: Json, media: Json): unknown {
  if (media.example !== undefined) return media.example;
  const first = media.examples && Object.values(media.examples as Json)[0];
  if (first) return (first as Json).value;
  const schema = media.schema?.$ref ? doc.components.schemas[String(media.schema.$ref).split('/').pop()!] : media.schema;
  return schema?.example ?? schema?.examples?.[0];
}

function pathWithExamples(op: Operation): string {
  return op.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const parameter = (op.operation.parameters as Json[] | undefined)?.find((p) => p.in === 'path' && p.name === name);
    const example = parameter?.example ?? parameter?.schema?.example;
    if (example === undefined) throw new Error(`${op.key}: path parameter '${name}' has no example`);
    return encodeURIComponent(String(example));
  });
}

describe('request body examples in the OpenAPI document', () => {
  let t: TestDeployer;
  let doc: Json;
  beforeAll(async () => {
    t = await startTestDeployer({ env: { DEPLOYER_SEED_DEMO: 'true' } });
    doc = await (await t.request('/openapi.json')).json();
  });
  afterAll(() => t.stop());

  it('has an example for every request body of every operation', () => {
    const operations = operationsWithBodies(doc);
    expect(operations.map((op) => op.key)).toEqual(expect.arrayContaining(['POST /v1/deployments', 'POST /v1/deployments/trigger']));
    const missing = operations.flatMap((op) =>
      Object.entries(op.operation.requestBody.content as Json)
        .filter(([, media]) => exampleOf(doc, media as Json) === undefined)
        .map(([type]) => `${op.key} (${type})`),
    );
    expect(missing).toEqual([]);
  });

  it('runs every example as Swagger UI sends it, in document order', async () => {
    // The terminate example names a deployment; make it exist, so that its example does something.
    const terminate = operationsWithBodies(doc).find((op) => op.key === 'POST /v1/deployments/{id}/terminate')!;
    const deploymentId = decodeURIComponent(pathWithExamples(terminate).split('/')[3]!);
    const deploymentExample = exampleOf(doc, doc.paths['/v1/deployments'].post.requestBody.content['application/json']) as Json;
    const created = await t.client.POST('/v1/deployments', { body: { ...deploymentExample, deploymentId, version: 'to-terminate' } as never });
    expect(created.response.status).toBe(202);

    const answers: Record<string, number | string> = {};
    for (const op of operationsWithBodies(doc)) {
      const body = exampleOf(doc, op.operation.requestBody.content['application/json']);
      const res = await t.request(pathWithExamples(op), {
        method: op.method,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
      });
      const expected = ANSWERED_ELSEWHERE[op.key]?.status;
      const ok = expected !== undefined ? res.status === expected : res.status >= 200 && res.status < 300;
      answers[op.key] = ok ? 'ok' : `${res.status}: ${await res.text()}`;
    }
    expect(Object.values(answers).length).toBeGreaterThanOrEqual(8);
    expect(answers).toEqual(Object.fromEntries(Object.keys(answers).map((key) => [key, 'ok'])));
  });
});
