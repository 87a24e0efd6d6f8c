/** `--until` of hold and freeze: a time (ISO 8601) or a duration from now, and nothing else. */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../sdk/cli/cli.ts';
import { parseUntil } from '../../sdk/cli/commands/stops.ts';

const now = Date.parse('2030-01-01T00:00:00Z');

describe('parseUntil', () => {
  it('reads a duration from now and an ISO time', () => {
    expect(parseUntil('90m', now)).toBe('2030-01-01T01:30:00.000Z');
    expect(parseUntil('2030-01-02T08:00:00Z', now)).toBe('2030-01-02T08:00:00.000Z');
    expect(parseUntil('2030-01-02', now)).toBe('2030-01-02T00:00:00.000Z');
    expect(parseUntil(undefined, now)).toBeUndefined();
  });

  it.each(['90', 'tomorrow', '1/2/2030', '2030-13-45T99:00:00Z'])('refuses %j as a usage error, never a time nobody meant', (text) => {
    expect(() => parseUntil(text, now)).toThrow(UsageError);
  });

  it('refuses a time that has passed', () => {
    expect(() => parseUntil('2029-12-31T23:00:00Z', now)).toThrow(/has passed/);
  });
});
