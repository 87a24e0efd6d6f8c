/**
 * The one error shape: application/problem+json (RFC 9457). Validation problems list
 * `{ path, message }` with the path into the submitted document.
 */
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { fieldIssuesOf } from '../domain/documents.ts';
import { DomainError, ValidationError, type DomainErrorKind, type FieldIssue } from '../domain/errors.ts';

export const problemSchema = z
  .object({
    type: z.string().openapi({ example: 'https://deployer.dev/problems/validation' }),
    title: z.string().openapi({ example: 'Invalid request' }),
    status: z.number().int().openapi({ example: 400 }),
    detail: z.string().optional().openapi({ example: 'runtimes[0].routes[1].protocol: Required' }),
    instance: z.string().optional(),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .openapi({ description: 'For validation problems: each mistake with its path into the submitted document.' }),
  })
  .openapi('Problem');

export type Problem = z.infer<typeof problemSchema>;

const PROBLEM_BASE = 'https://deployer.dev/problems/';

// One title per type (RFC 9457): a validation problem is 'Invalid request' whether what was wrong is a
// document, a query or a path (it was 'Invalid document' from some routes and 'Invalid request' from
// others, for the same type).
const KINDS: Record<DomainErrorKind, { status: number; title: string }> = {
  validation: { status: 400, title: 'Invalid request' },
  malformed: { status: 400, title: 'Malformed document' },
  not_found: { status: 404, title: 'Not found' },
  conflict: { status: 409, title: 'Conflict' },
  invalid_transition: { status: 409, title: 'Not allowed in the current state' },
  gone: { status: 410, title: 'Gone' },
  unprocessable: { status: 422, title: 'Cannot be carried out' },
};

export function problem(status: number, type: string, title: string, detail?: string, errors?: FieldIssue[]): Problem {
  return { type: PROBLEM_BASE + type, title, status, ...(detail ? { detail } : {}), ...(errors?.length ? { errors } : {}) };
}

export function problemResponse(c: Context, p: Problem): Response {
  return c.body(JSON.stringify(p), p.status as 400, { 'content-type': 'application/problem+json' });
}

/** Maps anything thrown by a handler to a problem. Unknown errors are 500 and logged by the caller. */
export function problemOf(err: unknown): Problem {
  if (err instanceof DomainError) {
    const kind = KINDS[err.kind];
    return problem(kind.status, err.kind.replace('_', '-'), kind.title, err.message, err.issues);
  }
  if (err instanceof HTTPException) {
    const status = err.status;
    if (status === 400) return problem(400, 'bad-request', 'Bad request', err.message);
    if (status === 413) return problem(413, 'too-large', 'Request body too large', err.message);
    if (status === 401) return problem(401, 'unauthorized', 'Unauthorized', err.message);
    if (status === 403) return problem(403, 'forbidden', 'Forbidden', err.message);
    if (status === 406) return problem(406, 'not-acceptable', 'Not acceptable', err.message);
    if (status === 415) return problem(415, 'unsupported-media-type', 'Unsupported media type', err.message);
    return problem(status, 'http', err.message || 'Error');
  }
  return problem(500, 'internal', 'Internal server error', 'The deployer failed; the error is in its log.');
}

/** What a route's request validator (params, query, JSON body) found wrong, as the validation error. */
export function requestValidationError(error: unknown): ValidationError {
  const errors = fieldIssuesOf(error as never);
  const detail = errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).slice(0, 3).join('; ');
  return new ValidationError(detail, errors);
}

/**
 * What a route's request validator answers when the request does not validate: the validation
 * problem, with paths into what was sent. The app's default hook.
 */
export function validationHook(result: { success: boolean; error?: unknown }, c: Context): Response | undefined {
  return result.success ? undefined : problemResponse(c, problemOf(requestValidationError(result.error)));
}

/** Documented error responses, so every operation lists what it may answer. */
export function errorResponses(...statuses: number[]) {
  const descriptions: Record<number, string> = {
    400: 'The request or document is invalid (problem+json, `errors` lists each path).',
    401: 'Missing or unknown bearer token.',
    403: 'The token lacks the scope this operation needs.',
    404: 'Not found.',
    409: 'Conflicts with the current state.',
    410: 'It existed and has ended (problem+json: when, and how).',
    413: 'Request body over 1 MiB.',
    406: 'The route answers only the media type it names (for an event stream, `Accept: text/event-stream`).',
    415: 'Unsupported content type.',
    422: 'Valid, but cannot be carried out.',
    500: 'The deployer failed.',
  };
  return Object.fromEntries(
    statuses.map((s) => [s, { description: descriptions[s]!, content: { 'application/problem+json': { schema: problemSchema } } }]),
  );
}
