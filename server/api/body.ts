/**
 * Request bodies: a 1 MiB limit (413, counted as the body arrives, so a chunked body without a
 * Content-Length is cut off there too), and documents in YAML or JSON. JSON that does not parse is
 * answered with its line and column here, before the route's validator sees it; YAML is parsed
 * here and validated by the route with the same schema and the same error paths.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { z } from 'zod';
import { detectFormat, parseDocument, validateDocument, YAML_MEDIA_TYPES } from '../domain/documents.ts';
import type { AppEnv } from './context.ts';
import { requestValidationError } from './problem.ts';

export const MAX_BODY_BYTES = 1024 * 1024;

const tooLarge = () => new HTTPException(413, { message: `The body is over ${MAX_BODY_BYTES} bytes` });

/** Methods whose requests carry a body the routes read. */
const WRITES = new Set(['POST', 'PUT', 'PATCH']);

/**
 * Stops reading a body at MAX_BODY_BYTES: a declared Content-Length over it is refused before any
 * byte is read. A read that declares no body (neither Content-Length nor Transfer-Encoding: every
 * GET of a client) passes untouched: hono's limit asks the request for its body stream, which makes
 * @hono/node-server build a whole Fetch Request (abort signal, headers, stream) that such a request
 * never needs, and that was a good part of a read's CPU.
 */
export function limitBodies(): MiddlewareHandler<AppEnv> {
  const limit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw tooLarge();
    },
  });
  const declaresBody = (c: Context) => WRITES.has(c.req.method) || c.req.header('content-length') !== undefined || c.req.header('transfer-encoding') !== undefined;
  return (c, next) => (declaresBody(c) ? limit(c, next) : next());
}

/** Parses the body of a write (after limitBodies): YAML here, JSON that does not parse answered here. */
export function readBodies(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!WRITES.has(c.req.method)) return next();
    // Reading the text caches it, so the route's own JSON validator reads the same bytes later.
    const text = await c.req.text();
    const contentType = c.req.header('content-type');
    const format = detectFormat(contentType);
    if (text.trim() === '') {
      // No document: the route sees an empty one, so an optional body is absent and a required one
      // names each field it lacks (JSON's validator would answer "Malformed JSON", with no path).
      // hono keeps each body it read as a promise (its BodyCache type says the value).
      if (format === 'json') c.req.bodyCache.text = Promise.resolve('{}') as unknown as string;
      if (format === 'yaml') c.set('yamlBody', {});
      return next();
    }
    if (format === null) throw unsupportedMediaType(contentType);
    // What no document may hold (NULs, lone surrogates, nesting past a limit) is refused by parseDocument.
    const value = parseDocument(text, format);
    if (format === 'yaml') c.set('yamlBody', value);
    return next();
  };
}

/** 415 for a body of a type the deployer does not read, or that the operation does not take. */
export function unsupportedMediaType(contentType: string | undefined): HTTPException {
  return new HTTPException(415, {
    message: `Send application/json (or application/yaml where the operation takes YAML: its requestBody in /openapi.json says); got '${contentType ?? 'none'}'`,
  });
}

/** The refusal of @hono/zod-openapi's media-type gate, which does not say what was sent. */
export function isMediaTypeGate(err: unknown): boolean {
  return err instanceof HTTPException && err.status === 415 && err.message === 'Unsupported Media Type';
}

/** The request content of a route that takes a document as JSON or as YAML (under each of YAML's media types). */
export function documentContent<S>(schema: S): { 'application/json': { schema: S } } & Record<(typeof YAML_MEDIA_TYPES)[number], { schema: S }> {
  const yaml = Object.fromEntries(YAML_MEDIA_TYPES.map((type) => [type, { schema }])) as Record<(typeof YAML_MEDIA_TYPES)[number], { schema: S }>;
  return { 'application/json': { schema }, ...yaml };
}

/**
 * The body of a route that takes YAML or JSON: JSON was validated by the route (c.req.valid),
 * YAML is validated here against the same schema.
 */
export function documentBody<T>(c: { get(key: 'yamlBody'): unknown; req: { valid(target: 'json'): unknown } }, schema: z.ZodType<T>, what: string): T {
  const yaml = c.get('yamlBody');
  if (yaml !== undefined) return validateDocument(schema, yaml, what);
  return c.req.valid('json') as T;
}

/**
 * The request validator's hook of a route that takes a document (documentContent): a JSON document
 * that does not validate fails as the same document in YAML does (validateDocument: "Invalid
 * cluster document: ...", an unknown field with the fields there are or the one probably meant),
 * so that the answer does not depend on the format it was sent in. Params and query as every route.
 */
export function documentHook(schema: z.ZodType, what: string) {
  return (result: { success: boolean; error?: unknown; data?: unknown; target?: unknown }): undefined => {
    if (result.success) return undefined;
    if (result.target === 'json') validateDocument(schema, result.data, what);
    throw requestValidationError(result.error);
  };
}
