import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../../../test/support/deployer.ts';
import { exampleClusterDocument } from './cluster-schemas.ts';

const READ = 'read-token-123';
const DEPLOY = 'deploy-token-123';
const ADMIN = 'admin-token-123';

describe('auth', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer({ env: { DEPLOYER_API_TOKENS: `${READ}=read,${DEPLOY}=deploy,${ADMIN}=admin` } });
  });
  afterAll(() => t.stop());

  it('answers 401 without a token or with an unknown one', async () => {
    for (const token of [undefined, 'not-a-real-token']) {
      const res = await t.clientWith(token).GET('/v1/clusters');
      expect(res.response.status).toBe(401);
      expect(res.response.headers.get('content-type')).toContain('application/problem+json');
      expect(res.error!.title).toBe('Unauthorized');
    }
    const malformed = await t.request('/v1/clusters', { headers: { authorization: 'Basic abc' } });
    expect(malformed.status).toBe(401);
  });

  it('answers 403 when the token lacks the scope, and stores nothing', async () => {
    for (const token of [READ, DEPLOY]) {
      const res = await t.clientWith(token).PUT('/v1/clusters/{cluster}', {
        params: { path: { cluster: 'prod' } },
        body: exampleClusterDocument as never,
      });
      expect(res.response.status).toBe(403);
      expect(res.error!.detail).toContain("'admin'");
    }
    expect((await t.database.sql`select count(*)::int as n from clusters`)[0]!.n).toBe(0);
  });

  it('lets admin write and every scope read', async () => {
    const put = await t.clientWith(ADMIN).PUT('/v1/clusters/{cluster}', { params: { path: { cluster: 'prod' } }, body: exampleClusterDocument as never });
    expect(put.response.status).toBe(200);
    for (const token of [READ, DEPLOY, ADMIN]) {
      const res = await t.clientWith(token).GET('/v1/clusters/{cluster}', { params: { path: { cluster: 'prod' } } });
      expect(res.response.status).toBe(200);
    }
  });

  it('keeps health, docs, metrics and the OpenAPI document public', async () => {
    for (const path of ['/healthz', '/readyz', '/openapi.json', '/docs', '/docs/assets/swagger-ui-bundle.js', '/metrics']) {
      const res = await t.request(path);
      expect(res.status, path).toBe(200);
    }
  });
});
