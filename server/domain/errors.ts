/**
 * Errors the domain raises. They carry a kind, not an HTTP status: the API layer maps each kind to
 * one problem+json response (server/api/problem.ts), so the rules stay free of HTTP.
 */

/** One thing wrong with a submitted document, with the path into it: `runtimes[0].routes[1].protocol`. */
export interface FieldIssue {
  path: string;
  message: string;
}

export type DomainErrorKind =
  | 'validation' // the submitted document is wrong (400)
  | 'malformed' // the document could not even be parsed (400)
  | 'not_found' // a referenced entity does not exist (404)
  | 'conflict' // the request clashes with what is stored (409)
  | 'invalid_transition' // the entity's state machine has no such transition (409)
  | 'gone' // it existed and has ended for good (410), e.g. a hold that expired or was lifted
  | 'unprocessable'; // well-formed, but cannot be carried out (422), e.g. a plan that cannot be built

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export class ValidationError extends DomainError {
  constructor(message: string, issues: FieldIssue[]) {
    super('validation', message, issues);
    this.name = 'ValidationError';
  }
}

export class NotFoundError extends DomainError {
  constructor(message: string) {
    super('not_found', message);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends DomainError {
  constructor(message: string) {
    super('conflict', message);
    this.name = 'ConflictError';
  }
}

export class GoneError extends DomainError {
  constructor(message: string) {
    super('gone', message);
    this.name = 'GoneError';
  }
}

/** Joins a path of keys and indexes the way users read it: `aws.rdsHosts[1].auth`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}
