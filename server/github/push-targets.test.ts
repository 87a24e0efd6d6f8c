import { describe, expect, it } from 'vitest';
import { branchMatches, repoKey, targetsOfBranch } from './push-targets.ts';

describe('push target patterns', () => {
  it('matches names literally, and * as any run of characters, / included', () => {
    const cases: Array<[string, string, boolean]> = [
      ['main', 'main', true],
      ['main', 'main2', false],
      ['main', 'xmain', false],
      ['*', 'main', true],
      ['*', 'feature/a/b', true],
      ['release/*', 'release/1.2', true],
      ['release/*', 'release/1.2/hotfix', true],
      ['release/*', 'release', false],
      ['release/*', 'prerelease/1', false],
      ['*-stable', 'v2-stable', true],
      ['v1.*', 'v1x2', false],
      ['v1.*', 'v1.2', true],
      ['feat(x)', 'feat(x)', true],
    ];
    for (const [pattern, branch, expected] of cases) expect(branchMatches(pattern, branch), `${pattern} ~ ${branch}`).toBe(expected);
  });

  it('deploys a push to the union of the environments of every matching pattern', () => {
    const branches = { main: ['staging', 'prod'], '*': ['dev'], 'release/*': ['prod'] };
    expect(targetsOfBranch(branches, 'main')).toEqual({ environments: ['dev', 'prod', 'staging'], patterns: ['*', 'main'] });
    expect(targetsOfBranch(branches, 'release/3')).toEqual({ environments: ['dev', 'prod'], patterns: ['*', 'release/*'] });
    expect(targetsOfBranch({ main: ['prod'] }, 'dev')).toEqual({ environments: [], patterns: [] });
  });

  it('keys repositories case-insensitively, as GitHub names them', () => {
    expect(repoKey('Octo-Org', 'Shop')).toBe(repoKey('octo-org', 'shop'));
  });
});
