import { describe, expect, it } from 'vitest';
import { MANAGED_BY_TAG, foreignFailedCreateError, ownershipNote, stackOwnership } from './stack-ownership.ts';

describe('whose stack it is', () => {
  it('is ours only with the deployer:managed-by tag at its value; anything else is adopted', () => {
    expect(stackOwnership({ tags: { [MANAGED_BY_TAG.key]: MANAGED_BY_TAG.value, other: 'x' } })).toBe('created');
    expect(stackOwnership({ tags: {} })).toBe('adopted');
    expect(stackOwnership({ tags: { [MANAGED_BY_TAG.key]: 'o5' } })).toBe('adopted');
    expect(stackOwnership({ tags: { 'Deployer:Managed-By': MANAGED_BY_TAG.value } })).toBe('adopted');
    // A snapshot stored before stacks had tags.
    expect(stackOwnership({} as { tags: Record<string, string> })).toBe('adopted');
  });

  it('notes the adoption in the plan, and nothing for a new stack or one of ours', () => {
    expect(ownershipNote('dev-shop', { tags: {} })).toMatch(/^adopting existing stack dev-shop: it was not created by this deployer \(no deployer:managed-by tag\); it is updated in place/);
    expect(ownershipNote('dev-shop', null)).toBeUndefined();
    expect(ownershipNote('dev-shop', { tags: { [MANAGED_BY_TAG.key]: MANAGED_BY_TAG.value } })).toBeUndefined();
  });

  it('says why a foreign stack whose create failed is left alone, and what to do', () => {
    expect(foreignFailedCreateError('dev-shop', { status: 'ROLLBACK_COMPLETE' })).toMatch(/ROLLBACK_COMPLETE.*not created by this deployer.*Delete it yourself/);
  });
});
