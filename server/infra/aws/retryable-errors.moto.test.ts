// Which AWS failures are worth trying again: a network fault is (AWS was not reached). Uses moto (moto_server on the PATH; skipped with a warning
// without it) for the calls that reach AWS, and a port nothing listens on for a network fault.
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../db/embedded.ts';
import { startMoto } from '../../../test/support/moto.ts';
import { InfraError } from '../port.ts';
import { createAwsInfra } from './index.ts';

const moto = await startMoto();
if (!moto) console.warn('server/infra/aws/retryable-errors.moto.test.ts skipped: moto_server is not on the PATH');

const credentials = { accessKeyId: 'moto', secretAccessKey: 'moto' };

describe.skipIf(!moto)('AWS failures and whether they are worth trying again (moto)', () => {
  afterAll(async () => {
    await moto?.stop();
  });

  it('a stack that does not exist is null on moto, as on AWS (the same client, reaching AWS)', async () => {
    const infra = createAwsInfra({ endpoint: moto!.endpoint, region: 'eu-west-1', credentials, templateBucket: 'templates', maxAttempts: 1 });
    try {
      expect(await infra.describeStack('no-such-stack')).toBeNull();
    } finally {
      await infra.close();
    }
  });

  it('a network fault (AWS unreachable once the SDK gave up its own retries) is worth trying again, not a failed step', async () => {
    // Nothing listens there: every call is refused on the network, as when AWS cannot be reached.
    const unreachable = `http://127.0.0.1:${await freePort()}`;
    const infra = createAwsInfra({ endpoint: unreachable, region: 'eu-west-1', credentials, templateBucket: 'templates', maxAttempts: 1 });
    try {
      const failure = await infra.describeStack('dev-shop').then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failure).toBeInstanceOf(InfraError);
      expect(failure).toMatchObject({ code: 'ECONNREFUSED', retryable: true });
      const put = await infra.storeTemplate({ key: 'k.json', body: '{}' }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(put).toMatchObject({ retryable: true });
    } finally {
      await infra.close();
    }
  });
});
