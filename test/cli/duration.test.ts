/** `--timeout` of watch and of deploy/trigger --wait: a duration with its unit, and nothing else. */
import { describe, expect, it } from 'vitest';
import { parseDuration, UsageError } from '../../sdk/cli/cli.ts';

describe('parseDuration', () => {
  it('reads 500ms, 90s, 15m, 1.5h', () => {
    expect(parseDuration('500ms', '--timeout')).toBe(500);
    expect(parseDuration('90s', '--timeout')).toBe(90_000);
    expect(parseDuration('15m', '--timeout')).toBe(900_000);
    expect(parseDuration('1.5h', '--timeout')).toBe(5_400_000);
    expect(parseDuration(undefined, '--timeout')).toBeUndefined();
  });

  it('refuses a number without its unit (600 was 600 ms: the wait gave up at once), saying how to write it', () => {
    expect(() => parseDuration('600', '--timeout')).toThrow(UsageError);
    expect(() => parseDuration('600', '--timeout')).toThrow('a number needs its unit: 600s');
  });

  it.each(['0s', '0', '0ms', 'soon', '-5m'])('refuses %j', (text) => {
    expect(() => parseDuration(text, '--timeout')).toThrow(UsageError);
  });
});
