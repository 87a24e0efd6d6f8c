import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DomainError, ValidationError } from './errors.ts';
import { detectFormat, findJsonErrorOffset, parseDocument, validateDocument } from './documents.ts';

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
