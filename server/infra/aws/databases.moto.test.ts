// Uses moto for Secrets Manager (skipped with a warning when moto_server is not on the PATH) and a
// real Postgres (the test harness's server, test/support/database.ts) standing in as the RDS host:
// the database steps through the AWS infra, with the root secret and the app's secret in moto.
import { randomBytes } from 'node:crypto';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import { startMoto } from '../../../test/support/moto.ts';
import type { DatabaseAdminAccess, InfraPort } from '../port.ts';
import { databaseLockKey } from '../postgres/provision.ts';
import { postgresSessionNameFor } from '../postgres/server.ts';
import { createAwsInfra } from './index.ts';

const moto = await startMoto();
if (!moto) console.warn('server/infra/aws/databases.moto.test.ts skipped: moto_server is not on the PATH');

const region = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

describe.skipIf(!moto)('database steps: root secret in moto, real Postgres as the RDS host', () => {
  let testDb: TestDatabase;
  let infra: InfraPort;
  let secrets: SecretsManagerClient;
  let admin: Sql;
  let host: { hostname: string; port: number };
  const rootSecretName = '/dev/global/rds/main/root';
  const adminAccess: DatabaseAdminAccess = { kind: 'secretsManager', secretName: rootSecretName };
  const dbName = `dev_shop_main_${randomBytes(3).toString('hex')}`;
  let appSecretArn: string;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    const server = new URL(testDb.serverUrl);
    host = { hostname: server.hostname, port: Number(server.port || 5432) };
    admin = postgres(testDb.serverUrl, { max: 1, onnotice: () => {} });

    secrets = new SecretsManagerClient({ region, endpoint: moto!.endpoint, credentials });
    // The host's root secret, in the format the cluster's Terraform writes (no port: it is in dburl).
    await secrets.send(
      new CreateSecretCommand({
        Name: rootSecretName,
        SecretString: JSON.stringify({
          dbuser: decodeURIComponent(server.username),
          dbpass: decodeURIComponent(server.password),
          dbhost: host.hostname,
          dbname: 'postgres',
          dburl: `${server.protocol}//${server.username}:${server.password}@${server.host}/postgres`,
        }),
      }),
    );
    // The app's secret as its stack creates it: no value yet.
    const created = await secrets.send(new CreateSecretCommand({ Name: `/dev/shop/postgres/main-${dbName}` }));
    appSecretArn = created.ARN!;

    // The harness's Postgres plays the RDS host, without TLS: the explicit opt-out (DEPLOYER_RDS_TLS=off).
    infra = createAwsInfra({ region, endpoint: moto!.endpoint, credentials, templateBucket: 'unused', retry: { retries: 1, baseDelayMs: 5 }, databaseTls: { mode: 'off' } });
  });

  afterAll(async () => {
    if (infra) await infra.destroyDatabase({ dbName, admin: adminAccess, operationId: 'cleanup' }).catch(() => {});
    await infra?.close();
    secrets?.destroy();
    await admin?.end({ timeout: 5 });
    await testDb?.drop();
    await moto?.stop();
  });

  const appSecret = async () =>
    JSON.parse((await secrets.send(new GetSecretValueCommand({ SecretId: appSecretArn }))).SecretString!);
  const versionCount = async () => (await secrets.send(new ListSecretVersionIdsCommand({ SecretId: appSecretArn }))).Versions!.length;

  /** Logs in with the app secret's URL, as the application would. */
  async function loginWith(dburl: string): Promise<string> {
    const sql = postgres(dburl, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql<{ user: string; db: string }[]>`select current_user as "user", current_database() as db`;
      return `${row.user}@${row.db}`;
    } finally {
      await sql.end({ timeout: 5 });
    }
  }

  const upsert = (rotateCredentials = false) =>
    infra.upsertDatabase({
      dbName,
      admin: adminAccess,
      extensions: ['pgcrypto'],
      app: { kind: 'secretsManager', secretArn: appSecretArn, rotateCredentials },
      operationId: 'd-1/DB.Upsert.main',
    });

  it('creates the database and its role, and stores credentials the role logs in with', async () => {
    await upsert();

    expect(await admin`select 1 from pg_database where datname = ${dbName}`).toHaveLength(1);
    expect(await admin`select 1 from pg_roles where rolname = ${dbName} and rolcanlogin`).toHaveLength(1);

    const secret = await appSecret();
    expect(secret).toEqual({
      dbuser: dbName,
      dbpass: expect.stringMatching(/^[0-9a-f]{64}$/),
      dbhost: host.hostname,
      dbport: host.port,
      dbname: dbName,
      dburl: `postgres://${dbName}:${secret.dbpass}@${host.hostname}:${host.port}/${dbName}`,
    });
    expect(await loginWith(secret.dburl)).toBe(`${dbName}@${dbName}`);
  });

  it('changes nothing the second time: same password, same secret version', async () => {
    const before = { secret: await appSecret(), versions: await versionCount() };
    const [{ rolpassword }] = await admin`select rolpassword from pg_authid where rolname = ${dbName}`;

    await upsert();

    expect(await appSecret()).toEqual(before.secret);
    expect(await versionCount()).toBe(before.versions);
    const [after] = await admin`select rolpassword from pg_authid where rolname = ${dbName}`;
    expect(after.rolpassword).toBe(rolpassword);
  });

  it('rotates the credentials when asked: the new ones work, the old ones no longer do, nor the logins o5 made per rotation', async () => {
    const old = await appSecret();
    // A login the original made at one of its rotations (adopted stack): `<db>_<unix time>`, member of the role.
    const o5Login = `${dbName}_1700000000`;
    await admin.unsafe(`CREATE USER "${o5Login}" PASSWORD 'o5-pw' IN ROLE "${dbName}"`);
    const o5Url = old.dburl.replace(`//${dbName}:${old.dbpass}@`, `//${o5Login}:o5-pw@`);
    try {
      expect(await loginWith(o5Url)).toBe(`${o5Login}@${dbName}`);
      await upsert(true);
      const rotated = await appSecret();
      expect(rotated.dbpass).not.toBe(old.dbpass);
      expect(await loginWith(rotated.dburl)).toBe(`${dbName}@${dbName}`);
      await expect(loginWith(old.dburl)).rejects.toThrow(/password authentication failed/);
      await expect(loginWith(o5Url)).rejects.toThrow(/is not permitted to log in/);
    } finally {
      await admin.unsafe(`DROP ROLE "${o5Login}"`);
    }
  });

  it("repairs a role whose password is not the secret's (a rotation that failed before writing the secret)", async () => {
    const secret = await appSecret();
    const versions = await versionCount();
    await admin.unsafe(`ALTER ROLE "${dbName}" PASSWORD 'set-by-a-failed-rotation'`);
    await expect(loginWith(secret.dburl)).rejects.toThrow(/password authentication failed/);

    await upsert();

    expect(await appSecret()).toEqual(secret);
    expect(await versionCount()).toBe(versions);
    expect(await loginWith(secret.dburl)).toBe(`${dbName}@${dbName}`);
  });

  it('runs cleanup: a table the administrator made in the app database becomes the app role\'s', async () => {
    const appDbAsAdmin = postgres(testDb.serverUrl.replace(/\/[^/]*$/, `/${dbName}`), { max: 1, onnotice: () => {} });
    await appDbAsAdmin`create table orders (id serial primary key)`;
    await infra.cleanupDatabase({ dbName, admin: adminAccess, operationId: 'd-1/DB.Cleanup.main' });
    const [orders] = await appDbAsAdmin`select pg_get_userbyid(relowner) as owner from pg_class where relname = 'orders'`;
    await appDbAsAdmin.end();
    expect(orders.owner).toBe(dbName);
  });

  it('reports a root secret that does not exist with Secrets Manager\'s code', async () => {
    await expect(
      infra.upsertDatabase({
        dbName,
        admin: { kind: 'secretsManager', secretName: '/dev/global/rds/missing/root' },
        extensions: [],
        app: { kind: 'secretsManager', secretArn: appSecretArn, rotateCredentials: false },
        operationId: 'x',
      }),
    ).rejects.toMatchObject({ name: 'InfraError', code: 'ResourceNotFoundException' });
  });

  it('refuses a destroy, dropping nothing, when the role still owns something elsewhere, naming it, and leaves it to be fixed', async () => {
    await admin.unsafe(`create table "${dbName}_report" (id int); alter table "${dbName}_report" owner to "${dbName}"`);
    try {
      const failure = await infra.destroyDatabase({ dbName, admin: adminAccess, operationId: 'd-2/DB.Destroy.main' }).catch((err: unknown) => err);
      expect(failure).toMatchObject({ name: 'InfraError', code: 'DatabaseRoleNotDroppable' });
      expect((failure as Error).message).toContain(`owner of table public.${dbName}_report`);
      // Checked before DROP DATABASE, which cannot be undone: the database and its data are kept.
      expect(await admin`select 1 from pg_database where datname = ${dbName}`).toHaveLength(1);
      expect(await loginWith((await appSecret()).dburl)).toBe(`${dbName}@${dbName}`);
    } finally {
      await admin.unsafe(`drop table "${dbName}_report"`);
    }
  });

  it('destroys the database and its role', async () => {
    await infra.destroyDatabase({ dbName, admin: adminAccess, operationId: 'd-2/DB.Destroy.main' });
    expect(await admin`select 1 from pg_database where datname = ${dbName}`).toHaveLength(0);
    expect(await admin`select 1 from pg_roles where rolname = ${dbName}`).toHaveLength(0);
  });

  it('creates it again with the password the secret kept (the secret outlives the stack)', async () => {
    const kept = await appSecret();
    await upsert();
    expect(await appSecret()).toEqual(kept);
    expect(await loginWith(kept.dburl)).toBe(`${dbName}@${dbName}`);
  });

  it("waits for another attempt's lock on the database, and a terminate ends it there: nothing runs", async () => {
    const holder = postgres(testDb.serverUrl, { max: 1, onnotice: () => {} });
    try {
      await holder`select pg_advisory_lock(hashtextextended(${databaseLockKey(dbName)}, 0))`;
      const operationId = 'd-3/DB.Upsert.main';
      const waiting = infra
        .upsertDatabase({ dbName, admin: adminAccess, extensions: [], app: { kind: 'secretsManager', secretArn: appSecretArn, rotateCredentials: true }, operationId })
        .catch((err: unknown) => err);
      for (let i = 0; (await admin`select 1 from pg_stat_activity where application_name = ${postgresSessionNameFor(operationId)}`).length === 0; i++) {
        if (i > 200) throw new Error('the upsert never asked for the lock');
        await new Promise((r) => setTimeout(r, 25));
      }
      const before = await appSecret();
      expect(await infra.cancelDatabaseOperation({ dbName, admin: adminAccess, operationId })).toBe(1);
      expect(await waiting).toMatchObject({ name: 'InfraError' });
      // The rotation never happened: the secret and the login are as they were.
      expect(await appSecret()).toEqual(before);
      expect(await loginWith(before.dburl)).toBe(`${dbName}@${dbName}`);
    } finally {
      await holder.end({ timeout: 5 });
    }
  });
});
