/**
 * Client tokens (CloudFormation ClientRequestToken, ECS ClientToken, the database steps'
 * operationId) derived from deployment and step, so that a retried step repeats the same request and
 * AWS treats it as the same one. The format is fixed because the simulator matches
 * step faults against it (server/infra/simulated/faults.ts):
 *
 *   d<first 12 hex chars of sha1(deploymentId)>-<step name, every [^a-zA-Z0-9] replaced by '-'>
 *
 * e.g. `d3f2a9c01b7e4-DB-Migrate-main`. At most 128 characters, matching CloudFormation's rule
 * `[a-zA-Z0-9][-a-zA-Z0-9]*`. Deterministic: no attempt counter, no clock.
 */
import { createHash } from 'node:crypto';

export const CLIENT_TOKEN_MAX_LENGTH = 128;

/** `d` + 12 hex characters + `-`. */
const PREFIX_LENGTH = 14;
const TOKEN_PATTERN = /^d[0-9a-f]{12}-(.+)$/;

export function clientTokenFor(deploymentId: string, stepName: string): string {
  const digest = createHash('sha1').update(deploymentId).digest('hex').slice(0, 12);
  return `d${digest}-${clientTokenStepPart(stepName)}`;
}

/** The part of a token that names the step: what `clientTokenFor` appends after the digest. */
export function clientTokenStepPart(stepName: string): string {
  if (stepName === '') throw new Error('a client token needs a step name');
  return stepName.replace(/[^a-zA-Z0-9]/g, '-').slice(0, CLIENT_TOKEN_MAX_LENGTH - PREFIX_LENGTH);
}

/** The step part of a token built by `clientTokenFor`; undefined for tokens of another shape. */
export function stepPartOfClientToken(clientToken: string): string | undefined {
  return TOKEN_PATTERN.exec(clientToken)?.[1];
}
