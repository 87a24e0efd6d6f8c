/**
 * Reading submitted documents (cluster, environment and application configs): text -> value
 * (parseDocument) and value -> typed config (validateDocument). Both fail with errors that point
 * at the mistake: a line and column for text that does not parse, a path for a value that does
 * not validate.
 */
import { parseDocument as parseYamlDocument } from 'yaml';
import type { z } from 'zod';
import { DomainError, ValidationError, formatPath, type FieldIssue } from './errors.ts';
import { closestName, objectShape, schemaAt } from './schema-shape.ts';

export type DocumentFormat = 'yaml' | 'json';

/**
 * Parses YAML or JSON text into a plain value. Throws DomainError('malformed') whose message says
 * where the text went wrong (`line 3, column 5`); every problem found is also an issue with path ''.
 * A value no document may hold (documentShapeIssues) is a ValidationError at its path.
 */
export function parseDocument(text: string, format: DocumentFormat): unknown {
  const value = format === 'json' ? parseJson(text) : parseYaml(text);
  const shape = documentShapeIssues(value);
  if (shape.length > 0) throw new ValidationError(`Invalid document: ${describeIssues(shape)}`, shape);
  return value;
}

/**
 * How deep a document may nest. Configs nest a dozen levels; a body of 100,000 `[` (well under the
 * size limit) overflowed the stack of the recursive readers after the parser (a 500).
 */
const MAX_DOCUMENT_DEPTH = 64;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why Postgres could not store this text, if it could not. */
function unstorableText(text: string): string | undefined {
  if (text.includes('\0')) return 'Holds a NUL character (\\u0000), which cannot be stored';
  if (LONE_SURROGATE.test(text)) return 'Holds a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape), which is not text and cannot be stored';
  return undefined;
}

/**
 * What no document may hold, found without recursion: nesting past MAX_DOCUMENT_DEPTH; a NUL
 * character or a lone UTF-16 surrogate in a key or string (JSON lets `"\u0000"` and `"\ud800"`
 * through, Postgres text and jsonb refuse them: a 500 where it was written); and a value that is not plain data (YAML tags such as `!!binary`,
 * `!!set`, `!!timestamp` make byte arrays, sets and dates, whose own properties were reported as
 * unknown fields). Each issue has the path to where it is.
 */
export function documentShapeIssues(document: unknown): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const pending: { value: unknown; path: PropertyKey[] }[] = [{ value: document, path: [] }];
  while (pending.length > 0 && issues.length < 20) {
    const { value, path } = pending.pop()!;
    if (typeof value === 'string') {
      const wrong = unstorableText(value);
      if (wrong) issues.push({ path: formatPath(path), message: wrong });
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (path.length >= MAX_DOCUMENT_DEPTH) {
      issues.push({ path: formatPath(path), message: `Nested deeper than ${MAX_DOCUMENT_DEPTH} levels` });
      continue;
    }
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) pending.push({ value: value[i], path: [...path, i] });
      continue;
    }
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
      const kind = value instanceof Uint8Array ? 'binary data (!!binary)' : value instanceof Set ? 'a set (!!set)' : value instanceof Map ? 'an ordered map (!!omap, !!pairs)' : value instanceof Date ? 'a timestamp (!!timestamp)' : 'not plain data';
      issues.push({ path: formatPath(path), message: `Is ${kind}: send maps, lists, strings, numbers and booleans` });
      continue;
    }
    const entries = Object.entries(value);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, item] = entries[i]!;
      const wrong = unstorableText(key);
      if (wrong) issues.push({ path: formatPath([...path, key]), message: wrong });
      else pending.push({ value: item, path: [...path, key] });
    }
  }
  return issues;
}

/** The media types YAML goes by; a route that takes YAML declares each (server/api/body.ts `documentContent`). */
export const YAML_MEDIA_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'] as const;

/**
 * Maps a Content-Type header to a document format: JSON types (`application/json`, `...+json`)
 * to 'json'; the YAML types (YAML_MEDIA_TYPES) to 'yaml'. Anything else (or no header; `text/plain`
 * is not a document type) gives null, so the caller can answer 415 or pick a default.
 */
export function detectFormat(contentType: string | null | undefined): DocumentFormat | null {
  if (!contentType) return null;
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  if (mediaType === 'application/json' || mediaType.endsWith('+json')) return 'json';
  if ((YAML_MEDIA_TYPES as readonly string[]).includes(mediaType)) return 'yaml';
  return null;
}

/**
 * Checks a parsed value against a schema and returns the typed result. Throws ValidationError
 * listing every problem, each with the path into the document (`aws.rdsHosts[1].auth`).
 * `what` names the document in the error message ("cluster config").
 */
export function validateDocument<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value, { error: friendlierMessage });
  if (result.success) return result.data;
  const issues = result.error.issues.flatMap((issue) => toFieldIssues(issue, schema));
  throw new ValidationError(`Invalid ${what}: ${describeIssues(issues)}`, issues);
}


/** Turns a list of issues into one readable sentence for the error message. */
export function describeIssues(issues: FieldIssue[]): string {
  const shown = issues.slice(0, 3).map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  return shown.join('; ') + more;
}

/** The issues of a failed zod parse as FieldIssues, formatted the same way validateDocument does. */
export function fieldIssuesOf(error: z.ZodError, schema?: z.ZodType): FieldIssue[] {
  return error.issues.flatMap((issue) => toFieldIssues(issue, schema));
}

// zod reports a missing field as "expected string, received undefined"; users read "Required".
function friendlierMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'Required';
  return undefined;
}

// An unknown key is reported by zod on its parent object; we report it on the key itself so the
// path points at the line to fix, with the field it was probably meant to be.
function toFieldIssues(issue: z.core.$ZodIssue, schema: z.ZodType | undefined): FieldIssue[] {
  if (issue.code === 'unrecognized_keys') {
    const parent = schema ? schemaAt(schema, issue.path) : undefined;
    const fields = parent ? Object.keys(objectShape(parent) ?? {}) : [];
    // Without the schema at hand (a route's request body), an object that explains its unknown
    // keys itself has put one message per key in the issue (server/domain/application/schema-helpers.ts).
    const ownMessages = issue.message.split('\n');
    const explained = ownMessages.length === issue.keys.length && ownMessages.every((m) => m.startsWith('Unknown field'));
    return issue.keys.map((key, i) => ({
      path: formatPath([...issue.path, key]),
      message: fields.length === 0 && explained ? ownMessages[i]! : unknownFieldMessage(key, fields),
    }));
  }
  return [{ path: formatPath(issue.path), message: issue.message }];
}

/** What is said of an unknown key: the field it was probably meant to be, or the fields there are. */
export function unknownFieldMessage(key: string, fields: string[]): string {
  if (fields.length === 0) return 'Unknown field';
  const meant = closestName(key, fields);
  if (meant) return `Unknown field "${key}"; did you mean "${meant}"?`;
  return `Unknown field "${key}"; the fields here are: ${fields.join(', ')}`;
}

/** How many of a text's parse errors are reported (the first ones; the rest mostly follow from them). */
const MAX_PARSE_ISSUES = 10;

function parseYaml(text: string): unknown {
  // merge: `<<: *anchor` keys merge the mapping they name (YAML 1.1), as the Go YAML readers of o5 do.
  const doc = parseYamlDocument(text, { merge: true });
  if (doc.errors.length === 0) return yamlToJs(doc);
  const messages = doc.errors.map((error) => {
    const where = error.linePos?.[0];
    // The yaml package appends " at line L, column C:" and a code excerpt; keep only the reason.
    const reason = error.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '');
    return where ? `line ${where.line}, column ${where.col}: ${reason}` : reason;
  });
  // Each once, and the first few: text nested past what the parser can follow gave hundreds alike.
  const issues = [...new Set(messages)].slice(0, MAX_PARSE_ISSUES).map((message) => ({ path: '', message }));
  throw new DomainError('malformed', `Malformed YAML at ${issues[0]!.message}`, issues);
}

/**
 * The document's value. The yaml package refuses one whose aliases expand past its limit (an alias
 * bomb: a few lines that would expand to gigabytes) with a ReferenceError: a malformed document,
 * not a failure of ours.
 */
function yamlToJs(doc: ReturnType<typeof parseYamlDocument>): unknown {
  try {
    return doc.toJS();
  } catch (err) {
    // With merge keys on, `<<: 1` (or `<<:` an alias of a list) fails here with a plain Error: the
    // Go readers refuse it too ("map merge requires map or sequence of maps"), a malformed document.
    if (err instanceof Error && /^Merge sources must be maps/.test(err.message)) {
      const message = 'A merge key (<<) takes a mapping, an alias of one, or a list of them';
      throw new DomainError('malformed', `Malformed YAML: ${message}`, [{ path: '', message }]);
    }
    if (!(err instanceof ReferenceError) || !/alias count/i.test(err.message)) throw err;
    const message = 'Too many aliases: its anchors expand to more than a document can hold';
    throw new DomainError('malformed', `Malformed YAML: ${message}`, [{ path: '', message }]);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    // V8 does not always say where the error is ("Unexpected token '}', ... is not valid JSON"),
    // so we find the offset ourselves and turn it into a line and column.
    const offset = findJsonErrorOffset(text);
    const { line, col } = lineAndColumn(text, offset);
    const reason = (err as Error).message.replace(/,? ".*" is not valid JSON$/s, '').replace(/ in JSON at position \d+.*$/s, '');
    const message = `line ${line}, column ${col}: ${reason}`;
    throw new DomainError('malformed', `Malformed JSON at ${message}`, [{ path: '', message }]);
  }
}

function lineAndColumn(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const col = offset - before.lastIndexOf('\n');
  return { line, col };
}

/**
 * Offset of the first syntax error in JSON text, by a small recursive-descent scan of the grammar
 * (values are not built). Only called once JSON.parse has already failed.
 */
export function findJsonErrorOffset(text: string): number {
  let i = 0;
  class Stop {
    constructor(readonly at: number) {}
  }
  const fail = (): never => {
    throw new Stop(i);
  };
  const skipSpace = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const literal = (word: string) => {
    for (const ch of word) {
      if (text[i] !== ch) fail();
      i++;
    }
  };
  const string = () => {
    if (text[i] !== '"') fail();
    i++;
    while (i < text.length && text[i] !== '"') {
      const ch = text[i]!;
      if (ch < ' ') fail();
      if (ch === '\\') {
        i++;
        if (text[i] === 'u') {
          for (let k = 0; k < 4; k++) {
            i++;
            if (!/[0-9a-fA-F]/.test(text[i] ?? '')) fail();
          }
        } else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) fail();
      }
      i++;
    }
    if (text[i] !== '"') fail();
    i++;
  };
  const number = () => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!match) fail();
    i += match![0].length;
  };
  const value = (): void => {
    skipSpace();
    const ch = text[i];
    if (ch === '{') {
      i++;
      skipSpace();
      if (text[i] === '}') return void i++;
      for (;;) {
        skipSpace();
        string();
        skipSpace();
        if (text[i] !== ':') fail();
        i++;
        value();
        skipSpace();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void i++;
        else fail();
      }
    }
    if (ch === '[') {
      i++;
      skipSpace();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        skipSpace();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void i++;
        else fail();
      }
    }
    if (ch === '"') return string();
    if (ch === 't') return literal('true');
    if (ch === 'f') return literal('false');
    if (ch === 'n') return literal('null');
    return number();
  };
  try {
    value();
    skipSpace();
    if (i < text.length) fail();
    return text.length;
  } catch (e) {
    if (e instanceof Stop) return Math.min(e.at, text.length);
    throw e;
  }
}
