// Unit tests, no AWS: the parameters CF.Restore sends with the version it puts back.
import { describe, expect, it } from 'vitest';
import { maskedParameters, NO_ECHO_MASK, restoreParameters } from './restore-parameters.ts';

describe('restoreParameters', () => {
  it('sends the values found as they are when none is masked (the stack is not described for it)', () => {
    expect(restoreParameters({ VersionTag: 'v1', DesiredCountmain: '3' }, null)).toEqual({
      kind: 'ready',
      parameters: [
        { key: 'VersionTag', value: 'v1' },
        { key: 'DesiredCountmain', value: '3' },
      ],
    });
  });

  it('keeps a NoEcho parameter (found masked) with UsePreviousValue where the stack still has it, masked: never the mask as its value', () => {
    const found = { VersionTag: 'o5-v1', DbMasterPassword: NO_ECHO_MASK };
    expect(maskedParameters(found)).toEqual(['DbMasterPassword']);
    expect(restoreParameters(found, { VersionTag: 'v2', DbMasterPassword: NO_ECHO_MASK })).toEqual({
      kind: 'ready',
      parameters: [
        { key: 'VersionTag', value: 'o5-v1' },
        { key: 'DbMasterPassword', usePreviousValue: true },
      ],
    });
  });

  it('says which NoEcho parameters are lost where the stack no longer has them, or has them with a value of its own', () => {
    const found = { VersionTag: 'o5-v1', DbMasterPassword: NO_ECHO_MASK, ApiKey: NO_ECHO_MASK };
    expect(restoreParameters(found, { VersionTag: 'v2' })).toEqual({ kind: 'lost', keys: ['DbMasterPassword', 'ApiKey'] });
    expect(restoreParameters(found, { VersionTag: 'v2', DbMasterPassword: NO_ECHO_MASK, ApiKey: 'shown' })).toEqual({ kind: 'lost', keys: ['ApiKey'] });
    expect(restoreParameters(found, {})).toEqual({ kind: 'lost', keys: ['DbMasterPassword', 'ApiKey'] });
  });
});
