/**
 * The SCRAM-SHA-256 verifier of a password, in the form `CREATE ROLE ... PASSWORD` accepts
 * (RFC 5802/7677, as Postgres stores it). Sending the verifier instead of the password keeps the
 * plaintext out of the server's statement log and pg_stat_activity.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

const ITERATIONS = 4096;

export function scramSha256Verifier(password: string, salt: Buffer = randomBytes(16)): string {
  // Postgres applies SASLprep first; passwords the deployer generates are ASCII, where it changes nothing.
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, ITERATIONS, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${ITERATIONS}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
