/**
 * Reading submitted documents (cluster, environment and application configs): text -> value
 * (parseDocument) and value -> typed config (validateDocument). Both fail with errors that point
 * at the mistake: a line and column for text that does not parse, a path for a value that does
 * not validate.
 */
import { Composer, Lexer, Parser, YAMLParseError, isAlias, isMap, isScalar, isSeq, type Alias, type CST, type Document as YamlDocument, type Pair, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import type { z } from 'zod';
import { DomainError, ValidationError, formatPath, type FieldIssue } from './errors.ts';
import { reindentContinuations, type Reindented } from './documents-reindent.ts';
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
 * through, Postgres text and jsonb refuse them: a 500 where it was written); and a value that is not plain data (YAML's `!!binary`
 * makes a byte array, whose own properties were reported as unknown fields; other tags are read as
 * o5 reads them, parseYaml). Each issue has the path to where it is.
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
    if (value instanceof InexactInteger) {
      const message = `The integer ${value.written} is past what a JSON number holds exactly (±${Number.MAX_SAFE_INTEGER}): it would be read as ${value.nearest}; quote it for a string`;
      issues.push({ path: formatPath(path), message });
      continue;
    }
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
      const kind = value instanceof Uint8Array ? 'binary data (!!binary)' : 'not plain data';
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

/**
 * What libyaml's reader refuses anywhere in the text (readerc.go: "control characters are not
 * allowed"): C0 controls but tab, LF and CR, NUL among them (in a comment too: o5 refuses it where
 * it is never stored); DEL; C1 controls but NEL; U+FFFE and U+FFFF. An escaped NUL (`"\0"`) is
 * read, and refused by documentShapeIssues at its path.
 */
const NOT_YAML_1_1_PRINTABLE = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x84\x86-\x9F\uFFFE\uFFFF]/;

/**
 * The line breaks of YAML 1.1 that YAML 1.2, and so the yaml package, reads as text: NEL, LS, PS
 * and a CR without its LF (yamlprivateh.go is_break). libyaml ends a line at each (a comment ends
 * there and what follows is read as nodes; in double quotes a NEL is folded to a space), so a text
 * that holds one is refused with where, not read otherwise than o5 reads it.
 */
const YAML_1_1_ONLY_LINE_BREAK = /[\u0085\u2028\u2029]|\r(?!\n)/;

function lineBreakMessage(found: string): string {
  if (found === '\r') return 'a carriage return without a line feed, which o5 (YAML 1.1) reads as a line break and this reader does not: end lines with LF or CRLF';
  const [code, escape] = found === '\u0085' ? ['0085', 'N'] : found === '\u2028' ? ['2028', 'L'] : ['2029', 'P'];
  return `U+${code}, which o5 (YAML 1.1) reads as a line break and this reader does not: write \\${escape} in a double-quoted string, or break the line`;
}

/**
 * How deep the yaml package may be asked to nest. Its composer recurses for each level: some
 * hundreds of levels overflow the stack, and V8 can die of that overflow (a fatal "RegExpCompiler
 * Allocation failed" when it lands while a regular expression is compiled), taking the server down
 * with a 40 KB body of `- - - ...` or `[[[...`. Far above MAX_DOCUMENT_DEPTH, which is refused anyway.
 * Measured on the syntax tree before it is composed (yamlSyntaxTree).
 */
const MAX_YAML_NESTING = 256;

type CstToken = CST.Token;

/**
 * How many documents a YAML text holds, counted on its syntax tree (no recursion, so a deeply
 * nested text cannot take the process down as the yaml package's own composer can); 1 for a text
 * nested too deep, which parseDocument refuses with where.
 */
export function yamlDocumentCount(text: string): number {
  const tree = yamlSyntaxTree(text);
  return 'deepAt' in tree ? 1 : withoutTrailingEmptyDocuments(tree.tokens).filter((token) => token.type === 'document').length;
}

const isBlankToken = (token: CST.SourceToken) => token.type === 'space' || token.type === 'comment' || token.type === 'newline';

/**
 * The syntax tree without the empty documents that end it (a `---` or a `...` with nothing after
 * it but comments): go-yaml v2 reads the first document and stops there, so o5 reads a text that
 * ends in one as the document before it. A document that holds anything (`--- ~`, a tag, an
 * anchor) or follows a directive stays: several documents are refused (parseYaml).
 */
function withoutTrailingEmptyDocuments(tokens: CstToken[]): CstToken[] {
  const first = tokens.findIndex((token) => token.type === 'document');
  const second = tokens.findIndex((token, i) => i > first && token.type === 'document');
  if (first === -1 || second === -1) return tokens;
  const empty = (token: CstToken) => {
    if (isBlankToken(token as CST.SourceToken)) return true;
    if (token.type === 'doc-end') return (token.end ?? []).every(isBlankToken);
    if (token.type !== 'document') return false;
    return token.value === undefined && token.start.every((t) => t.type === 'doc-start' || isBlankToken(t)) && (token.end ?? []).every(isBlankToken);
  };
  return tokens.slice(first + 1).every(empty) ? tokens.slice(0, second) : tokens;
}

/**
 * The text as the yaml package's concrete syntax tree, or where it nests past MAX_YAML_NESTING.
 * Its lexer and parser keep their own stack (no recursion), so the depth is measured on what they
 * build, lexeme by lexeme, and the reading stops as soon as it goes too deep: a `[` or a `- ` in a
 * quoted string, a block scalar or a comment is part of one lexeme and opens nothing.
 */
function yamlSyntaxTree(text: string): { tokens: CstToken[] } | { deepAt: number } {
  const parser = new Parser();
  const tokens: CstToken[] = [];
  for (const lexeme of new Lexer().lex(text)) {
    for (const token of parser.next(lexeme)) tokens.push(token);
    // The stack holds the document, each collection open and at most the node being read.
    if (parser.stack.length > MAX_YAML_NESTING) return { deepAt: Math.min(parser.offset, text.length) };
  }
  for (const token of parser.end()) tokens.push(token);
  return { tokens };
}

/**
 * YAML is read as o5 reads it, in every document (not only application configs): o5 reads its
 * o5.yaml, its cluster files and its environment configs with one reader (pentops/o5-deploy-aws
 * internal/protoread/parse.go: sigs.k8s.io/yaml v1.6.0 YAMLToJSON, which decodes with
 * go.yaml.in/yaml/v2, a YAML 1.1 reader, then j5codec JSONToReflect), and our cluster and
 * environment documents are written in the shape of o5's. One dialect means a file means the same
 * thing whichever document it is; where YAML 1.1 reads a value otherwise than YAML 1.2 (`yes`,
 * `on`, `n` are booleans), a string field refuses it with its path (quote it) rather than reading
 * something else in silence. What the Go reader does, and so what this one does:
 *
 * - A plain scalar is resolved by go-yaml v2's resolve.go (goResolve below), not by YAML 1.2's core
 *   schema: `y Y yes Yes YES on On ON true True TRUE` are true, `n N no No NO off Off OFF false False
 *   FALSE` are false; integers are Go's strconv.ParseInt base 0 after dropping every `_` (`0755` is
 *   493, `0o17` 15, `0x1F` 31, `0b11` 3, `1_000` 1000); `1e3`, `.5` and `+.5` are floats; `1:30` is a
 *   string (no sexagesimal: go-yaml purposely left it out); `2001-12-14` is a string (a timestamp
 *   read into an untyped value stays the text written).
 * - `.inf`, `-.inf`, `.nan` are floats that JSON cannot hold: YAMLToJSON fails on them, so they are
 *   malformed (quoted, they are strings).
 * - An explicit tag resolves the same way (`!!int "12"` is 12, `!!float 1` is 1, `!!str yes` is
 *   "yes"; `!!int x` is malformed), `!!timestamp` keeps the text; a tag go-yaml does not resolve
 *   (`!foo`, `!!set`, `!!omap`, `!!map` on a scalar) is ignored, the value read as if untagged for a
 *   collection and as a string for a scalar. `!!binary` is the one refusal of ours: Go decodes it
 *   into a string of its bytes, mangling what is not UTF-8; we refuse it at its path (documentShapeIssues).
 * - A key that is not a string becomes the string sigs.k8s.io/yaml makes of it (`1: a` is "1",
 *   `0x1F: a` "31", `yes: a` "true", `1.5: a` "1.5", floats as Go's %g of a float32); a null key, an
 *   integer key past int64, a list or a mapping as a key are malformed, as they are for o5.
 * - `<<` merge keys are applied in document order, each one overwriting what the mapping already
 *   has (go-yaml v2 decodes the merged mapping into the same map): keys after `<<` win over the
 *   merged ones, keys before it lose; in a list of merged mappings the earlier ones win.
 * - An integer a JSON number cannot hold exactly (past ±(2^53 - 1), in any base, and digits past
 *   uint64, which Go reads as the nearest float) is refused at its path (InexactInteger): o5 would
 *   read the number written, we would read another.
 * - Double-quoted scalars are decoded as libyaml decodes them (decodeDoubleQuoted): `\'` is `'`;
 *   `\/` and an escaped UTF-16 surrogate (`\ud83d\ude00`; YAML writes `\U0001F600`) are errors.
 * - Only `%YAML 1.1` may be declared (`%YAML 1.2` is "found incompatible YAML document"); a control
 *   character anywhere in the text is an error of libyaml's reader. A line break of YAML 1.1 alone
 *   (NEL, LS, PS, a lone CR) is refused: libyaml breaks the line there, the yaml package does not.
 * - A quoted scalar or a flow collection reads to its closing quote or bracket however its lines
 *   are indented, tabs included, as libyaml reads it (the yaml package wants them indented past the
 *   block they are in: reindentContinuations); a document marker at column 0 inside one is an error.
 * - Empty documents at the end (a last `---` with nothing after it) are nothing: Go reads the first.
 *
 * Where o5 is laxer than us, we stay strict: a key repeated in a mapping (after conversion, so
 * `yes:` and `true:` are the same key) is malformed, where Go keeps the last; and a file of several
 * documents (that hold something) is malformed, where Go reads the first. Both are mistakes o5 hides.
 */
function parseYaml(text: string): unknown {
  const control = NOT_YAML_1_1_PRINTABLE.exec(text);
  if (control) {
    const { line, col } = lineAndColumn(text, control.index);
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    const advice = code === '0000' ? 'a NUL character, refused in a comment too' : 'write it as an escape in a double-quoted string';
    const message = `line ${line}, column ${col}: control characters are not allowed (U+${code}); ${advice}`;
    throw new DomainError('malformed', `Malformed YAML at ${message}`, [{ path: '', message }]);
  }
  const lineBreak = YAML_1_1_ONLY_LINE_BREAK.exec(text);
  if (lineBreak) {
    const { line, col } = lineAndColumn(text, lineBreak.index);
    const message = `line ${line}, column ${col}: ${lineBreakMessage(lineBreak[0])}`;
    throw new DomainError('malformed', `Malformed YAML at ${message}`, [{ path: '', message }]);
  }
  let source: Reindented = { text, originalOffset: (offset) => offset };
  let composed = composeYaml(source, text);
  if ('errors' in composed) {
    // Lines of a quoted scalar or a flow collection indented as libyaml takes them and the yaml
    // package does not: read again with them indented (what is wrong then is what o5 finds wrong).
    const reindented = reindentContinuations(text);
    if (reindented) {
      composed = composeYaml(reindented, text);
      source = reindented;
    }
  }
  if ('deepAt' in composed) {
    const { line, col } = lineAndColumn(text, source.originalOffset(composed.deepAt));
    const message = `line ${line}, column ${col}: Nested deeper than ${MAX_DOCUMENT_DEPTH} levels`;
    throw new DomainError('malformed', `Malformed YAML at ${message}`, [{ path: '', message }]);
  }
  if ('doc' in composed) return readAsO5(composed.doc, source, text);
  // Each once, and the first few: text the parser cannot follow can give hundreds alike.
  const messages = new Set<string>();
  for (const error of composed.errors) {
    if (messages.size === MAX_PARSE_ISSUES) break;
    const where = error.pos[0] >= 0 ? lineAndColumn(text, source.originalOffset(error.pos[0])) : undefined;
    messages.add(where ? `line ${where.line}, column ${where.col}: ${error.message}` : error.message);
  }
  const issues = [...messages].map((message) => ({ path: '', message }));
  throw new DomainError('malformed', `Malformed YAML at ${issues[0]!.message}`, issues);
}

/**
 * The one document of source.text (the text, or it reindented), as the yaml package composes it (a
 * document tree, not yet a value); or why not, at offsets into source.text.
 */
function composeYaml(source: Reindented, original: string): { doc: YamlDocument.Parsed } | { deepAt: number } | { errors: YAMLParseError[] } {
  const { text } = source;
  const tree = yamlSyntaxTree(text);
  if ('deepAt' in tree) return tree;
  // failsafe: every scalar is read as its text (and its tag and style kept), resolved below as
  // go-yaml v2 resolves it; no known tags (!!set, !!binary...), no merge keys, no key checks: all ours.
  const composer = new Composer({ schema: 'failsafe', resolveKnownTags: false, uniqueKeys: false, merge: false, version: '1.1' });
  let doc: YamlDocument.Parsed | undefined;
  for (const next of composer.compose(withoutTrailingEmptyDocuments(tree.tokens), true, text.length)) {
    if (doc) {
      doc.errors.push(new YAMLParseError([next.range[0], next.range[1]], 'MULTIPLE_DOCS', 'Source contains multiple documents; send one (o5 reads the first alone)'));
      break;
    }
    doc = next;
  }
  if (!doc) throw new Error('the yaml package composed no document'); // compose(..., true) always ends one
  // libyaml reads `\'` in double quotes as `'`; the yaml package refuses it. Double-quoted scalars
  // are decoded by the reader, as libyaml decodes them (decodeDoubleQuoted).
  const errors = doc.errors.filter((error) => !(error.code === 'BAD_DQ_ESCAPE' && text.startsWith("\\'", error.pos[0])));
  if (errors.length === 0) {
    // Columns as written: a line of a flow collection may have been reindented.
    const column = (offset: number) => {
      const at = source.originalOffset(offset);
      return at - (original.lastIndexOf('\n', at - 1) + 1);
    };
    errors.push(...libyamlOnlyErrors(tree.tokens, text, column));
  }
  return errors.length > 0 ? { errors } : { doc };
}

/** libyaml's limit on an implicit key (scannerc.go yaml_simple_key_is_valid): its `:` on its line, at most 1024 characters after its start. */
const MAX_IMPLICIT_KEY_LENGTH = 1024;

/**
 * What libyaml refuses and the yaml package reads, found on the syntax tree (walked without
 * recursion; `column` gives the column of an offset as written):
 * - an implicit key of a flow collection (from its anchor or tag, if any) whose `:` is on a later
 *   line (`{"a\n b": 1}`, `{a\n: 1}`) or more than 1024 characters after it: go-yaml v2 fails on
 *   it ("did not find expected ',' or '}'"); a key after `?` may be anything. Block mapping keys and
 *   the pairs of flow sequences are checked by the yaml package.
 * - a tag not followed by a blank or a line break (`{a: !x}`, `[!x, b]`): libyaml reads `,`, `[`
 *   and `]` as part of a tag (`!x,` is a tag of `b`) and refuses any other character after one; the
 *   yaml package ends a tag there. A `#` in a tag ends it for libyaml, not for the yaml package.
 * - in a flow collection, a tab on a line after a plain scalar (in it, or in the blanks after it),
 *   left of the column past the block collection holding the flow collection: "found a tab
 *   character that violates indentation" (scannerc.go yaml_parser_scan_plain_scalar).
 */
function libyamlOnlyErrors(tokens: CstToken[], text: string, column: (offset: number) => number): YAMLParseError[] {
  // Each token with libyaml's indentation where it is (parser.indent: the column of the innermost
  // block collection, -1 outside any), and whether it is in a flow collection.
  const pending: { token: CstToken | null | undefined; indent: number; inFlow: boolean }[] = tokens.map((token) => ({ token, indent: -1, inFlow: false }));
  const badTag = (list: CST.SourceToken[] | undefined) => list?.find((t) => t.type === 'tag' && (t.source.includes('#') || !/^[ \t\r\n]?$/.test(text.charAt(t.offset + t.source.length))));
  const tagError = (tag: CST.SourceToken) => new YAMLParseError([tag.offset, tag.offset + 1], 'TAG_RESOLVE_FAILED', `did not find expected whitespace or line break after the tag ${tag.source} (o5 reads a tag to the next blank: put one after it)`);
  while (pending.length > 0) {
    const { token, indent, inFlow } = pending.pop()!;
    if (!token) continue;
    if (token.type === 'document') {
      const tag = badTag(token.start);
      if (tag) return [tagError(tag)];
      pending.push({ token: token.value, indent, inFlow });
    } else if (token.type === 'block-scalar') {
      const tag = badTag(token.props as CST.SourceToken[]);
      if (tag) return [tagError(tag)];
    } else if (token.type === 'scalar' && inFlow) {
      const tab = tabBeforeIndent(text, token.offset, token.offset + token.source.length, indent, column);
      if (tab !== undefined) return [new YAMLParseError([tab, tab + 1], 'TAB_AS_INDENT', 'found a tab character that violates indentation (o5 refuses a tab this far left on a line that continues a plain scalar in a flow collection: indent with spaces)')];
    } else if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      // libyaml's indentation of a block collection: where its first entry starts, properties and indicators included.
      const first = token.items[0]?.start.find((t) => t.type !== 'space' && t.type !== 'newline' && t.type !== 'comment')?.offset;
      const inner = token.type === 'flow-collection' ? indent : column(Math.min(token.offset, first ?? token.offset));
      for (const item of token.items) {
        const tag = badTag(item.start) ?? badTag(item.sep);
        if (tag) return [tagError(tag)];
        const flow = inFlow || token.type === 'flow-collection';
        pending.push({ token: item.key, indent: inner, inFlow: flow }, { token: item.value, indent: inner, inFlow: flow });
        if (token.type !== 'flow-collection') continue;
        const colon = item.sep?.find((t) => t.type === 'map-value-ind');
        if (!colon || item.start.some((t) => t.type === 'explicit-key-ind')) continue;
        const start = item.start.find((t) => t.type === 'anchor' || t.type === 'tag')?.offset ?? item.key?.offset;
        if (start === undefined) continue;
        const between = text.slice(start, colon.offset);
        if (between.includes('\n')) {
          return [new YAMLParseError([start, start + 1], 'MULTILINE_IMPLICIT_KEY', 'Implicit keys of flow collections need to be on a single line, with their : (o5 refuses them; write ? before the key)')];
        }
        if (between.length > MAX_IMPLICIT_KEY_LENGTH && [...between].length > MAX_IMPLICIT_KEY_LENGTH) {
          return [new YAMLParseError([start, start + 1], 'KEY_OVER_1024_CHARS', 'The : indicator must be at most 1024 chars after the start of an implicit flow collection key (o5 refuses it; write ? before the key)')];
        }
      }
    }
  }
  return [];
}

/**
 * Where libyaml finds a tab that violates indentation in the plain scalar text[start, end) of a flow
 * collection: in a run of blanks and line breaks, after a line break, at a column left of indent + 1;
 * the runs are those inside the scalar and the one after it (up to what follows it, a comment too).
 */
function tabBeforeIndent(text: string, start: number, end: number, indent: number, column: (offset: number) => number): number | undefined {
  const inside = text.slice(start, end).indexOf('\n');
  let afterBreak = false;
  for (let i = inside === -1 ? end : start + inside; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') afterBreak = true;
    else if (c === '\t') {
      if (afterBreak && column(i) < indent + 1) return i;
    } else if (c !== ' ' && c !== '\r') {
      if (i >= end) return undefined;
      afterBreak = false;
    }
  }
  return undefined;
}

/** A document that parses but that o5's reader refuses: malformed, with where (when known) and why. */
class O5YamlError extends Error {
  constructor(
    readonly reason: string,
    readonly offset?: number,
  ) {
    super(reason);
  }
}

const MERGE_MESSAGE = 'A merge key (<<) takes a mapping, an alias of one, or a list of them';
const ALIAS_MESSAGE = 'Too many aliases: its anchors expand to more than a document can hold';

/** The document read from source.text (the text, or it reindented); where it is wrong is said in the text. */
function readAsO5(doc: YamlDocument, source: Reindented, text: string): unknown {
  try {
    const version = doc.directives?.yaml;
    if (version?.explicit) {
      const directive = /^%YAML[ \t]+([^\s#]*)/m.exec(source.text);
      if (!directive || directive[1] !== '1.1') throw new O5YamlError('found incompatible YAML document (o5 reads YAML 1.1: declare %YAML 1.1 or nothing)', directive?.index);
    }
    return new O5Reader(doc, source.text).value(doc.contents, 0);
  } catch (err) {
    if (!(err instanceof O5YamlError)) throw err;
    if (err.offset === undefined) throw new DomainError('malformed', `Malformed YAML: ${err.reason}`, [{ path: '', message: err.reason }]);
    const { line, col } = lineAndColumn(text, source.originalOffset(err.offset));
    const message = `line ${line}, column ${col}: ${err.reason}`;
    throw new DomainError('malformed', `Malformed YAML at ${message}`, [{ path: '', message }]);
  }
}

type YamlNode = Scalar | YAMLMap | YAMLSeq | Alias | Pair;

/** Past this depth a value is not read further: documentShapeIssues refuses it at its path anyway. */
const READ_DEPTH_LIMIT = MAX_DOCUMENT_DEPTH + 2;

/** Walks the parsed document as go-yaml v2 decodes into an untyped value and sigs.k8s.io/yaml turns that into JSON. */
class O5Reader {
  private decodeCount = 0;
  private aliasCount = 0;
  private aliasDepth = 0;
  private mergeDepth = 0;
  private readonly activeAliases = new Set<Alias>();
  /** Each double-quoted scalar's text, decoded once (an alias reads its anchor's node again). */
  private readonly decoded = new WeakMap<Scalar, string>();

  constructor(
    private readonly doc: YamlDocument,
    private readonly text: string,
  ) {}

  /** go-yaml v2's alias-bomb guard (decode.go unmarshal, allowedAliasRatio), counting as it counts. */
  private count(): void {
    this.decodeCount++;
    if (this.aliasDepth > 0) this.aliasCount++;
    if (this.aliasCount > 100 && this.decodeCount > 1000 && this.aliasCount / this.decodeCount > allowedAliasRatio(this.decodeCount)) {
      throw new O5YamlError(ALIAS_MESSAGE);
    }
  }

  /** The node an alias names, counted as an alias; a missing anchor or an alias inside its own anchor is refused. */
  private follow<T>(alias: Alias, read: (node: YamlNode | null) => T): T {
    if (this.activeAliases.has(alias)) throw new O5YamlError(`anchor '${alias.source}' value contains itself`, alias.range?.[0]);
    const target = alias.resolve(this.doc) as YamlNode | undefined;
    if (!target) throw new O5YamlError(`unknown anchor '${alias.source}' referenced`, alias.range?.[0]);
    this.activeAliases.add(alias);
    this.aliasDepth++;
    try {
      return read(target);
    } finally {
      this.aliasDepth--;
      this.activeAliases.delete(alias);
    }
  }

  value(node: YamlNode | null | undefined, depth: number): unknown {
    this.count();
    if (node === null || node === undefined) return null;
    if (depth > READ_DEPTH_LIMIT) return [];
    if (isAlias(node)) return this.follow(node, (target) => this.value(target, depth));
    if (isScalar(node)) return this.scalarValue(node);
    if (isMap(node)) {
      const out = new Map<string, unknown>();
      this.mapInto(node, out, depth);
      return Object.fromEntries(out);
    }
    if (isSeq(node)) return node.items.map((item) => this.value(item as YamlNode, depth + 1));
    throw new O5YamlError('not a YAML value', (node as { range?: number[] }).range?.[0]);
  }

  /** go-yaml v2 decode.go mapping(): keys in order, a merge key decoding its mapping(s) into the same map. */
  private mapInto(node: YAMLMap, out: Map<string, unknown>, depth: number): void {
    const own = new Set<string>();
    for (const pair of node.items) {
      const keyNode = pair.key as YamlNode | null;
      if (isMergeKey(keyNode)) {
        this.merge(pair.value as YamlNode | null, out, depth);
        continue;
      }
      this.count();
      const key = this.key(keyNode);
      const value = this.value(pair.value as YamlNode | null, depth + 1);
      if (own.has(key)) throw new O5YamlError('Map keys must be unique', nodeOffset(keyNode));
      own.add(key);
      out.set(key, value);
    }
  }

  private merge(node: YamlNode | null, out: Map<string, unknown>, depth: number): void {
    this.count();
    // A merged mapping that merges another, and so on: each link recurses, and the text does not nest.
    if (++this.mergeDepth > MAX_DOCUMENT_DEPTH) throw new O5YamlError(`Merge keys (<<) that merge mappings with merge keys, more than ${MAX_DOCUMENT_DEPTH} deep`, nodeOffset(node));
    try {
      this.mergeInto(node, out, depth);
    } finally {
      this.mergeDepth--;
    }
  }

  private mergeInto(node: YamlNode | null, out: Map<string, unknown>, depth: number): void {
    const intoOut = (target: YamlNode | null) => {
      if (!isMap(target)) throw new O5YamlError(MERGE_MESSAGE);
      this.count();
      this.mapInto(target, out, depth);
    };
    if (isMap(node)) return this.mapInto(node, out, depth);
    if (isAlias(node)) return this.follow(node, intoOut);
    if (isSeq(node)) {
      // Backwards, as go-yaml does: the earlier mappings of the list win.
      for (let i = node.items.length - 1; i >= 0; i--) {
        const item = node.items[i] as YamlNode | null;
        this.count();
        if (isAlias(item)) this.follow(item, intoOut);
        else intoOut(item);
      }
      return;
    }
    throw new O5YamlError(MERGE_MESSAGE);
  }

  /** A key as sigs.k8s.io/yaml's convertToJSONableObject makes it a JSON key. */
  private key(node: YamlNode | null): string {
    const keyNode = isAlias(node) ? this.follow(node, (target) => target) : node;
    if (keyNode === null || keyNode === undefined) throw new O5YamlError('A null key: o5 takes string, number and boolean keys only', nodeOffset(node));
    if (!isScalar(keyNode)) throw new O5YamlError('A mapping key must be a string, a number or a boolean, not a list or a mapping', nodeOffset(node));
    const resolved = this.resolveScalar(keyNode);
    switch (resolved.kind) {
      case 'str':
        return resolved.value;
      case 'bool':
        return String(resolved.value);
      case 'int':
        return resolved.value.toString();
      case 'float':
        return formatGoFloat32(resolved.value);
      case 'null':
        throw new O5YamlError('A null key: o5 takes string, number and boolean keys only', nodeOffset(node));
      case 'uint':
        throw new O5YamlError(`The key ${resolved.value} is past what o5 takes (a 64-bit signed integer)`, nodeOffset(node));
      case 'binary':
        throw new O5YamlError('A !!binary key: send the text itself', nodeOffset(node));
    }
  }

  private scalarValue(node: Scalar): unknown {
    const resolved = this.resolveScalar(node);
    switch (resolved.kind) {
      case 'str':
      case 'bool':
        return resolved.value;
      case 'null':
        return null;
      case 'int':
      case 'uint': {
        const value = Number(resolved.value);
        // Refused by documentShapeIssues at its path: o5 reads the integer exactly, a JSON number (a double) does not hold it.
        return Number.isSafeInteger(value) ? value : new InexactInteger(String(node.source ?? node.value), value);
      }
      case 'float':
        if (!Number.isFinite(resolved.value)) {
          throw new O5YamlError(`${String(node.source)} is not a number JSON can hold (o5 cannot read it); quote it for a string`, nodeOffset(node));
        }
        // Digits past uint64, which Go reads as the nearest float (`!!float` asks for that).
        if (node.tag !== FLOAT && !Number.isSafeInteger(resolved.value) && /^[-+]?[0-9]+$/.test(String(node.source).replace(/_/g, ''))) {
          return new InexactInteger(String(node.source), resolved.value);
        }
        return resolved.value;
      case 'binary':
        // Refused by documentShapeIssues at its path (binary data is not plain data).
        return new Uint8Array(Buffer.from(resolved.value.replace(/[\r\n]/g, ''), 'base64'));
    }
  }

  /** go-yaml v2 decode.go scalar(): a quoted or block scalar without a tag is a string, the rest is resolved. */
  private resolveScalar(node: Scalar): Resolved {
    const text = this.doubleQuoted(node) ?? String(node.source ?? node.value ?? '');
    const tag = node.tag;
    if (!tag && node.type !== 'PLAIN') return { kind: 'str', value: text };
    try {
      return goResolve(tag ?? '', text);
    } catch (err) {
      if (err instanceof GoResolveError) throw new O5YamlError(err.message, nodeOffset(node));
      throw err;
    }
  }

  /** A double-quoted scalar's text as libyaml reads it (decodeDoubleQuoted), once per node. */
  private doubleQuoted(node: Scalar): string | undefined {
    if (node.type !== 'QUOTE_DOUBLE' || !node.range) return undefined;
    let text = this.decoded.get(node);
    if (text === undefined) {
      try {
        text = decodeDoubleQuoted(this.text, node.range[0], node.range[1]);
      } catch (err) {
        if (err instanceof DoubleQuotedError) throw new O5YamlError(err.message, err.offset);
        throw err;
      }
      this.decoded.set(node, text);
    }
    return text;
  }
}

class DoubleQuotedError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** libyaml's simple escapes in double quotes (scannerc.go yaml_parser_scan_flow_scalar); `\x`, `\u`, `\U` take 2, 4, 8 hex digits. */
const DOUBLE_QUOTED_ESCAPES: Record<string, string> = {
  '0': '\0',
  a: '\x07',
  b: '\b',
  t: '\t',
  '\t': '\t',
  n: '\n',
  v: '\v',
  f: '\f',
  r: '\r',
  e: '\x1b',
  ' ': ' ',
  '"': '"',
  "'": "'",
  '\\': '\\',
  N: '\u0085',
  _: '\u00a0',
  L: '\u2028',
  P: '\u2029',
};
const HEX_ESCAPE_LENGTHS: Record<string, number> = { x: 2, u: 4, U: 8 };

/**
 * The double-quoted scalar text[start, end) (quotes included) decoded as libyaml decodes it, and
 * not as the yaml package does where they differ: libyaml reads `\'` as `'` (the yaml package
 * refuses it), refuses `\/` (a YAML 1.2 escape) and an escaped UTF-16 surrogate (`\ud83d`; YAML
 * writes `\U0001F600`), and keeps the empty lines after an escaped line break as line feeds (the
 * yaml package folds them to a space). Line folding as libyaml's: the blanks around a line break
 * dropped, one break a space, each further break a line feed. The text holds no line break but
 * LF and CRLF (YAML_1_1_ONLY_LINE_BREAK), and the yaml package has already refused what it refuses.
 */
function decodeDoubleQuoted(text: string, start: number, end: number): string {
  const isBlank = (c: string | undefined) => c === ' ' || c === '\t';
  const isBreak = (c: string | undefined) => c === '\n' || c === '\r';
  const breakLength = (at: number) => (text[at] === '\r' && text[at + 1] === '\n' ? 2 : 1);
  const last = end - 1; // the closing quote
  let out = '';
  let p = start + 1;
  while (p < last) {
    let leadingBlanks = false;
    while (p < last && !isBlank(text[p]) && !isBreak(text[p])) {
      const c = text[p]!;
      if (c !== '\\') {
        out += c;
        p++;
        continue;
      }
      const escape = text[p + 1]!;
      if (isBreak(escape)) {
        // An escaped line break: nothing, and the blanks after it dropped.
        p += 1 + breakLength(p + 1);
        leadingBlanks = true;
        break;
      }
      const simple = DOUBLE_QUOTED_ESCAPES[escape];
      if (simple !== undefined) {
        out += simple;
        p += 2;
        continue;
      }
      const length = HEX_ESCAPE_LENGTHS[escape];
      if (length === undefined) throw new DoubleQuotedError(`found unknown escape character \\${escape}${escape === '/' ? ' (YAML 1.1 has none; write / alone)' : ''}`, p);
      const digits = text.slice(p + 2, p + 2 + length);
      if (!/^[0-9a-fA-F]+$/.test(digits) || digits.length !== length) throw new DoubleQuotedError('did not find expected hexdecimal number', p);
      const code = parseInt(digits, 16);
      if ((code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) {
        throw new DoubleQuotedError('found invalid Unicode character escape code (a UTF-16 surrogate, or past U+10FFFF; write \\U and the code point)', p);
      }
      out += String.fromCodePoint(code);
      p += 2 + length;
    }
    // Blanks and line breaks, then what they fold to.
    let whitespace = '';
    let leadingBreak = false;
    let trailingBreaks = '';
    while (p < last && (isBlank(text[p]) || isBreak(text[p]))) {
      if (isBlank(text[p])) {
        if (!leadingBlanks) whitespace += text[p];
        p++;
        continue;
      }
      if (leadingBlanks) trailingBreaks += '\n';
      else {
        whitespace = '';
        leadingBreak = true;
        leadingBlanks = true;
      }
      p += breakLength(p);
    }
    if (!leadingBlanks) out += whitespace;
    else if (leadingBreak) out += trailingBreaks === '' ? ' ' : trailingBreaks;
    else out += trailingBreaks;
  }
  return out;
}

/**
 * An integer written in a YAML document that a JSON number cannot hold exactly (past 2^53 - 1):
 * o5 reads it as a 64-bit integer, or as the nearest float when it is past that too; we would read
 * a different number in silence. documentShapeIssues refuses it at its path.
 */
class InexactInteger {
  constructor(
    readonly written: string,
    readonly nearest: number,
  ) {}
}

function nodeOffset(node: YamlNode | null | undefined): number | undefined {
  return (node as { range?: [number, number, number] } | null | undefined)?.range?.[0];
}

/** go-yaml v2 decode.go isMerge: a plain `<<` (untagged or `!`), or one tagged !!merge. */
function isMergeKey(node: YamlNode | null): boolean {
  if (!isScalar(node) || node.source !== '<<') return false;
  if (node.tag === 'tag:yaml.org,2002:merge') return true;
  return node.type === 'PLAIN' && (!node.tag || node.tag === '!');
}

function allowedAliasRatio(decodeCount: number): number {
  const low = 400_000;
  const high = 4_000_000;
  if (decodeCount <= low) return 0.99;
  if (decodeCount >= high) return 0.1;
  return 0.99 - 0.89 * ((decodeCount - low) / (high - low));
}

type Resolved =
  | { kind: 'str'; value: string }
  | { kind: 'null' }
  | { kind: 'bool'; value: boolean }
  | { kind: 'int'; value: bigint }
  | { kind: 'uint'; value: bigint }
  | { kind: 'float'; value: number }
  | { kind: 'binary'; value: string };

class GoResolveError extends Error {}

const YAML_TAG = 'tag:yaml.org,2002:';
const [STR, BOOL, INT, FLOAT, NULL, TIMESTAMP, BINARY] = ['str', 'bool', 'int', 'float', 'null', 'timestamp', 'binary'].map((t) => YAML_TAG + t) as [string, string, string, string, string, string, string];
const RESOLVABLE_TAGS = new Set(['', STR, BOOL, INT, FLOAT, NULL, TIMESTAMP]);

/** go-yaml v2 resolve.go resolveMap: the words and symbols resolved as they are. */
const RESOLVE_MAP = new Map<string, Resolved>([
  ...['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON'].map((s) => [s, { kind: 'bool', value: true }] as const),
  ...['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF'].map((s) => [s, { kind: 'bool', value: false }] as const),
  ...['', '~', 'null', 'Null', 'NULL'].map((s) => [s, { kind: 'null' }] as const),
  ...['.nan', '.NaN', '.NAN'].map((s) => [s, { kind: 'float', value: NaN }] as const),
  ...['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF'].map((s) => [s, { kind: 'float', value: Infinity }] as const),
  ...['-.inf', '-.Inf', '-.INF'].map((s) => [s, { kind: 'float', value: -Infinity }] as const),
]);

/** go-yaml v2 resolve.go yamlStyleFloat. */
const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
/** What Go's strconv.ParseFloat takes of a text that starts with `.` (underscores only between digits). */
const DOT_FLOAT = /^\.[0-9](_?[0-9])*([eE][-+]?[0-9](_?[0-9])*)?$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** The kind resolve.go gives to what a scalar starts with (its resolveTable): 'S' sign, 'D' digit, 'M' a word of the map, '.'. */
function hintOf(text: string): string | undefined {
  if (text === '') return 'N';
  const c = text[0]!;
  if (c === '+' || c === '-') return 'S';
  if (c >= '0' && c <= '9') return 'D';
  if ('yYnNtTfFoO~'.includes(c)) return 'M';
  if (c === '.') return '.';
  return undefined;
}

/** go-yaml v2 resolve.go resolve(tag, in), for untyped decoding (a timestamp keeps its text). */
export function goResolve(tag: string, text: string): Resolved {
  if (!RESOLVABLE_TAGS.has(tag)) return tag === BINARY ? { kind: 'binary', value: text } : { kind: 'str', value: text };
  const { resolved, rtag } = resolveUntagged(tag, text);
  if (tag === '' || tag === rtag || tag === STR) return resolved;
  if (tag === FLOAT && resolved.kind === 'int') return { kind: 'float', value: Number(resolved.value) };
  throw new GoResolveError(`cannot decode ${shortTag(rtag)} \`${text}\` as a ${shortTag(tag)}`);
}

function shortTag(tag: string): string {
  return tag.startsWith(YAML_TAG) ? `!!${tag.slice(YAML_TAG.length)}` : tag;
}

function resolveUntagged(tag: string, text: string): { resolved: Resolved; rtag: string } {
  const asString = { resolved: { kind: 'str', value: text } as Resolved, rtag: STR };
  const hint = hintOf(text);
  if (hint === undefined || tag === STR) return asString;
  const known = RESOLVE_MAP.get(text);
  if (known) return { resolved: known, rtag: known.kind === 'bool' ? BOOL : known.kind === 'null' ? NULL : FLOAT };
  if (hint === '.') {
    if (DOT_FLOAT.test(text)) {
      const value = Number(text.replace(/_/g, ''));
      if (Number.isFinite(value)) return { resolved: { kind: 'float', value }, rtag: FLOAT };
    }
    return asString;
  }
  if (hint !== 'D' && hint !== 'S') return asString;
  if ((tag === '' || tag === TIMESTAMP) && isGoTimestamp(text)) return { resolved: { kind: 'str', value: text }, rtag: TIMESTAMP };
  const plain = text.replace(/_/g, '');
  const int = goParseIntBase0(plain);
  if (int !== undefined) {
    if (int >= INT64_MIN && int <= INT64_MAX) return { resolved: { kind: 'int', value: int }, rtag: INT };
    if (int > 0n && int <= UINT64_MAX && !/^[-+]/.test(plain)) return { resolved: { kind: 'uint', value: int }, rtag: INT };
  }
  if (YAML_STYLE_FLOAT.test(plain)) {
    const value = Number(plain);
    if (Number.isFinite(value)) return { resolved: { kind: 'float', value }, rtag: FLOAT };
  }
  return asString;
}

/** Go's strconv.ParseInt(s, 0, 64) syntax (without its range check): sign, then 0x, 0o, 0b, a leading 0 (octal) or decimal. */
function goParseIntBase0(s: string): bigint | undefined {
  const match = /^([-+]?)(?:0[xX]([0-9a-fA-F]+)|0[oO]([0-7]+)|0[bB]([01]+)|0([0-7]*)|([1-9][0-9]*))$/.exec(s);
  if (!match) return undefined;
  const [, sign, hex, octal, binary, legacyOctal, decimal] = match;
  const magnitude =
    hex !== undefined ? BigInt(`0x${hex}`) : octal !== undefined ? BigInt(`0o${octal}`) : binary !== undefined ? BigInt(`0b${binary}`) : decimal !== undefined ? BigInt(decimal) : legacyOctal ? BigInt(`0o${legacyOctal}`) : 0n;
  return sign === '-' ? -magnitude : magnitude;
}

/**
 * go-yaml v2 resolve.go parseTimestamp: time.Parse with "2006-1-2T15:4:5.999999999Z07:00" (T or t),
 * "2006-1-2 15:4:5.999999999" or "2006-1-2", fields in range.
 */
function isGoTimestamp(text: string): boolean {
  const match = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:([Tt ])(\d{1,2}):(\d{1,2}):(\d{1,2})(?:[.,]\d+)?(Z|[+-]\d{2}:\d{2})?)?$/.exec(text);
  if (!match) return false;
  const [, year, month, day, separator, hour, minute, second, zone] = match;
  if (separator !== undefined && (separator === ' ') === (zone !== undefined)) return false;
  const m = Number(month);
  const daysInMonth = new Date(Date.UTC(Number(year), m, 0)).getUTCDate();
  if (m < 1 || m > 12 || Number(day) < 1 || Number(day) > daysInMonth) return false;
  if (separator !== undefined && (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59)) return false;
  if (zone && zone !== 'Z' && (Number(zone.slice(1, 3)) > 23 || Number(zone.slice(4)) > 59)) return false;
  return true;
}

/** strconv.FormatFloat(float64(key), 'g', -1, 32), as sigs.k8s.io/yaml writes a float key (.inf, -.inf, .nan for the others). */
export function formatGoFloat32(value: number): string {
  if (Number.isNaN(value)) return '.nan';
  if (value === Infinity) return '.inf';
  if (value === -Infinity) return '-.inf';
  const f = Math.fround(value);
  if (!Number.isFinite(f)) return f > 0 ? '.inf' : '-.inf'; // past float32: FormatFloat gives ±Inf, which sigs.k8s.io/yaml writes so too
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  // The shortest digits that read back as the same float32.
  let digits = '';
  let exponent = 0;
  for (let precision = 1; precision <= 9; precision++) {
    const [mantissa, exp] = Math.abs(f).toExponential(precision - 1).split('e') as [string, string];
    if (Math.fround(Number(`${mantissa}e${exp}`)) === Math.abs(f)) {
      digits = mantissa.replace('.', '');
      exponent = Number(exp);
      break;
    }
  }
  const sign = f < 0 ? '-' : '';
  // Go's %g with the shortest digits (ftoa.go: eprec = 6): %e when the exponent is < -4 or >= 6.
  if (exponent < -4 || exponent >= 6) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exponent);
    return `${sign}${mantissa}e${exponent < 0 ? '-' : '+'}${e < 10 ? `0${e}` : e}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  if (digits.length <= exponent + 1) return `${sign}${digits}${'0'.repeat(exponent + 1 - digits.length)}`;
  return `${sign}${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    // The scan below recurses per level: text nested past MAX_YAML_NESTING (not a document anyway)
    // is refused where it goes that deep (20,000 `[` overflowed the stack: a 500).
    const deep = deepJsonOffset(text);
    if (deep !== undefined) {
      const { line, col } = lineAndColumn(text, deep);
      const message = `line ${line}, column ${col}: Nested deeper than ${MAX_DOCUMENT_DEPTH} levels`;
      throw new DomainError('malformed', `Malformed JSON at ${message}`, [{ path: '', message }]);
    }
    // V8 does not always say where the error is ("Unexpected token '}', ... is not valid JSON"),
    // so we find the offset ourselves and turn it into a line and column.
    const offset = findJsonErrorOffset(text);
    const { line, col } = lineAndColumn(text, offset);
    const reason = (err as Error).message.replace(/,? ".*" is not valid JSON$/s, '').replace(/ in JSON at position \d+.*$/s, '');
    const message = `line ${line}, column ${col}: ${reason}`;
    throw new DomainError('malformed', `Malformed JSON at ${message}`, [{ path: '', message }]);
  }
}

/** Where JSON text (valid or not) opens more than MAX_YAML_NESTING arrays and objects, counted without recursion. */
function deepJsonOffset(text: string): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === '[' || c === '{') {
      if (++depth > MAX_YAML_NESTING) return i;
    } else if (c === ']' || c === '}') depth--;
  }
  return undefined;
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
