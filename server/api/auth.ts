/**
 * Bearer tokens with scopes. `read` < `deploy` < `admin`: a token with a scope can do what the
 * lower ones allow. Health, docs and the OpenAPI document are public (they are not behind this).
 * With no tokens configured auth is off: the server binds to 127.0.0.1 only (server/main.ts).
 */
import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ApiToken, Scope } from '../config.ts';
import type { AppEnv, Caller } from './context.ts';

const RANK: Record<Scope, number> = { read: 1, deploy: 2, admin: 3 };

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function findToken(tokens: ApiToken[], presented: string): ApiToken | undefined {
  return tokens.find((t) => sameToken(t.token, presented));
}

export function allows(scopes: Scope[], needed: Scope): boolean {
  return scopes.some((s) => RANK[s] >= RANK[needed]);
}

/**
 * Who presents an Authorization header: the caller, or why nobody (a 401's words). With no tokens
 * configured, anyone is an admin. The one place a header is read (the middleware below, the board's
 * own reads).
 */
export function identifyCaller(tokens: ApiToken[], header: string | undefined): { caller: Caller } | { refused: string } {
  if (tokens.length === 0) return { caller: { name: 'anonymous', scopes: ['admin'] } };
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!match) return { refused: 'Send Authorization: Bearer <token>' };
  const token = findToken(tokens, match[1]!);
  if (!token) return { refused: 'Unknown token' };
  return { caller: { name: token.name ?? `token:${token.token.slice(0, 4)}…`, scopes: token.scopes } };
}

/** Identifies the caller on every /v1 request; rejects a missing or unknown token with 401. */
export function authenticate(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const identified = identifyCaller(c.get('services').config.apiTokens, c.req.header('authorization'));
    if ('refused' in identified) throw new HTTPException(401, { message: identified.refused });
    c.set('caller', identified.caller);
    return next();
  };
}

/** The scope an operation needs: the OpenAPI `security` entry and the check, declared together. */
export function requireScope(scope: Scope) {
  const check: MiddlewareHandler<AppEnv> = async (c, next) => {
    if (!allows(c.get('caller').scopes, scope)) {
      throw new HTTPException(403, { message: `This operation needs the '${scope}' scope` });
    }
    return next();
  };
  return { security: [{ bearerAuth: [scope] }], middleware: check };
}
