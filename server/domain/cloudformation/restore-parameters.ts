/**
 * The parameters CF.Restore sends with the version it puts back: those the stack had when the
 * deployment found it (DescribeStacks, kept in the deployment's snapshot). CloudFormation never
 * returns the value of a parameter its template declares `NoEcho`: DescribeStacks shows it masked
 * (`****`). Sent back as it was described, the mask would become the value (a database's master
 * password set to `****`). Such a parameter is sent with `UsePreviousValue`, which keeps the value
 * the stack has now, and only where the stack still has it, masked as well: the version put back
 * is then (still, or again) the one whose secret it holds. Where the stack no longer has it (the
 * deployment's own template, which declares no such parameter, replaced the one found), its value
 * is gone from CloudFormation and that version cannot be put back.
 */
import type { ParameterUpdate } from './scale-parameters.ts';

/** What DescribeStacks (and DescribeChangeSet) show in place of the value of a NoEcho parameter. */
export const NO_ECHO_MASK = '****';

export function isMaskedValue(value: string | undefined): boolean {
  return value === NO_ECHO_MASK;
}

/** The keys whose value was described masked. */
export function maskedParameters(parameters: Record<string, string>): string[] {
  return Object.entries(parameters)
    .filter(([, value]) => isMaskedValue(value))
    .map(([key]) => key);
}

export type RestoreParameters =
  | { kind: 'ready'; parameters: ParameterUpdate[] }
  /** NoEcho parameters of the version to put back that the stack no longer has (their values are lost). */
  | { kind: 'lost'; keys: string[] };

/**
 * The UpdateStack parameters that put `found` back on a stack whose parameters are described as
 * `current` now (null: not described, as no value of `found` is masked).
 */
export function restoreParameters(found: Record<string, string>, current: Record<string, string> | null): RestoreParameters {
  const lost: string[] = [];
  const parameters = Object.entries(found).map(([key, value]): ParameterUpdate => {
    if (!isMaskedValue(value)) return { key, value };
    if (!isMaskedValue(current?.[key])) lost.push(key);
    return { key, usePreviousValue: true };
  });
  return lost.length > 0 ? { kind: 'lost', keys: lost } : { kind: 'ready', parameters };
}
