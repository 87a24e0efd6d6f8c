/**
 * The engine derives every client token from deployment and step; a retried step sends the same
 * token again and AWS does the same thing again, not a second thing. Tokens are passed through
 * unchanged, so one that AWS would reject is refused here with a clear message instead.
 */
import { InfraError } from '../port.ts';

/** CloudFormation ClientRequestToken: `[a-zA-Z0-9][-a-zA-Z0-9]*`, at most 128 characters. */
const CF_TOKEN = /^[a-zA-Z0-9][-a-zA-Z0-9]*$/;

export function cfToken(token: string): string {
  if (!CF_TOKEN.test(token) || token.length > 128) {
    throw new InfraError('InvalidClientToken', `CloudFormation client token must match [a-zA-Z0-9][-a-zA-Z0-9]* and be at most 128 characters: ${JSON.stringify(token)}`);
  }
  return token;
}

/** ECS RunTask clientToken: up to 64 ASCII characters. */
export function ecsToken(token: string): string {
  if (token.length === 0 || token.length > 64 || !/^[\x21-\x7e]+$/.test(token)) {
    throw new InfraError('InvalidClientToken', `ECS client token must be 1 to 64 printable ASCII characters: ${JSON.stringify(token)}`);
  }
  return token;
}
