import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderStateMachinesDoc, STATE_MACHINES_DOC } from '../../docs/generate-diagrams.ts';

describe('docs/state-machines.md', () => {
  it('is drawn from the transition tables as they are now (run `npm run gen` when this fails)', () => {
    expect(readFileSync(STATE_MACHINES_DOC, 'utf8'), 'docs/state-machines.md is stale: run npm run gen').toBe(renderStateMachinesDoc());
  });
});
