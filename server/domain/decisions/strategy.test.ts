import { describe, expect, it } from 'vitest';
import { classifyChanges, newRisks, type ChangeSetChange } from '../cloudformation/change-set-findings.ts';
import { checkCodeOf, chooseStrategy, type DatabaseCheck } from './strategy.ts';

const versionChange: ChangeSetChange[] = [
  { action: 'Modify', logicalId: 'TaskMain', resourceType: 'AWS::ECS::TaskDefinition', replacement: 'True', details: [{ changeSource: 'ParameterReference', causingEntity: 'VersionTag' }] },
  { action: 'Modify', logicalId: 'ServiceMain', resourceType: 'AWS::ECS::Service', replacement: 'False', details: [{ changeSource: 'ResourceReference', causingEntity: 'TaskMain' }] },
];
const inPlace: ChangeSetChange = { action: 'Modify', logicalId: 'Queue', resourceType: 'AWS::SQS::Queue', replacement: 'False', details: [{ changeSource: 'DirectModification', name: 'VisibilityTimeout' }] };
const removedRule: ChangeSetChange = { action: 'Remove', logicalId: 'RuleApi0', resourceType: 'AWS::ElasticLoadBalancingV2::ListenerRule', details: [] };
const db = (code: DatabaseCheck['code'], database = 'main'): DatabaseCheck => ({ database, code, note: 'test' });

describe('classifying a change set', () => {
  it('nothing, only the version, in place, replacement or removal of a resource in use', () => {
    expect(classifyChanges([]).outcome).toBe('nothing');
    expect(classifyChanges(versionChange)).toMatchObject({ outcome: 'version', findings: [{ kind: 'version' }, { kind: 'version' }] });
    expect(classifyChanges([...versionChange, inPlace]).outcome).toBe('inPlace');
    expect(classifyChanges([...versionChange, removedRule])).toMatchObject({ outcome: 'replacement', findings: [{}, {}, { kind: 'removal', reason: expect.stringContaining('RuleApi0') }] });
    const replacedRole: ChangeSetChange = { action: 'Modify', logicalId: 'Role', resourceType: 'AWS::IAM::Role', replacement: 'Conditional', details: [{ changeSource: 'DirectModification' }] };
    expect(classifyChanges([replacedRole]).outcome).toBe('replacement');
  });

  it('a task definition replaced by anything but the version is an infra change, not a version one', () => {
    const command: ChangeSetChange = { ...versionChange[0]!, details: [{ changeSource: 'DirectModification', name: 'ContainerDefinitions' }] };
    expect(classifyChanges([command, versionChange[1]!]).outcome).toBe('inPlace');
  });

  it('finds the replacements a later change set has that the evaluation did not', () => {
    const evaluated = classifyChanges([...versionChange, inPlace]);
    expect(newRisks(evaluated, classifyChanges([inPlace]))).toEqual([]);
    expect(newRisks(evaluated, classifyChanges([removedRule])).map((f) => f.logicalId)).toEqual(['RuleApi0']);
  });
});

describe('EvalJoin chooses a branch', () => {
  const version = classifyChanges(versionChange);
  it('NOP: every database at 0 and only the version changed', () => {
    expect(chooseStrategy({ changeSet: version, databases: [db(0)] })).toMatchObject({ strategy: 'NOP', forced: false });
    expect(chooseStrategy({ changeSet: classifyChanges([]), databases: [] }).strategy).toBe('NOP');
  });
  it('PARALLEL: a database at 2, or infra changed beyond the version with databases at 0', () => {
    expect(chooseStrategy({ changeSet: version, databases: [db(2)] }).strategy).toBe('PARALLEL');
    expect(chooseStrategy({ changeSet: classifyChanges([inPlace]), databases: [db(0)] }).strategy).toBe('PARALLEL');
  });
  it('BEFORE: a database at 3 and none at 4', () => {
    expect(chooseStrategy({ changeSet: classifyChanges([inPlace]), databases: [db(3), db(2, 'other')] }).strategy).toBe('BEFORE');
  });
  it('DOWNTIME: a database at 4, an unknown one, or a resource in use removed', () => {
    expect(chooseStrategy({ changeSet: version, databases: [db(4), db(3, 'other')] }).strategy).toBe('DOWNTIME');
    expect(chooseStrategy({ changeSet: version, databases: [db('unknown')] }).strategy).toBe('DOWNTIME');
    expect(chooseStrategy({ changeSet: classifyChanges([removedRule]), databases: [db(0)] }).strategy).toBe('DOWNTIME');
  });
  it("counts unknown as the environment's migration policy says", () => {
    expect(chooseStrategy({ changeSet: version, databases: [db('unknown')], policy: 'migrateFirst' }).strategy).toBe('BEFORE');
    expect(chooseStrategy({ changeSet: version, databases: [db('unknown')], policy: 'compatible' })).toMatchObject({ strategy: 'PARALLEL', counted: { main: 2 } });
  });
  it('lists every reason: the deciding one, each finding, each database', () => {
    const choice = chooseStrategy({ changeSet: classifyChanges([...versionChange, removedRule]), databases: [db(2), db('unknown', 'other')] });
    expect(choice.reasons[0]).toMatch(/^DOWNTIME: database other is at 4; the change set replaces or removes a resource in use/);
    expect(choice.reasons.filter((r) => r.startsWith('change set: '))).toHaveLength(4);
    expect(choice.reasons.filter((r) => r.startsWith('database '))).toEqual([
      expect.stringContaining('database main: 2'),
      expect.stringContaining('database other: unknown (test), counted as 4 by the migration policy breaking'),
    ]);
  });
  it('a forced branch is recorded as forced, with what auto would have chosen', () => {
    const choice = chooseStrategy({ changeSet: version, databases: [db(0)], requested: 'DOWNTIME' });
    expect(choice).toMatchObject({ strategy: 'DOWNTIME', auto: 'NOP', forced: true });
    expect(choice.reasons[0]).toMatch(/^DOWNTIME: forced by the request \(auto would choose NOP/);
  });
  it('reads exit codes 0, 2, 3 and 4; any other is unknown', () => {
    expect([0, 2, 3, 4, 1, 5, 137, undefined].map(checkCodeOf)).toEqual([0, 2, 3, 4, 'unknown', 'unknown', 'unknown', 'unknown']);
  });
});
