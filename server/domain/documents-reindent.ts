/**
 * Where libyaml (o5's go-yaml v2) and the yaml package (ours) disagree on layout: libyaml reads a
 * quoted scalar or a flow collection to its closing quote or bracket whatever the indentation of
 * the lines in between (a document marker at column 0 aside), the yaml package requires those lines
 * to be indented past the block they are in, and counts only spaces as indentation:
 *
 *     a:
 *       b: "x          o5: {a: {b: "x y"}}; the yaml package: Missing closing "quote
 *       y"
 *     list: [1,        o5: {list: [1, 2]}; the yaml package: Flow sequence in block collection
 *     	2]               must be sufficiently indented
 *
 * (and a comment at column 0 after a value in a flow mapping is "not separated from" the value).
 * reindentContinuations gives the text with spaces put at the start of such lines, so that the yaml
 * package reads what libyaml reads; the spaces only ever go before the first character of a line
 * inside a quoted scalar or a flow collection (checked on the text reindented, soundlyPlaced), where
 * leading blanks are nothing (a line break in a quoted scalar drops the blanks after it; between the
 * items of a flow collection blanks are nothing; a plain scalar continued on a line drops its leading
 * blanks), as in YAML 1.1 and 1.2. What libyaml refuses there is refused all the same: a document
 * marker at column 0 (constructEnd), a tab left of the block after a plain scalar (the reader,
 * documents.ts libyamlOnlyErrors, at its column as written).
 */
import { CST, Lexer } from 'yaml';

export interface Reindented {
  /** The text, with spaces added at the start of some lines. */
  text: string;
  /** Where an offset into `text` is in the text given (the start of its line, for an added space). */
  originalOffset(offset: number): number;
}

/**
 * What the reindenting may lex in all, in characters (each construct reindented lexes the text to
 * it again), and how long the reindented text may get: a few passes over a 1 MiB body (under a
 * second of CPU for a body that cannot be read anyway), hundreds over a config.
 */
const LEX_BUDGET = 4_000_000;

interface Insertion {
  /** Offset of the first added space, in the reindented text. */
  at: number;
  count: number;
}

type LexemeType = CST.TokenType | 'scalar-text' | null;

interface Lexeme {
  source: string;
  start: number;
  end: number;
  /** The lexer's token type; 'scalar-text' for the text of a plain or block scalar (after the lexer's SCALAR mark), whatever it starts with. */
  type: LexemeType;
}

function* lexemes(text: string): Generator<Lexeme> {
  let offset = 0;
  let scalarText = false;
  for (const source of new Lexer().lex(text)) {
    // The lexer's control lexemes stand for no text (the reader refused the control characters they are).
    if (source === CST.SCALAR) {
      scalarText = true;
      continue;
    }
    const start = offset;
    if (source !== CST.DOCUMENT && source !== CST.FLOW_END) offset += source.length;
    yield { source, start, end: offset, type: scalarText ? 'scalar-text' : CST.tokenType(source) };
    scalarText = false;
  }
}

const isQuoted = (type: LexemeType) => type === 'double-quoted-scalar' || type === 'single-quoted-scalar';
const isFlowStart = (type: LexemeType) => type === 'flow-seq-start' || type === 'flow-map-start';
const isFlowEnd = (type: LexemeType) => type === 'flow-seq-end' || type === 'flow-map-end';

/** Whether a quoted-scalar lexeme ends with its closing quote (and was not cut at a line by the lexer). */
function isClosed(source: string): boolean {
  const quote = source[0]!;
  if (source.length < 2 || source[source.length - 1] !== quote) return false;
  // Before a closing double quote, an even run of backslashes; a closing single quote ends an odd run of quotes (`''` is a quote).
  if (quote === '"') {
    let backslashes = 0;
    for (let i = source.length - 2; i >= 1 && source[i] === '\\'; i--) backslashes++;
    return backslashes % 2 === 0;
  }
  let quotes = 0;
  for (let i = source.length - 1; i >= 1 && source[i] === "'"; i--) quotes++;
  return quotes % 2 === 1;
}

/**
 * Where the first quoted scalar or flow collection that the lexer cuts short (or finds a comment at
 * column 0 in) starts, the outermost flow collection holding it if any; and how far the lexer read.
 */
function firstCut(text: string): { cutAt?: number; read: number } {
  let depth = 0;
  let flowStart = -1;
  for (const lexeme of lexemes(text)) {
    const { type } = lexeme;
    if (isFlowStart(type)) {
      if (depth++ === 0) flowStart = lexeme.start;
    } else if (isFlowEnd(type)) {
      if (depth > 0) depth--;
    } else if (type === 'flow-error-end' || (isQuoted(type) && !isClosed(lexeme.source))) {
      return { cutAt: depth > 0 ? flowStart : lexeme.start, read: lexeme.end };
    } else if (type === 'comment' && depth > 0 && (lexeme.start === 0 || text[lexeme.start - 1] === '\n')) {
      // A comment at column 0 in a flow collection: after a value of a flow mapping the yaml package
      // takes it for one not separated from the value ("Comments must be separated ...").
      return { cutAt: flowStart, read: lexeme.end };
    }
  }
  return { read: text.length };
}

/**
 * Where the quoted scalar or flow collection at text[start] ends, as libyaml reads it: a fresh lexer
 * from there has no block to be indented past (no indentation is required of its lines), and cuts
 * it at a document marker at column 0, which libyaml refuses there. Undefined if it does not end.
 */
function constructEnd(text: string, start: number): number | undefined {
  let depth = 0;
  for (const { type, source, end } of lexemes(text.slice(start))) {
    if (type === 'doc-mode') continue;
    if (isQuoted(type)) {
      if (!isClosed(source)) return undefined;
      if (depth === 0) return start + end;
    } else if (isFlowStart(type)) depth++;
    else if (isFlowEnd(type)) {
      if (--depth === 0) return start + end;
    } else if (depth === 0 || type === 'flow-error-end') return undefined;
  }
  return undefined;
}

/** A line that is a document marker: libyaml refuses it inside a quoted scalar or a flow collection. */
const DOCUMENT_MARKER = /^(?:---|\.\.\.)(?:[ \t\r\n]|$)/;

/**
 * The text with spaces added before the lines of its quoted scalars and flow collections that the
 * yaml package finds indented too little; undefined when no line is, or when the yaml package cuts
 * short what is not a matter of indentation (a quoted scalar or a flow collection that does not end,
 * or ends at a document marker).
 */
export function reindentContinuations(original: string): Reindented | undefined {
  let text = original;
  const insertions: Insertion[] = [];
  let lexed = 0;
  let done = 0;
  for (;;) {
    const { cutAt: start, read } = firstCut(text);
    lexed += read;
    if (start === undefined) return insertions.length > 0 && soundlyPlaced(text, insertions) ? withOffsets(text, insertions) : undefined;
    // Each construct is reindented once: one cut short again (or before one done) is cut for another reason.
    if (start < done) return undefined;
    const end = constructEnd(text, start);
    if (end === undefined) return undefined;
    const column = start - (text.lastIndexOf('\n', start - 1) + 1);
    const added: Insertion[] = [];
    let spacesAdded = 0;
    for (let nl = text.indexOf('\n', start); nl !== -1 && nl + 1 < end; nl = text.indexOf('\n', nl + 1)) {
      const lineStart = nl + 1;
      let spaces = 0;
      while (text[lineStart + spaces] === ' ') spaces++;
      const first = text[lineStart + spaces];
      // Spaces alone: an empty line, read as one however indented; a document marker is not reached (constructEnd).
      if (spaces > column || first === '\n' || first === '\r' || first === undefined || DOCUMENT_MARKER.test(text.slice(lineStart, lineStart + 4))) continue;
      added.push({ at: lineStart, count: column + 1 - spaces });
      spacesAdded += column + 1 - spaces;
    }
    lexed += end - start;
    if (added.length === 0 || lexed + text.length + spacesAdded > LEX_BUDGET) return undefined;
    let out = '';
    let from = 0;
    let shift = 0;
    for (const { at, count } of added) {
      out += text.slice(from, at) + ' '.repeat(count);
      insertions.push({ at: at + shift, count });
      shift += count;
      from = at;
    }
    text = out + text.slice(from);
    done = end + shift;
  }
}

/**
 * Whether every space added is where the yaml package, reading the reindented text, is inside a
 * quoted scalar or a flow collection. (A tab libyaml refuses in the lines of a plain scalar in a
 * flow collection is refused by the reader, documents.ts libyamlOnlyErrors, at its column as written.)
 */
function soundlyPlaced(text: string, insertions: Insertion[]): boolean {
  let depth = 0;
  let i = 0;
  for (const lexeme of lexemes(text)) {
    const { type } = lexeme;
    for (; i < insertions.length && insertions[i]!.at < lexeme.end; i++) {
      const { at } = insertions[i]!;
      if (at < lexeme.start) return false;
      if (!(isQuoted(type) && lexeme.start < at) && depth === 0) return false;
    }
    if (isFlowStart(type)) depth++;
    else if (isFlowEnd(type) && depth > 0) depth--;
  }
  return i === insertions.length;
}

function withOffsets(text: string, insertions: Insertion[]): Reindented {
  // Spaces added before each insertion, to find an offset's insertion by bisection.
  const before: number[] = [];
  let total = 0;
  for (const { count } of insertions) {
    before.push(total);
    total += count;
  }
  return {
    text,
    originalOffset(offset: number): number {
      let low = 0;
      let high = insertions.length; // the insertions at or before offset are those below high
      while (low < high) {
        const mid = (low + high) >>> 1;
        if (insertions[mid]!.at <= offset) low = mid + 1;
        else high = mid;
      }
      if (low === 0) return offset;
      const { at, count } = insertions[low - 1]!;
      const removed = before[low - 1]!;
      return offset < at + count ? at - removed : offset - removed - count;
    },
  };
}
