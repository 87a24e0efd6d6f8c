/**
 * EvalJoin's choice (issue #15): from the evaluated change set and each database's migration
 * check, the branch a full deployment on an existing stack takes, with every reason.
 *
 * - DOWNTIME: a database at 4 (unknown counts as 4 unless the environment's policy says otherwise),
 *   or a replacement or removal of a resource running tasks use.
 * - BEFORE: a database at 3 and none at 4: migrate first, then roll the version.
 * - PARALLEL: none at 3 or 4, and a database at 2 or the infra changed beyond the version.
 * - NOP: every database at 0 and at most the version changed.
 */
import type { ChangeSetEvaluation } from '../cloudformation/change-set-findings.ts';

export const STRATEGIES = ['DOWNTIME', 'BEFORE', 'PARALLEL', 'NOP'] as const;
export type Strategy = (typeof STRATEGIES)[number];
export type RequestedStrategy = 'auto' | Strategy;

/** What a migration check answered: its documented exit codes, or unknown (no check, any other exit). */
export type CheckCode = 0 | 2 | 3 | 4 | 'unknown';
export type KnownCheckCode = Exclude<CheckCode, 'unknown'>;

/** How the environment counts an unknown check (`migrationPolicy`); 'breaking' (4) by default. */
export const MIGRATION_POLICIES = ['breaking', 'migrateFirst', 'compatible'] as const;
export type MigrationPolicy = (typeof MIGRATION_POLICIES)[number];
const UNKNOWN_AS: Record<MigrationPolicy, KnownCheckCode> = { breaking: 4, migrateFirst: 3, compatible: 2 };

export interface DatabaseCheck {
  database: string;
  code: CheckCode;
  /** The exit code when the check ran. */
  exitCode?: number;
  /** Why the code is what it is (no check, exit code, no migration). */
  note: string;
}

export interface StrategyChoice {
  strategy: Strategy;
  /** What `auto` chose; differs from `strategy` when the request forced another. */
  auto: Strategy;
  forced: boolean;
  /** Every finding of the change set and every database result, the deciding one first. */
  reasons: string[];
  /** Each database's code as the choice counted it (unknown resolved by the policy). */
  counted: Record<string, KnownCheckCode>;
}

const MEANING: Record<KnownCheckCode, string> = {
  0: 'nothing pending',
  2: 'pending, the running and the new version both work before and after it',
  3: 'pending, the running version works with the migrated schema and the new one needs it (migrate first)',
  4: 'pending and breaking for the running version',
};

export function countedCode(code: CheckCode, policy: MigrationPolicy = 'breaking'): KnownCheckCode {
  return code === 'unknown' ? UNKNOWN_AS[policy] : code;
}

export function chooseStrategy(input: {
  changeSet: ChangeSetEvaluation;
  databases: DatabaseCheck[];
  policy?: MigrationPolicy;
  requested?: RequestedStrategy;
}): StrategyChoice {
  const policy = input.policy ?? 'breaking';
  const counted = Object.fromEntries(input.databases.map((d) => [d.database, countedCode(d.code, policy)]));
  const at = (code: KnownCheckCode) => input.databases.filter((d) => counted[d.database] === code).map((d) => d.database);
  const { outcome } = input.changeSet;

  let auto: Strategy;
  let decisive: string;
  if (at(4).length > 0 || outcome === 'replacement') {
    auto = 'DOWNTIME';
    decisive = [
      ...at(4).map((d) => `database ${d} is at 4`),
      ...(outcome === 'replacement' ? ['the change set replaces or removes a resource in use'] : []),
    ].join('; ');
  } else if (at(3).length > 0) {
    auto = 'BEFORE';
    decisive = `${at(3).map((d) => `database ${d}`).join(', ')} at 3 and none at 4`;
  } else if (at(2).length > 0 || outcome === 'inPlace') {
    auto = 'PARALLEL';
    decisive = [
      ...(at(2).length > 0 ? [`${at(2).map((d) => `database ${d}`).join(', ')} at 2`] : []),
      ...(outcome === 'inPlace' ? ['the infrastructure changes beyond the version'] : []),
    ].join('; ') + ', none at 3 or 4';
  } else {
    auto = 'NOP';
    decisive = `every database at 0 and ${outcome === 'nothing' ? 'nothing changes' : 'only the version changes'}`;
  }

  const requested = input.requested ?? 'auto';
  const strategy = requested === 'auto' ? auto : requested;
  const forced = requested !== 'auto';
  const reasons = [
    forced ? `${strategy}: forced by the request (auto would choose ${auto}: ${decisive})` : `${strategy}: ${decisive}`,
    `change set: ${outcome === 'nothing' ? 'no changes' : outcome === 'version' ? 'only the version' : outcome === 'inPlace' ? 'modifications in place' : 'a replacement or removal of a resource in use'}`,
    ...input.changeSet.findings.map((f) => `change set: ${f.reason}`),
    ...input.databases.map((d) => {
      const c = counted[d.database]!;
      const how = d.code === 'unknown' ? `unknown (${d.note}), counted as ${c} by the migration policy ${policy}` : `${c} (${d.note})`;
      return `database ${d.database}: ${how}: ${MEANING[c]}`;
    }),
  ];
  return { strategy, auto, forced, reasons, counted };
}

/** The code a migration check's exit code means; anything undocumented is unknown. */
export function checkCodeOf(exitCode: number | undefined): CheckCode {
  return exitCode === 0 || exitCode === 2 || exitCode === 3 || exitCode === 4 ? exitCode : 'unknown';
}
