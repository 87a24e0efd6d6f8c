/**
 * What an evaluated change set says (issue #15, CF.Plan): its changes, as DescribeChangeSet lists
 * them (the simulator computes the same shape from two templates), sorted into four outcomes:
 * nothing, only the version, modifications in place, or a replacement or removal of a resource
 * that running tasks use. "No changes" is an outcome, not an error.
 */

/** One resource change of a change set, in DescribeChangeSet's terms (ResourceChange). */
export interface ChangeSetChange {
  action: 'Add' | 'Modify' | 'Remove' | 'Import' | 'Dynamic';
  logicalId: string;
  resourceType: string;
  /** 'True', 'False' or 'Conditional' for a Modify; absent otherwise. */
  replacement?: string;
  /** What caused each part of the change (ResourceChangeDetail). */
  details: { changeSource?: string; causingEntity?: string; attribute?: string; name?: string }[];
}

export type ChangeSetOutcome = 'nothing' | 'version' | 'inPlace' | 'replacement';

export interface ChangeSetFinding {
  logicalId: string;
  resourceType: string;
  action: ChangeSetChange['action'];
  kind: 'version' | 'inPlace' | 'replacement' | 'removal';
  /** One line for the `strategy_chosen` event. */
  reason: string;
}

export interface ChangeSetEvaluation {
  outcome: ChangeSetOutcome;
  findings: ChangeSetFinding[];
}

/** The parameters that carry the version: the images' default tag and the source tag. */
export const VERSION_PARAMETERS = ['VersionTag', 'SourceTag'] as const;

/**
 * Resources that running tasks use: replacing or removing one pulls it from under the old version
 * (its traffic, its queue, its secret, its bucket, its network or its role).
 */
export const IN_USE_TYPES = new Set([
  'AWS::ElasticLoadBalancingV2::ListenerRule',
  'AWS::ElasticLoadBalancingV2::TargetGroup',
  'AWS::SQS::Queue',
  'AWS::SecretsManager::Secret',
  'AWS::S3::Bucket',
  'AWS::EC2::SecurityGroup',
  'AWS::IAM::Role',
]);

const RANK: Record<ChangeSetOutcome, number> = { nothing: 0, version: 1, inPlace: 2, replacement: 3 };

/**
 * A change is "version only" when every part of it comes from a version parameter, or from a
 * resource that itself changed only because of the version (the service follows its replaced task
 * definition). Found as a fixpoint over the changes.
 */
function versionOnly(changes: ChangeSetChange[]): Set<string> {
  const byId = new Map(changes.map((c) => [c.logicalId, c]));
  const only = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const change of changes) {
      if (only.has(change.logicalId) || change.action !== 'Modify' || change.details.length === 0) continue;
      const fromVersion = change.details.every((d) => {
        if (d.changeSource === 'ParameterReference') return (VERSION_PARAMETERS as readonly string[]).includes(d.causingEntity ?? '');
        if (d.changeSource === 'ResourceReference' || d.changeSource === 'ResourceAttribute') {
          const cause = (d.causingEntity ?? '').split('.')[0]!;
          return byId.has(cause) && only.has(cause);
        }
        return false;
      });
      if (fromVersion) {
        only.add(change.logicalId);
        grew = true;
      }
    }
  }
  return only;
}

export function classifyChanges(changes: ChangeSetChange[]): ChangeSetEvaluation {
  const versionIds = versionOnly(changes);
  const findings = changes.map((c): ChangeSetFinding => {
    const base = { logicalId: c.logicalId, resourceType: c.resourceType, action: c.action };
    const what = `${c.logicalId} (${c.resourceType})`;
    if (versionIds.has(c.logicalId)) return { ...base, kind: 'version', reason: `${what} changes with the version only` };
    const inUse = IN_USE_TYPES.has(c.resourceType);
    if (c.action === 'Remove' && inUse) return { ...base, kind: 'removal', reason: `${what} is removed, and running tasks use it` };
    if (c.action === 'Modify' && inUse && (c.replacement === 'True' || c.replacement === 'Conditional')) {
      return { ...base, kind: 'replacement', reason: `${what} is replaced${c.replacement === 'Conditional' ? ' (conditionally)' : ''}, and running tasks use it` };
    }
    const verb = c.action === 'Add' ? 'is added' : c.action === 'Remove' ? 'is removed' : c.replacement === 'True' ? 'is replaced' : 'is modified in place';
    return { ...base, kind: 'inPlace', reason: `${what} ${verb}` };
  });
  const outcome = findings.reduce<ChangeSetOutcome>((worst, f) => {
    const kind: ChangeSetOutcome = f.kind === 'removal' ? 'replacement' : f.kind;
    return RANK[kind] > RANK[worst] ? kind : worst;
  }, 'nothing');
  return { outcome, findings };
}

/** Findings of `later` that are worse than anything `evaluated` found: what changed since evaluation. */
export function newRisks(evaluated: ChangeSetEvaluation, later: ChangeSetEvaluation): ChangeSetFinding[] {
  const known = new Set(evaluated.findings.filter((f) => f.kind === 'replacement' || f.kind === 'removal').map((f) => f.logicalId));
  return later.findings.filter((f) => (f.kind === 'replacement' || f.kind === 'removal') && !known.has(f.logicalId));
}
