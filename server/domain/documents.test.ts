import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DomainError, ValidationError } from './errors.ts';
import { detectFormat, findJsonErrorOffset, parseDocument, validateDocument, yamlDocumentCount } from './documents.ts';

function malformed(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).kind).toBe('malformed');
    return err as DomainError;
  }
  throw new Error('expected a malformed-document error');
}

describe('parseDocument (yaml)', () => {
  it('parses a mapping', () => {
    expect(parseDocument('name: shop\nruntimes:\n  - name: api\n', 'yaml')).toEqual({ name: 'shop', runtimes: [{ name: 'api' }] });
  });

  it('reports line and column of a syntax error, as message and as an issue with path ""', () => {
    const err = malformed(() => parseDocument('a: 1\nb: [1,\n c: :\n', 'yaml'));
    expect(err.message).toMatch(/^Malformed YAML at line 3, column 5: /);
    expect(err.issues[0]).toEqual({ path: '', message: expect.stringMatching(/^line 3, column 5: Unexpected/) });
    expect(err.message).not.toContain('^'); // no code excerpt in the message
  });

  it('rejects duplicate keys with their position', () => {
    const err = malformed(() => parseDocument('name: a\nname: b\n', 'yaml'));
    expect(err.message).toBe('Malformed YAML at line 2, column 1: Map keys must be unique');
  });

  it('rejects several documents in one file', () => {
    const err = malformed(() => parseDocument('a: 1\n---\nb: 2\n', 'yaml'));
    expect(err.message).toContain('line 2, column 1');
  });

  it('merges `<<: *anchor` keys, as the Go YAML readers of o5 do (shared settings of runtimes)', () => {
    const text = [
      'x-common: &common',
      '  image: { name: shop }',
      '  command: [serve]',
      'runtimes:',
      '  - name: api',
      '    containers:',
      '      - <<: *common',
      '        name: main',
      '  - name: worker',
      '    containers:',
      '      - <<: *common',
      '        name: main',
      '        command: [work]',
      '',
    ].join('\n');
    expect(parseDocument(text, 'yaml')).toEqual({
      'x-common': { image: { name: 'shop' }, command: ['serve'] },
      runtimes: [
        { name: 'api', containers: [{ image: { name: 'shop' }, command: ['serve'], name: 'main' }] },
        // A key of the mapping itself wins over the merged one.
        { name: 'worker', containers: [{ image: { name: 'shop' }, command: ['work'], name: 'main' }] },
      ],
    });
  });

  it('refuses a merge key whose value is not a mapping as malformed YAML (a 400 that says so), as the Go readers do, not as a failure of ours', () => {
    for (const text of ['a:\n  <<: 1\n', 'a:\n  <<: [1, 2]\n', 's: &s [1]\na:\n  <<: *s\n', 'a:\n  <<: null\n', 'x: &x {b: 1}\na:\n  <<: [*x, two]\n']) {
      const err = malformed(() => parseDocument(text, 'yaml'));
      expect(err.message, text).toMatch(/^Malformed YAML: .*<</);
      expect(err.issues, text).toEqual([{ path: '', message: expect.stringContaining('mapping') }]);
    }
  });
});

/** Every `yaml` value below is read as o5 reads it: sigs.k8s.io/yaml YAMLToJSON over go-yaml v2 (YAML 1.1). */
describe('parseDocument (yaml) reads as o5 does (sigs.k8s.io/yaml over go-yaml v2, YAML 1.1)', () => {
  const valueOf = (scalar: string) => (parseDocument(`a: ${scalar}\n`, 'yaml') as { a: unknown }).a;

  it.each(['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON', 'true', 'True', 'TRUE'])('%s is true', (word) => {
    expect(valueOf(word)).toBe(true);
  });
  it.each(['n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF', 'false', 'False', 'FALSE'])('%s is false', (word) => {
    expect(valueOf(word)).toBe(false);
  });
  it.each(['yEs', 'oN', 'tRUE', 'nO', 'Yes please', '"yes"', "'on'", '!!str yes'])('%s is a string (a case YAML 1.1 does not list, or quoted, or tagged)', (text) => {
    expect(valueOf(text)).toBe(text.replace(/^!!str |^["']|["']$/g, ''));
  });
  it('a block scalar is a string', () => {
    expect(parseDocument('a: |-\n  yes\n', 'yaml')).toEqual({ a: 'yes' });
  });

  it.each([
    ['0755', 493],
    ['-0755', -493],
    ['0o17', 15],
    ['0x1F', 31],
    ['0X1f', 31],
    ['+0x1F', 31],
    ['0b101', 5],
    ['1_000', 1000],
    ['0x_1F', 31],
    ['08', 8],
    ['1e3', 1000],
    ['.5', 0.5],
    ['+.5', 0.5],
    ['1.', 1],
    ['-0', 0],
  ])('%s is the number %d (Go strconv.ParseInt base 0 after dropping _, then floats)', (text, value) => {
    expect(valueOf(text)).toBe(value);
  });

  it.each(['1:30', '190:20:30', '2001-12-14', '2001-12-14t21:59:43.10-05:00', '2001-12-14 21:59:43.10', '1e999', '0x', '1e', 'NaN', 'inf', 'Infinity', '0b2', '1.2.3', '12:30:00'])(
    '%s is a string (no sexagesimal; a timestamp keeps its text; what Go cannot parse as a number)',
    (text) => {
      expect(valueOf(text)).toBe(text);
    },
  );

  it.each(['.inf', '-.Inf', '+.INF', '.nan', '.NaN'])('%s is malformed: YAMLToJSON fails on a float JSON cannot hold', (text) => {
    const err = malformed(() => parseDocument(`name: x\na: ${text}\n`, 'yaml'));
    expect(err.message).toMatch(/^Malformed YAML at line 2, column 4: .*JSON/);
    expect(valueOf(`"${text}"`)).toBe(text);
  });

  it('reads explicit tags as go-yaml resolves them; tags it does not resolve are ignored', () => {
    expect(parseDocument(['i: !!int "12"', 'f: !!float 1', 'b: !!bool yes', 's: !!str 0x1F', 'nul: !!null ""', 't: !!timestamp 2001-12-14', 'c: !foo bar', 'e: ! 12', ''].join('\n'), 'yaml')).toEqual({
      i: 12,
      f: 1,
      b: true,
      s: '0x1F',
      nul: null,
      t: '2001-12-14',
      c: 'bar',
      e: '12',
    });
    expect(parseDocument('set: !!set {x, z}\nomap: !!omap [{a: 1}, {b: 2}]\nm: !!map [1]\n', 'yaml')).toEqual({ set: { x: null, z: null }, omap: [{ a: 1 }, { b: 2 }], m: [1] });
  });

  it.each([
    ['!!int x', 'cannot decode !!str `x` as a !!int'],
    ['!!int 1.5', 'cannot decode !!float `1.5` as a !!int'],
    ['!!bool 1', 'cannot decode !!int `1` as a !!bool'],
    ['!!timestamp nope', 'cannot decode !!str `nope` as a !!timestamp'],
    ['!!float 18446744073709551615', 'cannot decode !!int `18446744073709551615` as a !!float'],
  ])('a tag its value does not fit (%s) is malformed, at the value', (text, reason) => {
    const column = 'a: '.length + text.indexOf(' ') + 2;
    expect(malformed(() => parseDocument(`a: ${text}\n`, 'yaml')).message).toBe(`Malformed YAML at line 1, column ${column}: ${reason}`);
  });

  it('turns keys that are not strings into the strings sigs.k8s.io/yaml makes of them', () => {
    const text = ['1: a', '0x1F: b', 'yes: c', 'off: d', '1.5: e', '1e7: f', '3.14159265358979: g', '.inf: h', '-.inf: i', '.nan: j', '2001-01-01: k', '9223372036854775807: l', '0.00001: m', '"<<": x', ''].join('\n');
    expect(parseDocument(text, 'yaml')).toEqual({
      '1': 'a',
      '31': 'b',
      true: 'c',
      false: 'd',
      '1.5': 'e',
      '1e+07': 'f',
      '3.1415927': 'g',
      '.inf': 'h',
      '-.inf': 'i',
      '.nan': 'j',
      '2001-01-01': 'k',
      '9223372036854775807': 'l',
      '1e-05': 'm',
      '<<': 'x',
    });
    // Past what a float32 holds: Go's FormatFloat writes +Inf, which sigs.k8s.io/yaml writes .inf.
    expect(parseDocument('1e39: a\n-1e39: b\n', 'yaml')).toEqual({ '.inf': 'a', '-.inf': 'b' });
    // A key `n` or `y` is a boolean too: the trap of YAML 1.1.
    expect(parseDocument('n: a\ny: b\n', 'yaml')).toEqual({ false: 'a', true: 'b' });
  });

  it.each([
    ['~: x\n', 'line 1, column 1: A null key'],
    ['? [1]\n: x\n', 'line 1, column 3: A mapping key must be'],
    ['m: &m {a: 1}\n? *m\n: x\n', 'line 2, column 3: A mapping key must be'],
    ['18446744073709551615: x\n', 'line 1, column 1: The key 18446744073709551615 is past'],
  ])('refuses a key o5 refuses (%j)', (text, start) => {
    expect(malformed(() => parseDocument(text, 'yaml')).message).toContain(`Malformed YAML at ${start}`);
  });

  it('finds a repeated key once keys are converted (`yes` and `true` are one key, so are 1 and "1")', () => {
    expect(malformed(() => parseDocument('yes: 1\ntrue: 2\n', 'yaml')).message).toBe('Malformed YAML at line 2, column 1: Map keys must be unique');
    expect(malformed(() => parseDocument('1: a\n"1": b\n', 'yaml')).message).toBe('Malformed YAML at line 2, column 1: Map keys must be unique');
  });

  it('applies merge keys in order, as go-yaml v2 does: a key before `<<` is overwritten, a key after it wins', () => {
    expect(parseDocument('a: 1\n<<: {a: 2, b: 3}\nc: 4\n', 'yaml')).toEqual({ a: 2, b: 3, c: 4 });
    expect(parseDocument('x: &x {a: 1}\ny: &y {a: 2, b: 2}\nz:\n  <<: [*x, *y]\n  b: 3\n', 'yaml')).toMatchObject({ z: { a: 1, b: 3 } });
    expect(parseDocument('x: &x {a: 1}\nz:\n  !!merge <<: *x\n', 'yaml')).toMatchObject({ z: { a: 1 } });
  });

  it('refuses what libyaml refuses: another YAML version, a \\/ escape, an escaped surrogate pair', () => {
    expect(malformed(() => parseDocument('%YAML 1.2\n---\na: 1\n', 'yaml')).message).toMatch(/^Malformed YAML at line 1, column 1: found incompatible YAML document/);
    expect(parseDocument('%YAML 1.1\n---\na: yes\n', 'yaml')).toEqual({ a: true });
    expect(malformed(() => parseDocument('a: "x\\/y"\n', 'yaml')).message).toMatch(/^Malformed YAML at line 1, column 6: found unknown escape character/);
    expect(malformed(() => parseDocument('a: "\\ud83d\\ude00"\n', 'yaml')).message).toMatch(/^Malformed YAML at line 1, column 5: found invalid Unicode character escape code/);
    expect(parseDocument('a: "\\U0001F600 \\\\/"\n', 'yaml')).toEqual({ a: '\u{1F600} \\/' });
  });

  it('decodes double quotes as libyaml does: `\\\'` is a quote; every escape of YAML 1.1; an empty line after an escaped line break is a line feed', () => {
    expect(valueOf(`"it\\'s \\"x\\" \\\\' "`)).toBe(`it's "x" \\' `);
    expect(parseDocument(`"it\\'s": 1\nb: ["\\'"]\n`, 'yaml')).toEqual({ "it's": 1, b: ["'"] });
    expect(valueOf('"\\e\\N\\_\\L\\P\\x41\\xe9\\u00e9\\U0001F600\\\t\\ \\a\\b\\v\\f\\r\\n\\t"')).toBe('\x1b\u0085\u00a0\u2028\u2029Aéé😀\t \x07\b\v\f\r\n\t');
    // The yaml package folded the empty line after `\<newline>` to a space.
    expect(valueOf('"one\\\n\n   two \\\n   three\n\n\n   four\n   five"')).toBe('one\ntwo three\n\nfour five');
    expect(parseDocument('a: 1\r\nb: "x\r\n  y"\r\n', 'yaml')).toEqual({ a: 1, b: 'x y' });
    expect(malformed(() => parseDocument('a: "x\\U00110000"\n', 'yaml')).message).toMatch(/^Malformed YAML at line 1, column 6: Invalid escape sequence/);
  });

  it.each([
    ['\u0085', 'U+0085'],
    ['\u2028', 'U+2028'],
    ['\u2029', 'U+2029'],
    ['\r', 'a carriage return without a line feed'],
  ])('refuses a line break of YAML 1.1 that the yaml package reads as text (%j), with where: libyaml ends the line (and a comment) there', (found, named) => {
    // o5 reads {a: 1, b: 2}; the yaml package read {a: 1}, the rest of the comment.
    const err = malformed(() => parseDocument(`a: 1\n# note${found}b: 2\n`, 'yaml'));
    expect(err.message).toMatch(new RegExp(`^Malformed YAML at line 2, column 7: ${named.replace('+', '\\+')}.*reads as a line break`));
  });

  it('refuses a control character anywhere in the text, as libyaml does; escaped in double quotes it is read', () => {
    expect(malformed(() => parseDocument('a: b\x07c\n', 'yaml')).message).toBe('Malformed YAML at line 1, column 5: control characters are not allowed (U+0007); write it as an escape in a double-quoted string');
    expect(malformed(() => parseDocument('a: x\n# \x85ok \x9b\n', 'yaml')).message).toMatch(/^Malformed YAML at line 2, column 7: control characters are not allowed \(U\+009B\)/);
    expect(parseDocument('a: "b\\ac"\n', 'yaml')).toEqual({ a: 'b\x07c' });
  });

  it('refuses a NUL character anywhere in the text, a comment too, with where, as libyaml does (it was read in a comment)', () => {
    expect(malformed(() => parseDocument('a: 1 # note \0 here\nb: 2\n', 'yaml')).message).toBe(
      'Malformed YAML at line 1, column 13: control characters are not allowed (U+0000); a NUL character, refused in a comment too',
    );
    expect(malformed(() => parseDocument('a: 1\n# \0\n', 'yaml')).message).toMatch(/^Malformed YAML at line 2, column 3: control characters are not allowed \(U\+0000\)/);
  });

  // o5 (libyaml) reads a quoted scalar or a flow collection to its closing quote or bracket, however
  // its lines are indented; the yaml package wanted them indented past the block they are in.
  it.each([
    ['a:\n  b: "x\n  y"\n', { a: { b: 'x y' } }],
    ['a:\n  b: "x\ny"\n  c: 1\n', { a: { b: 'x y', c: 1 } }],
    ["a: 'it''s\nhere'\n", { a: "it's here" }],
    ['a: "x\n\ty"\n', { a: 'x y' }],
    ['a: "x\\\n"\n', { a: 'x' }],
    ['a: "x\\\n\n\ty"\n', { a: 'x\ny' }],
    ['a: "one\n\n\ntwo"\n', { a: 'one\n\ntwo' }],
    ['- a: "x\n y"\n  b: 2\n', [{ a: 'x y', b: 2 }]],
    ['a: "x\r\ny"\r\nb: 1\r\n', { a: 'x y', b: 1 }],
    ['a: [1,\n2]\n', { a: [1, 2] }],
    ['a: [1,\n\t2]\n', { a: [1, 2] }],
    ['a:\n  - {b: 1,\n\tc: [x,\ny]}\n', { a: [{ b: 1, c: ['x', true] }] }],
    ['a: ["x\ny", {b: "p\nq"}]\n', { a: ['x y', { b: 'p q' }] }],
    ['a: {b: 1\n# note\n  }\n', { a: { b: 1 } }],
  ])('reads %j as o5 does: a quoted scalar or flow collection however its lines are indented', (text, value) => {
    expect(parseDocument(text, 'yaml')).toEqual(value);
  });

  it('says where a mistake is in the text as written, after lines read as if indented', () => {
    // Line 2 is read indented; the error on line 3 is at its column as written.
    expect(malformed(() => parseDocument('a: [1,\n2]\nb: .inf\n', 'yaml')).message).toBe('Malformed YAML at line 3, column 4: .inf is not a number JSON can hold (o5 cannot read it); quote it for a string');
    expect(malformed(() => parseDocument('a:\n  b: "x\ny"\n  c: "\\/"\n', 'yaml')).message).toMatch(/^Malformed YAML at line 4, column 7: found unknown escape character/);
    expect(malformed(() => parseDocument('a: "x\ny"\n  b: 1\n', 'yaml')).message).toMatch(/^Malformed YAML at line 3, column 1: /);
  });

  it.each([
    ['a: "x\n---\ny"\n', 'a document marker in a quoted scalar'],
    ['a: [x,\n...\n]\n', 'a document marker in a flow collection'],
    ['a: "never closed\nb: 1\n', 'a quoted scalar that does not end'],
    ['a: [x\n\ty]\n', 'a tab left of the block after a plain scalar in a flow collection'],
    ['a:\n  b: {k: x\n \t}\n', 'a tab left of the block after a plain scalar in a flow collection'],
    ['a: {"x\n  y": 1}\n', 'a key of a flow mapping over two lines'],
    ['a: {x\n  : 1}\n', 'a key of a flow mapping and its : on two lines'],
    [`a: {${'k'.repeat(1100)}: 1}\n`, 'a key of a flow mapping longer than 1024 characters'],
    ['a: {b: !x}\n', 'a tag followed by }'],
    ['a: [!x, b]\n', 'a tag followed by , (o5 reads the tag !x,)'],
  ])('refuses %j as o5 does (%s)', (text) => {
    expect(malformed(() => parseDocument(text, 'yaml')).message).toMatch(/^Malformed YAML at line \d+, column \d+: /);
  });

  it('reads a tab after a plain scalar in a flow collection that is not left of the block, and a key after ? over lines, as o5 does', () => {
    expect(parseDocument('a: [x\n \ty]\n', 'yaml')).toEqual({ a: ['x y'] });
    expect(parseDocument('[x\n\ty]\n', 'yaml')).toEqual(['x y']);
    expect(parseDocument('a: {? "x\n  y": 1}\n', 'yaml')).toEqual({ a: { 'x y': 1 } });
  });

  it('ignores empty documents at the end (a last ---), as o5 does: it reads the first', () => {
    for (const end of ['---\n', '---', '--- # end\n', '---\n...\n', '...\n...\n', '---\n---\n']) {
      expect(parseDocument(`a: 1\n${end}`, 'yaml'), end).toEqual({ a: 1 });
      expect(yamlDocumentCount(`a: 1\n${end}`), end).toBe(1);
    }
    // A last document that holds something (even null) is another document.
    for (const end of ['--- ~\n', '--- !!str\n', '---\nb: 2\n']) {
      expect(malformed(() => parseDocument(`a: 1\n${end}`, 'yaml')).message, end).toMatch(/^Malformed YAML at line 2, column 1: Source contains multiple documents/);
      expect(yamlDocumentCount(`a: 1\n${end}`), end).toBe(2);
    }
  });

  it.each([
    ['9007199254740992', 'a', '9007199254740992'],
    ['9007199254740993', 'a', '9007199254740992'],
    ['-9007199254740993', 'a', '-9007199254740992'],
    ['9223372036854775807', 'a', '9223372036854776000'],
    ['18446744073709551615', 'a', '18446744073709552000'],
    ['1_000_000_000_000_000_000_000_000', 'a', '1e+24'], // past uint64: Go reads the nearest float
    ['0x20000000000001', 'a', '9007199254740992'],
    ['0o400000000000000001', 'a', '9007199254740992'],
    ['0b100000000000000000000000000000000000000000000000000001', 'a', '9007199254740992'],
    ['0777777777777777777777777', 'a', '7.777777777777778e+23'], // octal past uint64: Go reads it as decimal digits
    ['!!int 9007199254740993', 'a', '9007199254740992'],
  ])('refuses %s at its path: o5 reads that integer, a JSON number does not hold it', (text, path, nearest) => {
    let caught: unknown;
    try {
      parseDocument(`a: ${text}\nlist: [${text}]\n`, 'yaml');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    const written = text.replace('!!int ', '');
    const message = `The integer ${written} is past what a JSON number holds exactly (±9007199254740991): it would be read as ${nearest}; quote it for a string`;
    expect((caught as ValidationError).issues).toEqual([
      { path, message },
      { path: 'list[0]', message },
    ]);
  });

  it('reads the integers a JSON number holds, and a float asked for (`!!float`) as Go does', () => {
    expect(parseDocument('a: [9007199254740991, -9007199254740991, 0x1FFFFFFFFFFFFF, !!float 9007199254740993, 1e20, "9007199254740993"]\n', 'yaml')).toEqual({
      a: [9007199254740991, -9007199254740991, 9007199254740991, 9007199254740992, 1e20, '9007199254740993'],
    });
  });

  it('refuses an alias of no anchor and an anchor that contains its own alias (malformed, not a failure of ours)', () => {
    expect(malformed(() => parseDocument('a: *nope\n', 'yaml')).message).toBe("Malformed YAML at line 1, column 4: unknown anchor 'nope' referenced");
    expect(malformed(() => parseDocument('a: &x [1, *x]\n', 'yaml')).message).toBe("Malformed YAML at line 1, column 11: anchor 'x' value contains itself");
  });

  it('refuses an alias bomb as go-yaml does (excessive aliasing), as a malformed document', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
      .concat(['b', 'c', 'd', 'e', 'f', 'g'].map((name, i) => `${name}: &${name} [${Array(9).fill(`*${'abcdefg'[i]}`).join(',')}]`))
      .join('\n');
    expect(malformed(() => parseDocument(bomb, 'yaml')).message).toMatch(/^Malformed YAML: Too many aliases/);
    // Aliases used as anchors are meant (a shared list, many times) are fine.
    const shared = ['x: &x [1, 2, 3]', ...Array.from({ length: 500 }, (_, i) => `k${i}: *x`), ''].join('\n');
    expect((parseDocument(shared, 'yaml') as Record<string, unknown>).k499).toEqual([1, 2, 3]);
  });

  it('still refuses !!binary at its path (o5 would read its bytes as a string)', () => {
    let caught: unknown;
    try {
      parseDocument('a:\n  b: !!binary aGVsbG8=\n', 'yaml');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as ValidationError).issues).toEqual([{ path: 'a.b', message: expect.stringMatching(/binary/) }]);
  });

  it('keeps a key named __proto__ as data', () => {
    const value = parseDocument('__proto__: {a: 1}\n', 'yaml') as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__']);
  });
});

describe('parseDocument (json)', () => {
  it('parses an object', () => {
    expect(parseDocument('{"name": "shop"}', 'json')).toEqual({ name: 'shop' });
  });

  it.each([
    ['{"a": }', 1, 7],
    ['{\n  "a": 1,\n}', 3, 1],
    ['{"a": 1', 1, 8],
    ['', 1, 1],
    ['[1, 2] x', 1, 8],
    ['{\n "a": "x\ty"\n}', 2, 9],
    ['{"a": tru}', 1, 10],
  ])('reports where %j goes wrong (line %i, column %i)', (text, line, col) => {
    const err = malformed(() => parseDocument(text, 'json'));
    expect(err.message).toMatch(new RegExp(`^Malformed JSON at line ${line}, column ${col}: `));
    expect(err.issues).toEqual([{ path: '', message: err.message.replace('Malformed JSON at ', '') }]);
  });

  it('refuses JSON that does not parse and nests far past the limit where it goes too deep (its error scan overflowed the stack: a 500)', () => {
    for (const text of ['['.repeat(20_000), `{"a": ${'['.repeat(100_000)}1`]) {
      expect(malformed(() => parseDocument(text, 'json')).message).toMatch(/^Malformed JSON at line 1, column \d+: Nested deeper than 64 levels$/);
    }
    // A string of brackets is no nesting.
    expect(malformed(() => parseDocument(`{"a": "${'['.repeat(1000)}"`, 'json')).message).toMatch(/^Malformed JSON at line 1, column 1009: /);
  });

  it('finds no error offset in valid JSON (scan agrees with JSON.parse)', () => {
    const text = '{"a": [1, -2.5e3, true, false, null, "\\u00e9\\n"], "b": {}}';
    expect(() => JSON.parse(text)).not.toThrow();
    expect(findJsonErrorOffset(text)).toBe(text.length);
  });
});

describe('detectFormat', () => {
  it.each([
    ['application/json', 'json'],
    ['application/json; charset=utf-8', 'json'],
    ['application/problem+json', 'json'],
    ['application/yaml', 'yaml'],
    ['application/x-yaml', 'yaml'],
    ['text/yaml', 'yaml'],
    ['TEXT/X-YAML', 'yaml'],
    ['text/x-yaml', 'yaml'],
    ['text/plain', null],
    ['application/octet-stream', null],
    [undefined, null],
    ['', null],
  ])('%s -> %s', (contentType, format) => {
    expect(detectFormat(contentType)).toBe(format);
  });
});

describe('validateDocument', () => {
  const schema = z.strictObject({
    name: z.string(),
    aws: z.strictObject({ rdsHosts: z.array(z.strictObject({ auth: z.enum(['iam', 'secret']) })) }),
  });

  it('returns the typed value', () => {
    const value = { name: 'x', aws: { rdsHosts: [{ auth: 'iam' }] } };
    expect(validateDocument(schema, value, 'cluster config')).toEqual(value);
  });

  it('lists every issue with its path; unknown keys are reported on the key', () => {
    let error: unknown;
    try {
      validateDocument(schema, { aws: { rdsHosts: [{ auth: 'iam' }, { auth: 'x' }], extra: 1 }, other: true }, 'cluster config');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ValidationError);
    const { issues, message } = error as ValidationError;
    expect(issues).toEqual([
      { path: 'name', message: 'Required' },
      { path: 'aws.rdsHosts[1].auth', message: expect.stringContaining('Invalid option') },
      { path: 'aws.extra', message: 'Unknown field "extra"; the fields here are: rdsHosts' },
      { path: 'other', message: 'Unknown field "other"; the fields here are: name, aws' },
    ]);
    expect(message).toMatch(/^Invalid cluster config: name: Required; aws\.rdsHosts\[1\]\.auth: .*aws\.extra: Unknown field "extra"; the fields here are: rdsHosts \(and 1 more\)$/);
  });
});

describe('parseDocument on YAML nested far past the limit, refused before the parser recurses into it', () => {
  it.each([
    ['- - - ...', (n: number) => `${'- '.repeat(n)}x\n`],
    ['? ? ? ...', (n: number) => `${'? '.repeat(n)}x\n`],
    ['[[[...]]]', (n: number) => `a: ${'['.repeat(n)}${']'.repeat(n)}\n`],
    ['{a: {a: ...}}', (n: number) => `${'{a: '.repeat(n)}1${'}'.repeat(n)}\n`],
    ['one more indent a line', (n: number) => Array.from({ length: n }, (_, i) => `${' '.repeat(i)}k:`).join('\n') + ' x\n'],
  ])('%s is malformed, with where (the yaml package overflowed the stack on it; V8 could die of it)', (_what, text) => {
    // 100 deep: past the limit, not past what the yaml package may nest, refused by the reader (at its path).
    expect(() => parseDocument(text(100), 'yaml')).toThrow(/Nested deeper than 64 levels|A mapping key must be/);
    for (const n of [3000, 20000]) {
      const err = malformed(() => parseDocument(text(n), 'yaml'));
      expect(err.message).toMatch(/^Malformed YAML at line \d+, column \d+: Nested deeper than 64 levels$/);
    }
  });

  it('reads a document as deep as the limit, with quotes, comments and block scalars that look deep', () => {
    const lines: string[] = [];
    for (let i = 0; i < 60; i++) lines.push(`${'  '.repeat(i)}k${i}:`);
    const inner = '  '.repeat(60);
    lines.push(`${inner}text: "[[[[[[[[[[ - - - - ${'{'.repeat(300)}"`);
    lines.push(`${inner}plain: a [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[`);
    lines.push(`${inner}comment: x # ${'['.repeat(300)}`);
    lines.push(`${inner}dashes: ${'x - '.repeat(300)}x`);
    lines.push(`${inner}inline: {${Array.from({ length: 300 }, (_, i) => `f${i}: ${i}`).join(', ')}}`);
    // Content indented as usual (under the key), which could be nodes: what a script holds is read
    // as if it were; content indented past the `|` is surely content and not read.
    lines.push(`${inner}block: |`);
    for (let i = 0; i < 150; i++) lines.push(`${inner}  ${' '.repeat(i % 40)}- - - if [ -f "$X${'['.repeat(i)}" ]; then {`, `${inner}  }`);
    lines.push(`${inner}block2: >-`, ...Array.from({ length: 300 }, (_, i) => `${' '.repeat(inner.length + 10)}${' '.repeat(i)}- [ {`));
    lines.push(`${inner}after: 1`, '');
    let value = parseDocument(lines.join('\n'), 'yaml') as Record<string, unknown>;
    for (let i = 0; i < 60; i++) value = value[`k${i}`] as Record<string, unknown>;
    expect(value.text).toBe(`[[[[[[[[[[ - - - - ${'{'.repeat(300)}`);
    expect(value.after).toBe(1);
    expect(value.dashes).toBe(`${'x - '.repeat(300)}x`);
    expect(Object.keys(value.inline as object)).toHaveLength(300);
    expect((value.block as string).split('\n')).toHaveLength(301);
    expect(value.block2).toMatch(/^- \[ \{\n {1}- \[ \{/);
  });

  it('counts no bracket inside a scalar or a comment: block scalars, quoted strings and comments of 10,000 `[` are read', () => {
    const brackets = '['.repeat(10_000);
    const text = [
      'literal: |',
      `  ${brackets}`,
      `  - - - ${'{'.repeat(10_000)}`,
      'folded: >-',
      `  ${brackets}`,
      'double: "x',
      `  ${brackets} \\"`,
      `  ${brackets}"`,
      "single: 'x",
      `  ${brackets}'`,
      `# ${brackets}`,
      `plain: x ${brackets}`,
      `  ${brackets}`,
      '',
    ].join('\n');
    expect(parseDocument(text, 'yaml')).toEqual({
      literal: `${brackets}\n- - - ${'{'.repeat(10_000)}\n`,
      folded: brackets,
      double: `x ${brackets} " ${brackets}`,
      single: `x ${brackets}`,
      plain: `x ${brackets} ${brackets}`,
    });
    // What nests for real after them is still refused, where it goes too deep.
    expect(malformed(() => parseDocument(`${text}deep: ${'['.repeat(5000)}\n`, 'yaml')).message).toMatch(/^Malformed YAML at line 14, column 262: Nested deeper than 64 levels$/);
  });

  it('refuses merge keys that merge mappings with merge keys, more than 64 deep (each link recursed)', () => {
    const chain = ['m0: &m0 {a: 1}', ...Array.from({ length: 100 }, (_, i) => `m${i + 1}: &m${i + 1} {<<: *m${i}}`), ''].join('\n');
    expect(malformed(() => parseDocument(chain, 'yaml')).message).toMatch(/^Malformed YAML at line \d+, column \d+: Merge keys \(<<\) that merge mappings with merge keys, more than 64 deep/);
    const short = ['m0: &m0 {a: 1}', ...Array.from({ length: 10 }, (_, i) => `m${i + 1}: &m${i + 1} {<<: *m${i}}`), ''].join('\n');
    expect((parseDocument(short, 'yaml') as Record<string, unknown>).m10).toEqual({ a: 1 });
  });
});

describe('parseDocument on text nested past what the YAML parser follows', () => {
  it('is malformed with a few distinct issues, not hundreds alike', () => {
    let caught: unknown;
    try {
      parseDocument('['.repeat(5000), 'yaml');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DomainError);
    const issues = (caught as DomainError).issues;
    expect(issues.length).toBeGreaterThan(0);
    expect(issues.length).toBeLessThanOrEqual(10);
    expect(new Set(issues.map((i) => i.message)).size).toBe(issues.length);
  });
});
