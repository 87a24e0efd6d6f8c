/**
 * The type test (typed-engine.type-test.ts) is real: compiled as it is, it has no errors; with its
 * `@ts-expect-error` directives taken out, each line they marked is an error, and nothing else is.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const FILE = fileURLToPath(new URL('./typed-engine.type-test.ts', import.meta.url));
const CONFIG = fileURLToPath(new URL('../../tsconfig.json', import.meta.url));
const DIRECTIVE = /^\s*\/\/ @ts-expect-error\b.*$/;

let previous: ts.Program | undefined;

function errorLines(text: string): number[] {
  const { config } = ts.readConfigFile(CONFIG, ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, fileURLToPath(new URL('../..', import.meta.url)));
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => (ts.sys.resolvePath(name) === FILE ? text : readFile(name));
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language) => (ts.sys.resolvePath(name) === FILE ? ts.createSourceFile(name, text, language) : getSourceFile(name, language));
  // The second compile reuses the first's other files.
  const program = ts.createProgram([FILE], options, host, previous);
  previous = program;
  const source = program.getSourceFile(FILE)!;
  return [...new Set(ts.getPreEmitDiagnostics(program, source).map((d) => source.getLineAndCharacterOfPosition(d.start!).line + 1))].sort((a, b) => a - b);
}

describe('the type test of the engine', () => {
  const original = readFileSync(FILE, 'utf8');
  const lines = original.split('\n');
  const marked = lines.flatMap((line, i) => (DIRECTIVE.test(line) ? [i + 2] : []));

  it('marks every mistake the issue names', () => {
    expect(marked.length).toBeGreaterThanOrEqual(12);
  });

  it('compiles as it is, and each marked line is an error without its directive', { timeout: 120_000 }, () => {
    expect(errorLines(original)).toEqual([]);
    const stripped = lines.map((line) => (DIRECTIVE.test(line) ? '' : line)).join('\n');
    expect(errorLines(stripped)).toEqual(marked);
  });
});
