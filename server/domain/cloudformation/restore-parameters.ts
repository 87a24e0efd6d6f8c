/**
 * The parameters CF.Restore sends with the version it puts back: exactly those the template put back
 * declares (its Parameters section). CloudFormation refuses a parameter the template does not
 * declare (`Parameters: [X] do not exist in the template`), and the stack may have some: the
 * template of the last deployment that ended DONE is older than the stack's own where a later
 * deployment added a service and failed without putting that template back. Each declared
 * parameter gets, in this order:
 * - the value the stack had when the deployment found it (DescribeStacks, kept in the deployment's
 *   snapshot: the version that ran before);
 * - 0 for the desired count of a service the stack was found without (it ran no task then);
 * - `UsePreviousValue`, where it was found masked or not found at all and the stack has it now;
 * - nothing, where the template declares a default (CloudFormation then takes the default);
 * otherwise it has no value and that version cannot be put back.
 *
 * CloudFormation never returns the value of a parameter its template declares `NoEcho`:
 * DescribeStacks shows it masked (`****`). Sent back as it was described, the mask would become the
 * value (a database's master password set to `****`). Such a parameter is sent with
 * `UsePreviousValue`, which keeps the value the stack has now, and only where the stack still has
 * it, masked as well: the version put back is then (still, or again) the one whose secret it holds.
 * Where the stack no longer has it (the deployment's own template, which declares no such
 * parameter, replaced the one found), its value is gone from CloudFormation and that version cannot
 * be put back.
 */
import { parse as parseYaml } from 'yaml';
import { DESIRED_COUNT_PREFIX, type ParameterUpdate } from './scale-parameters.ts';

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

/**
 * A parameter as it is sent: a value copied from a description that shows it masked (a NoEcho
 * parameter of the stack, e.g. the running version pinned by a BEFORE branch over an adopted
 * stack whose template declares VersionTag NoEcho) is sent as `UsePreviousValue`, which keeps the
 * value the stack has, never as the literal mask.
 */
export function unmaskedParameter(parameter: ParameterUpdate): ParameterUpdate {
  return 'value' in parameter && isMaskedValue(parameter.value) ? { key: parameter.key, usePreviousValue: true } : parameter;
}

/** One parameter a template declares. */
export interface TemplateParameter {
  key: string;
  /** Its `Default`, as CloudFormation reads it (a string); absent when it has none. */
  default?: string;
  noEcho: boolean;
}

export class TemplateParametersError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateParametersError';
  }
}

/**
 * The parameters a template body (JSON or YAML, as CloudFormation takes it) declares, in its order.
 * YAML short forms (`!Ref X`) are read as their argument: only the Parameters section matters here.
 */
export function templateParameters(body: string): TemplateParameter[] {
  let parsed: unknown;
  try {
    parsed = body.trimStart().startsWith('{') ? JSON.parse(body) : parseYaml(body, { logLevel: 'silent' });
  } catch (err) {
    throw new TemplateParametersError(`Template format error: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new TemplateParametersError('Template format error: not an object');
  const section = (parsed as { Parameters?: unknown }).Parameters ?? {};
  if (typeof section !== 'object' || section === null || Array.isArray(section)) throw new TemplateParametersError('Template format error: Parameters is not an object');
  return Object.entries(section as Record<string, unknown>).map(([key, declaration]) => {
    const d = (typeof declaration === 'object' && declaration !== null ? declaration : {}) as { Default?: unknown; NoEcho?: unknown };
    return {
      key,
      ...(d.Default !== undefined && d.Default !== null && { default: Array.isArray(d.Default) ? d.Default.join(',') : String(d.Default) }),
      noEcho: d.NoEcho === true || String(d.NoEcho).toLowerCase() === 'true',
    };
  });
}

/** Whether putting back a template with these parameters needs the stack as it is now (restoreParameters' `current`). */
export function needsCurrentParameters(found: Record<string, string>, declared: readonly TemplateParameter[]): boolean {
  return declared.some((p) => !Object.hasOwn(found, p.key) || isMaskedValue(found[p.key]));
}

export type RestoreParameters =
  /** `parameters`: as sent; `values`: the value of each as it was found (or its default), for what the step says it put back. */
  | { kind: 'ready'; parameters: ParameterUpdate[]; values: Record<string, string> }
  /**
   * `keys`: NoEcho parameters of the version to put back that the stack no longer has (their values
   * are lost); `missing`: parameters it declares without a default that have no value at all.
   */
  | { kind: 'lost'; keys: string[]; missing: string[] };

/**
 * The UpdateStack parameters that put back a template declaring `declared`, over a stack found with
 * the parameters `found` and described as `current` now (null: not described, as every declared
 * parameter was found with a value shown; see needsCurrentParameters).
 */
export function restoreParameters(
  found: Record<string, string>,
  current: Record<string, string> | null,
  declared: readonly TemplateParameter[],
): RestoreParameters {
  const lost: string[] = [];
  const missing: string[] = [];
  const parameters: ParameterUpdate[] = [];
  const values: Record<string, string> = {};
  const onStackNow = (key: string) => !!current && Object.hasOwn(current, key);
  for (const { key, default: byDefault } of declared) {
    const value = Object.hasOwn(found, key) ? found[key] : undefined;
    if (value !== undefined && !isMaskedValue(value)) {
      parameters.push({ key, value });
      values[key] = value;
    } else if (value !== undefined) {
      // Found masked: only the stack holds the value, and only while it still has it masked.
      if (isMaskedValue(current?.[key])) {
        parameters.push({ key, usePreviousValue: true });
        values[key] = value;
      } else {
        lost.push(key);
      }
    } else if (key.startsWith(DESIRED_COUNT_PREFIX)) {
      // A service the stack did not have when found ran no task: it comes back at 0, as it ran.
      parameters.push({ key, value: '0' });
      values[key] = '0';
    } else if (onStackNow(key)) {
      parameters.push({ key, usePreviousValue: true });
      values[key] = current![key]!;
    } else if (byDefault !== undefined) {
      values[key] = byDefault;
    } else {
      missing.push(key);
    }
  }
  return lost.length > 0 || missing.length > 0 ? { kind: 'lost', keys: lost, missing } : { kind: 'ready', parameters, values };
}

/**
 * The plan's warning about a stack whose template has NoEcho parameters (described masked) that the
 * deployment's template does not keep: it does not declare them, or sets them to values of its own.
 * Once that template is applied, CloudFormation no longer holds their values, and nothing else does:
 * a later CF.Restore could not put back the version that runs now (it leaves every service at 0).
 */
export function noEchoNotKeptNote(stackName: string, found: Record<string, string>, newParameters: readonly string[]): string | undefined {
  const masked = maskedParameters(found);
  if (masked.length === 0) return undefined;
  const declared = new Set(newParameters);
  const dropped = masked.filter((key) => !declared.has(key));
  const replaced = masked.filter((key) => declared.has(key));
  const how = [
    ...(dropped.length > 0 ? [`does not declare ${dropped.join(', ')}`] : []),
    ...(replaced.length > 0 ? [`sets ${replaced.join(', ')} to ${replaced.length > 1 ? 'values' : 'a value'} of its own`] : []),
  ].join(' and ');
  const them = masked.length > 1 ? 'their values' : 'its value';
  return (
    `stack ${stackName} runs a template with NoEcho ${masked.length > 1 ? 'parameters' : 'parameter'} ${masked.join(', ')} (CloudFormation never shows ${them}), ` +
    `and this deployment's template ${how}: once it is applied, ${them} ${masked.length > 1 ? 'are' : 'is'} gone from CloudFormation, so a CF.Restore ` +
    `after that cannot put back the version that runs now and leaves every service at 0 tasks; keep ${them} elsewhere before deploying`
  );
}
