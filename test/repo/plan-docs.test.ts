import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PLANS_DOC, renderPlansDoc } from '../../docs/generate-plan-diagrams.ts';

describe('docs/plans.md', () => {
  it('is drawn from the plan builders as they are now (run `npm run gen` when this fails)', () => {
    expect(readFileSync(PLANS_DOC, 'utf8'), 'docs/plans.md is stale: run npm run gen').toBe(renderPlansDoc());
  });

  it('shows the four branches of the evaluated plan', () => {
    const doc = renderPlansDoc();
    for (const branch of ['DOWNTIME', 'BEFORE', 'PARALLEL', 'NOP']) expect(doc).toContain(`EvalJoin -->|${branch}|`);
  });
});
