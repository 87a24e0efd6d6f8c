// TLS of the administrator's sessions on RDS hosts, against real servers: a throwaway Postgres with
// ssl = on and a certificate signed by a CA made here with openssl (skipped, with a warning, without
// openssl), the harness's Postgres (no TLS), and a fake server that answers the SSLRequest with N
// and records what it is sent. The default, verify-full, must connect only to a server whose
// certificate chains to the configured CA and names the host, and must never send anything in
// plaintext. DEPLOYER_RDS_TLS=off is the only way to plaintext.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../../db/embedded.ts';
import { InfraError, type InfraPort } from '../port.ts';
import { PostgresTlsError, withSession, type PostgresServer } from '../postgres/server.ts';
import type { DatabaseTls } from './context.ts';
import { createAwsInfra } from './index.ts';

const openssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
    return true;
  } catch {
    console.warn('databases.tls.test.ts: the TLS server cases are skipped: openssl is not on the PATH');
    return false;
  }
})();

/**
 * A CA, a server certificate it signed for the DNS name `localhost` only (so that 127.0.0.1 is a
 * host name the certificate does not name), and another CA that signed nothing.
 */
function makeCertificates(dir: string): void {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Deployer test CA');
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'other-ca.key', '-out', 'other-ca.pem', '-days', '2', '-subj', '/CN=Another CA');
  run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:localhost\n');
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext');
}

/** The embedded Postgres's owner when we run as root (it refuses to run as root, and to read a key others can). */
function postgresOwner(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** A Postgres with ssl = on and the certificate above: initialised, stopped, configured, started again. */
async function startTlsPostgres(dataDir: string, certs: string): Promise<EmbeddedPostgres> {
  await (await startEmbeddedPostgres({ dataDir, durable: false })).stop();
  const cluster = join(dataDir, 'pg');
  const owner = postgresOwner();
  for (const name of ['server.pem', 'server.key']) {
    copyFileSync(join(certs, name), join(cluster, name));
    if (owner) chownSync(join(cluster, name), owner.uid, owner.gid);
  }
  chmodSync(join(cluster, 'server.key'), 0o600);
  appendFileSync(join(cluster, 'postgresql.conf'), "\nssl = on\nssl_cert_file = 'server.pem'\nssl_key_file = 'server.key'\n");
  return startEmbeddedPostgres({ dataDir, durable: false });
}

/** Whether the session runs over TLS, as the server sees it. */
async function sessionSsl(server: PostgresServer): Promise<boolean> {
  return withSession(server, 'postgres', async (sql) => {
    const [row] = await sql<{ ssl: boolean }[]>`select ssl from pg_catalog.pg_stat_ssl where pid = pg_catalog.pg_backend_pid()`;
    return row!.ssl;
  });
}

async function failureOf(work: Promise<unknown>): Promise<unknown> {
  try {
    await work;
  } catch (err) {
    return err;
  }
  throw new Error('it connected');
}

const secrets = mockClient(SecretsManagerClient);
afterAll(() => secrets.restore());

/** The port, with the root secret of `host` in Secrets Manager. */
function portFor(host: { host: string; port: number; user: string; password: string }, databaseTls?: DatabaseTls): InfraPort {
  secrets.reset();
  secrets.on(GetSecretValueCommand, { SecretId: 'root' }).resolves({
    SecretString: JSON.stringify({ dbhost: host.host, dbport: host.port, dbuser: host.user, dbpass: host.password, dbname: 'postgres' }),
  });
  return createAwsInfra({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    templateBucket: 't',
    retry: { retries: 0 },
    ...(databaseTls ? { databaseTls } : {}),
  });
}

/** A database step's SQL through the port: ends the (no) sessions of an operation. */
const step = (infra: InfraPort) => infra.cancelDatabaseOperation({ dbName: 'nothing', admin: { kind: 'secretsManager', secretName: 'root' }, operationId: 'tls-test' });

describe.skipIf(!openssl)('verify-full against a Postgres with TLS', () => {
  let dir: string;
  let pg: EmbeddedPostgres;
  let base: Omit<PostgresServer, 'host' | 'ssl'>;
  let ca: string;
  let otherCa: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'deployer-tls-'));
    const owner = postgresOwner();
    if (owner) chownSync(dir, owner.uid, owner.gid);
    makeCertificates(dir);
    pg = await startTlsPostgres(join(dir, 'data'), dir);
    const url = new URL(pg.url);
    base = { port: Number(url.port), user: 'postgres', password: decodeURIComponent(url.password), database: 'postgres' };
    ca = readFileSync(join(dir, 'ca.pem'), 'utf8');
    otherCa = readFileSync(join(dir, 'other-ca.pem'), 'utf8');
  });

  afterAll(async () => {
    await pg?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('connects over TLS to a server whose certificate the configured CA signed, for the host connected to', async () => {
    expect(await sessionSsl({ ...base, host: 'localhost', ssl: 'verify-full', sslCa: ca })).toBe(true);
  });

  it('refuses a certificate that another CA signed', async () => {
    const err = await failureOf(sessionSsl({ ...base, host: 'localhost', ssl: 'verify-full', sslCa: otherCa }));
    expect(err).toBeInstanceOf(PostgresTlsError);
    expect(err).toMatchObject({ reason: 'untrusted-certificate' });
    expect((err as Error).message).toMatch(/^TLS to localhost:\d+ failed: the server's certificate is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
  });

  it("refuses it against Node's default CAs, which lack the CA (as they lack RDS's)", async () => {
    const err = await failureOf(sessionSsl({ ...base, host: 'localhost', ssl: 'verify-full' }));
    expect(err).toMatchObject({ reason: 'untrusted-certificate' });
  });

  it('refuses a certificate that does not name the host, an IP address included', async () => {
    // The certificate names localhost only. postgres.js sets no servername for an IP address, and
    // Node would then check the certificate against 'localhost': the host must be checked instead.
    const err = await failureOf(sessionSsl({ ...base, host: '127.0.0.1', ssl: 'verify-full', sslCa: ca }));
    expect(err).toBeInstanceOf(PostgresTlsError);
    expect(err).toMatchObject({ reason: 'host-mismatch' });
    expect((err as Error).message).toContain("IP: 127.0.0.1 is not in the cert's list");
  });

  it('by default (no setting), a step fails at once, naming the CA bundle setting', async () => {
    const err = await failureOf(step(portFor({ ...base, host: 'localhost', password: base.password as string })));
    expect(err).toBeInstanceOf(InfraError);
    expect(err).toMatchObject({ code: 'DatabaseTlsError', retryable: false });
    expect((err as Error).message).toContain("the server's certificate is not trusted");
    expect((err as Error).message).toContain("Node's default CAs (DEPLOYER_RDS_CA_BUNDLE is not set)");
    expect((err as Error).message).toContain('https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem');
  });

  it('with the CA bundle set, a step runs its SQL over TLS', async () => {
    const infra = portFor({ ...base, host: 'localhost', password: base.password as string }, { mode: 'verify-full', ca, caFile: join(dir, 'ca.pem') });
    expect(await step(infra)).toBe(0);
  });

  it('a host name the certificate does not name fails the step, naming the setting', async () => {
    const infra = portFor({ ...base, host: '127.0.0.1', password: base.password as string }, { mode: 'verify-full', ca, caFile: join(dir, 'ca.pem') });
    const err = await failureOf(step(infra));
    expect(err).toMatchObject({ code: 'DatabaseTlsError', retryable: false });
    expect((err as Error).message).toContain('DEPLOYER_RDS_TLS=verify-full checks that the certificate names the host');
  });
});

describe('verify-full against a server without TLS', () => {
  const harness = new URL(inject('pgServerUrl'));
  const host = { host: harness.hostname, port: Number(harness.port || 5432), user: decodeURIComponent(harness.username), password: decodeURIComponent(harness.password) };
  let harnessHasTls = false;

  beforeAll(async () => {
    const sql = postgres(inject('pgServerUrl'), { max: 1, onnotice: () => {} });
    try {
      harnessHasTls = (await sql<{ ssl: string }[]>`show ssl`)[0]!.ssl === 'on';
    } finally {
      await sql.end({ timeout: 5 });
    }
    if (harnessHasTls) console.warn('databases.tls.test.ts: the harness Postgres has TLS on; its no-TLS cases are skipped');
  });

  it('refuses the harness Postgres (no TLS) instead of falling back to plaintext, and the step names DEPLOYER_RDS_TLS', async (t) => {
    if (harnessHasTls) t.skip();
    const err = await failureOf(sessionSsl({ ...host, database: 'postgres', ssl: 'verify-full' }));
    expect(err).toBeInstanceOf(PostgresTlsError);
    expect(err).toMatchObject({ reason: 'no-tls' });
    expect((err as Error).message).toBe(`TLS to ${host.host}:${host.port} failed: the server does not offer TLS (it answers the SSLRequest with N)`);

    const stepErr = await failureOf(step(portFor(host)));
    expect(stepErr).toMatchObject({ code: 'DatabaseTlsError', retryable: false });
    expect((stepErr as Error).message).toContain('DEPLOYER_RDS_TLS=verify-full requires TLS and never falls back to plaintext');
    expect((stepErr as Error).message).toContain('DEPLOYER_RDS_TLS=off');
  });

  it('connects in plaintext only with DEPLOYER_RDS_TLS=off', async (t) => {
    if (harnessHasTls) t.skip();
    expect(await step(portFor(host, { mode: 'off' }))).toBe(0);
    expect(await sessionSsl({ ...host, database: 'postgres', ssl: 'disable' })).toBe(false);
  });

  describe('a server (or a man in the middle) that answers the SSLRequest with N', () => {
    let server: Server;
    let port: number;
    const received: Buffer[] = [];

    beforeAll(async () => {
      server = createServer((socket: Socket) => {
        let answered = false;
        socket.on('data', (chunk) => {
          if (!answered) {
            // The SSLRequest (length 8, code 80877103): no TLS here.
            answered = true;
            socket.write('N');
            return;
          }
          received.push(chunk);
          // Were it a startup message, ask for the password in clear text (AuthenticationCleartextPassword),
          // as a man in the middle would; anything else (the password, a TLS handshake) ends it.
          if (chunk.length >= 8 && chunk.readInt32BE(4) === 196608) socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]));
          else socket.destroy();
        });
        socket.on('error', () => {});
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    });

    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('is sent nothing but a TLS handshake: neither the user nor the password', async () => {
      // (A client that sends the password keeps reconnecting to this server: bounded, to fail fast.)
      const session = withSession({ host: '127.0.0.1', port, user: 'rds_root', password: 'root-password-1', database: 'postgres', ssl: 'verify-full' }, 'postgres', (sql) => sql`select 1`);
      const err = await failureOf(Promise.race([session, new Promise((_, reject) => setTimeout(() => reject(new Error('still connecting after 5 s')), 5_000))]));
      const sent = Buffer.concat(received);
      expect(sent.toString('latin1')).not.toContain('rds_root');
      expect(sent.toString('latin1')).not.toContain('root-password-1');
      expect(sent[0]).toBe(0x16); // a TLS handshake record
      expect(err).toMatchObject({ reason: 'no-tls' });
    });
  });

  it('a connection broken during the handshake by a server that offers TLS stays a network fault, retried', async () => {
    // Answers S, then drops the connection at the handshake: the ECONNRESET a server without TLS
    // causes too, but the server says S when asked, so it is not called a server without TLS.
    const flaky = createServer((socket: Socket) => {
      let answered = false;
      socket.on('data', () => {
        if (answered) return void socket.destroy();
        answered = true;
        socket.write('S');
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    try {
      const port = (flaky.address() as { port: number }).port;
      const err = await failureOf(step(portFor({ host: '127.0.0.1', port, user: 'rds_root', password: 'root-password-1' })));
      expect(err).toBeInstanceOf(InfraError);
      expect(err).toMatchObject({ code: 'ECONNRESET', retryable: true });
    } finally {
      await new Promise<void>((resolve) => flaky.close(() => resolve()));
    }
  });
});
