/**
 * Bearer tokens with scopes. `read` < `deploy` < `admin`: a token with a scope can do what the
 * lower ones allow. Health, docs and the OpenAPI document are public (they are not behind this).
 * With no tokens configured auth is off: the server binds to 127.0.0.1 only (server/main.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ApiToken, Scope } from '../config.ts';
import type { AppEnv, Caller } from './context.ts';

const RANK: Record<Scope, number> = { read: 1, deploy: 2, admin: 3 };

/** Compared as digests, so that neither the bytes nor the length of a configured token shows in the time taken. */
function sameToken(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** Every token is compared, so the time taken does not show which one (or how far down the list) matched. */
export function findToken(tokens: ApiToken[], presented: string): ApiToken | undefined {
  let found: ApiToken | undefined;
  for (const token of tokens) if (sameToken(token.token, presented) && found === undefined) found = token;
  return found;
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
  return { caller: { name: token.name ?? unnamedTokenLabel(token.token), scopes: token.scopes } };
}

/**
 * What an unnamed token is recorded as: a digest's beginning, which names it without telling any of
 * it (its first characters, shown to every reader of holds and events, were half of an 8-character token).
 */
export function unnamedTokenLabel(token: string): string {
  return `token:${createHash('sha256').update(token).digest('hex').slice(0, 8)}`;
}

/**
 * Host names that reach this machine only: a DNS name cannot be made to mean them. `localhost.` is
 * the same name fully qualified (RFC 6761 keeps it on loopback too), as `curl http://localhost.:8080`
 * and browsers send it.
 */
function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === 'localhost.' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** Methods a browser sends across sites without asking first, and that change nothing here. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * With auth off every caller is an admin, and binding 127.0.0.1 is what keeps callers to this
 * machine. A browser on this machine is not only its user, though: any site it has open can send
 * requests to 127.0.0.1. So, with auth off:
 * - a request must name this machine in its Host (localhost, 127.x.x.x, [::1]): a site that points
 *   its own name at 127.0.0.1 (DNS rebinding) is same-origin with what it then reaches, so only the
 *   name it used gives it away;
 * - a write a browser sends from another origin is refused: a cross-site `fetch(..., { method:
 *   'POST', mode: 'no-cors' })` needs no preflight, and a POST without a body (terminate,
 *   approve, rollback) passes the media-type check. Clients that are not browsers send neither
 *   `Origin` nor `Sec-Fetch-Site`.
 * With tokens nothing is sent on a person's behalf (no cookie), so none of this applies.
 */
export function onlyThisMachineWhenAuthOff(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.get('services').config.apiTokens.length > 0) return next();
    const url = new URL(c.req.url);
    if (!isLoopbackHost(url.hostname)) {
      throw new HTTPException(403, {
        message: `Auth is off, so the deployer answers only requests addressed to localhost or 127.0.0.1 (this one named '${url.host}'); configure DEPLOYER_API_TOKENS to serve others`,
      });
    }
    if (!SAFE_METHODS.has(c.req.method)) {
      const site = c.req.header('sec-fetch-site');
      const origin = c.req.header('origin');
      // A page served with `Referrer-Policy: no-referrer` (the board's) has its own writes sent with
      // `Origin: null` (Fetch: "append a request Origin header"); Sec-Fetch-Site, which no script can
      // set, then says whether they came from this origin. A null origin without it (a sandboxed
      // frame, a data: URL, or a browser too old to say) is not taken as this one.
      const sameOriginNull = origin === 'null' && site === 'same-origin';
      if ((site !== undefined && site !== 'same-origin' && site !== 'none') || (origin !== undefined && origin !== url.origin && !sameOriginNull)) {
        throw new HTTPException(403, {
          message: `Auth is off, so the deployer refuses a ${c.req.method} that a browser sends from another origin (${origin ?? site})`,
        });
      }
    }
    return next();
  };
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
