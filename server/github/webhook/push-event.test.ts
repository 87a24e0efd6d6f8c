import { describe, expect, it } from 'vitest';
import { branchPush, exampleOf } from '../../../test/github/world.ts';
import { uuidV5 } from '../../domain/ids.ts';
import { pushDeploymentId } from '../push-deployment-id.ts';
import { decidePush } from './push-event.ts';

describe('what a push asks for', () => {
  it('deploys the pushed commit of a branch (GitHub\'s example push)', () => {
    const push = exampleOf('push', (e) => e.ref === 'refs/heads/master');
    expect(decidePush(push)).toEqual({ kind: 'deploy', owner: 'Codertocat', repo: 'Hello-World', branch: 'master', commit: push.after });
    expect(decidePush(branchPush('c'.repeat(40), { branch: 'release/1.2' }))).toMatchObject({ branch: 'release/1.2', commit: 'c'.repeat(40) });
  });

  it('ignores tags, deleted or not; a deleted branch is recorded with no commit', () => {
    expect(decidePush(exampleOf('push', (e) => e.ref.startsWith('refs/tags/') && !e.deleted))).toEqual({
      kind: 'ignore',
      reason: 'refs/tags/simple-tag is not a branch',
    });
    expect(decidePush(exampleOf('push', (e) => e.ref.startsWith('refs/tags/') && e.deleted))).toMatchObject({ kind: 'ignore' });
    expect(decidePush({ ...branchPush('0'.repeat(40)), deleted: true })).toEqual({
      kind: 'delete',
      owner: 'Codertocat',
      repo: 'Hello-World',
      branch: 'master',
      commit: '0'.repeat(40),
    });
  });

  it('throws on what is not a push', () => {
    expect(() => decidePush({ zen: 'Keep it logically awesome.' })).toThrow();
  });
});

describe('deployment ids of a push', () => {
  it('are RFC 9562 UUIDv5s', () => {
    // The RFC's example: the DNS namespace and www.example.com.
    expect(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('are the same for a redelivery and differ between environments and deliveries', () => {
    const id = pushDeploymentId('72d3162e-cc78-11e3-81ab-4c9367dc0958', 'prod');
    expect(id).toBe(pushDeploymentId('72d3162e-cc78-11e3-81ab-4c9367dc0958', 'prod'));
    expect(id).not.toBe(pushDeploymentId('72d3162e-cc78-11e3-81ab-4c9367dc0958', 'staging'));
    expect(id).not.toBe(pushDeploymentId('72d3162e-cc78-11e3-81ab-4c9367dc0959', 'prod'));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
