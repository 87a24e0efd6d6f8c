/** Evaluated full plans and parallel quick plans on an existing stack (issue #15). */
import { describe, expect, it } from 'vitest';
import { evaluatedSpec, type EvaluatedSpecOptions } from '../../../test/support/evaluated-spec.ts';
import { testCluster, testEnvironment } from '../../../test/support/test-cluster.ts';
import { parseApplication } from '../application/index.ts';
import { environmentConfigSchema } from '../config/environment.ts';
import type { StackSnapshot } from '../cloudformation/found-stack.ts';
import { MANAGED_BY_TAG } from '../decisions/stack-ownership.ts';
import { buildDeploymentSpec, type DeploymentSpec } from '../spec/index.ts';
import { joinEvaluation } from './evaluation.ts';
import { branchSteps, buildPlan, planDeployment, type PlanStep } from './index.ts';

const spec = (extra: EvaluatedSpecOptions = {}): DeploymentSpec => evaluatedSpec(extra);

const RUNNING: StackSnapshot = {
  status: 'UPDATE_COMPLETE',
  lifecycle: 'COMPLETE',
  parameters: { VersionTag: 'v1', SourceTag: 'o5/o5deploy/v1', DesiredCountMain: '2' },
  tags: { [MANAGED_BY_TAG.key]: MANAGED_BY_TAG.value },
  outputs: { DatabaseSecretMain: 'arn:secret', MigrationTaskDefinitionMain: 'arn:task' },
};

const shape = (steps: PlanStep[]) =>
  steps.map((s) => `${s.when === 'failure' ? '!' : ''}${s.name}${s.dependsOn.length ? ` <- ${s.dependsOn.join(', ')}` : ''}${s.skipReason ? ' (skipped)' : ''}`);

describe('the evaluated full plan', () => {
  it('plans the change set in parallel with each database upsert then evaluate, joined by EvalJoin', () => {
    const steps = buildPlan(spec(), RUNNING);
    expect(shape(steps)).toEqual([
      'NOPDiscovery',
      'CF.Plan',
      'DB.Upsert.main <- NOPDiscovery',
      'DB.Evaluate.main <- NOPDiscovery, DB.Upsert.main',
      'EvalJoin <- CF.Plan, DB.Evaluate.main',
    ]);
    expect(steps.find((s) => s.name === 'CF.Plan')).toMatchObject({ type: 'cf_evaluate', input: { desiredCount: 2 } });
    expect(steps.find((s) => s.name === 'DB.Evaluate.main')).toMatchObject({ input: { retag: { from: 'v1', to: 'v2' } } });
  });

  it('a new stack, a new database or an unknown running version get the full plan, and the plan says why', () => {
    expect(buildPlan(spec(), null).map((s) => s.name)).toContain('CF.CreateEmpty');
    expect(planDeployment(spec(), null).notes).toEqual([expect.stringMatching(/^new stack: there is nothing running to evaluate/)]);
    const newDb = { ...RUNNING, outputs: {} };
    expect(buildPlan(spec(), newDb)[0]!.name).toBe('ScaleDown');
    expect(planDeployment(spec(), newDb).notes).toEqual([expect.stringMatching(/^not evaluated: database main is new to the stack/)]);
    expect(planDeployment(spec(), { ...RUNNING, parameters: {} }).notes).toEqual([expect.stringMatching(/running version is unknown/)]);
  });

  it('a NoEcho VersionTag (described as ****) is an unknown running version: no migration task is retagged from the mask', () => {
    const masked = { ...RUNNING, parameters: { ...RUNNING.parameters, VersionTag: '****' } };
    const planned = planDeployment(spec(), masked);
    expect(planned.steps[0]!.name).toBe('ScaleDown');
    expect(planned.steps.some((s) => 'retag' in (s.input as object))).toBe(false);
    expect(planned.notes).toContain(
      "not evaluated: the stack's VersionTag parameter is NoEcho (CloudFormation shows it only as ****), so its running version is unknown and its migration task cannot be run with the new version's images; this is the full plan",
    );
    // Quick mode runs the database steps after CF.Update (the new template's task), not beside it.
    const quick = { ...spec(), flags: { ...spec().flags, quickMode: true } };
    expect(shape(buildPlan(quick, masked))).toContain('DB.Migrate.main <- CF.Update, DB.Upsert.main');
    expect(planDeployment(quick, masked).notes).toContainEqual(expect.stringMatching(/^quick mode runs the database steps after CF.Update: the stack's VersionTag parameter is NoEcho/));
  });

  it('rotateCredentials stops the service before DB.Upsert sets the new password: the full plan, not the evaluated one', () => {
    // The evaluation upserts each database while the old version runs (and NOP, BEFORE and
    // PARALLEL never stop it): a rotation there takes the running tasks' database login away.
    const rotating = { ...spec(), flags: { ...spec().flags, rotateCredentials: true } };
    const planned = planDeployment(rotating, RUNNING);
    expect(shape(planned.steps)).toEqual([
      'ScaleDown',
      'CF.Update <- ScaleDown',
      'DB.Upsert.main <- CF.Update',
      'DB.Migrate.main <- CF.Update, DB.Upsert.main',
      'DB.Cleanup.main <- DB.Migrate.main',
      'ScaleUp <- CF.Update, DB.Cleanup.main',
      '!CF.Restore <- ScaleDown',
    ]);
    expect(planned.steps.find((s) => s.name === 'DB.Upsert.main')).toMatchObject({ input: { rotateCredentials: true } });
    expect(planned.steps.find((s) => s.name === 'ScaleUp')).toMatchObject({ input: { desiredCount: 2 } });
    expect(planned.notes).toEqual([expect.stringMatching(/^not evaluated: rotateCredentials .*; this is the full plan$/)]);
    // A forced strategy does not apply there, and the plan says so.
    expect(planDeployment({ ...rotating, evaluation: { ...rotating.evaluation!, strategy: 'NOP' } }, RUNNING).notes).toContain(
      'strategy NOP was asked for, but this plan is not evaluated, so it does not apply',
    );
  });

  it('a strategy asked for where no evaluation happens is noted as not applied', () => {
    expect(planDeployment(spec({ strategy: 'NOP' }), null).notes).toContain('strategy NOP was asked for, but this plan is not evaluated, so it does not apply');
  });

  it('an approval asked for where no evaluation happens is noted: the plan does not stop for it', () => {
    expect(planDeployment(spec({ approval: 'required' }), null).notes).toContain(
      'approval is required: this plan is not evaluated, so its steps wait in EVALUATED as planned for approve or reject',
    );
    expect(planDeployment(spec({ approval: 'required' }), RUNNING).notes).toEqual([]);
  });

  const evaluated = buildPlan(spec(), RUNNING);
  it('DOWNTIME: ScaleDown, then CF.Apply at 0 in parallel with migrate then cleanup, then ScaleUp', () => {
    const steps = branchSteps(spec(), RUNNING, 'DOWNTIME', { main: 4 }, evaluated);
    expect(shape(steps)).toEqual([
      'ScaleDown',
      'CF.Apply <- ScaleDown',
      'DB.Migrate.main <- NOPDiscovery, ScaleDown',
      'DB.Cleanup.main <- DB.Migrate.main',
      'ScaleUp <- CF.Apply, DB.Cleanup.main',
      '!CF.Restore <- ScaleDown',
    ]);
    expect(steps[1]).toMatchObject({ type: 'cf_apply', input: { desiredCount: 0 } });
    expect(steps[4]).toMatchObject({ input: { desiredCount: 2 } });
  });
  it('BEFORE: CF.Apply with the running version in parallel with migrate then cleanup, then CF.Version', () => {
    const steps = branchSteps(spec(), RUNNING, 'BEFORE', { main: 3 }, evaluated);
    expect(shape(steps)).toEqual(['CF.Apply', 'DB.Migrate.main <- NOPDiscovery', 'DB.Cleanup.main <- DB.Migrate.main', 'CF.Version <- CF.Apply, DB.Cleanup.main']);
    expect(steps[0]).toMatchObject({ input: { desiredCount: 2, versionParameters: { VersionTag: 'v1', SourceTag: 'o5/o5deploy/v1' } } });
    expect(steps[3]).toMatchObject({ type: 'cf_version', input: { versionParameters: { VersionTag: 'v2', SourceTag: 'o5/o5deploy/v2' } } });
    expect(steps[1]).toMatchObject({ input: { retag: { from: 'v1', to: 'v2' } } });
  });
  it('PARALLEL: CF.Apply with the new version in parallel with the migrations at 2; those at 0 SKIPPED with why', () => {
    expect(shape(branchSteps(spec(), RUNNING, 'PARALLEL', { main: 2 }, evaluated))).toEqual(['CF.Apply', 'DB.Migrate.main <- NOPDiscovery', 'DB.Cleanup.main <- DB.Migrate.main']);
    const atZero = branchSteps(spec(), RUNNING, 'PARALLEL', { main: 0 }, evaluated);
    expect(shape(atZero)).toEqual(['CF.Apply', 'DB.Migrate.main <- NOPDiscovery (skipped)']);
    expect(atZero[1]!.skipReason).toBe('database main is at 0: no migration pending');
  });
  it('PARALLEL forced over a database at 3 or 4: the previous version comes back if its migration fails', () => {
    // The new version runs from CF.Apply on and needs the migration (3) or breaks the running one (4):
    // a failed migration must not leave it live on the schema that failed to migrate.
    for (const code of [3, 4] as const) {
      expect(shape(branchSteps(spec(), RUNNING, 'PARALLEL', { main: code }, evaluated))).toEqual([
        'CF.Apply',
        'DB.Migrate.main <- NOPDiscovery',
        'DB.Cleanup.main <- DB.Migrate.main',
        '!CF.Restore <- CF.Apply',
      ]);
    }
  });
  it('NOP: CF.Version alone', () => {
    expect(shape(branchSteps(spec(), RUNNING, 'NOP', { main: 0 }, evaluated))).toEqual(['CF.Version', 'DB.Migrate.main <- NOPDiscovery (skipped)']);
  });

  it('EvalJoin joins what CF.Plan and DB.Evaluate found into the branch and its steps', () => {
    const done = evaluated.map((s) => ({
      ...s,
      output:
        s.name === 'CF.Plan'
          ? { changeSetName: 'plan-x', outcome: 'version', findings: [], parameters: [] }
          : s.name === 'DB.Evaluate.main'
            ? { check: 3, exitCode: 3, note: 'the check exited 3' }
            : {},
    }));
    const joined = joinEvaluation(spec(), RUNNING, done);
    expect(joined).toMatchObject({ strategy: 'BEFORE', forced: false, counted: { main: 3 } });
    expect(joined.steps.map((s) => s.name)).toEqual(['CF.Apply', 'DB.Migrate.main', 'DB.Cleanup.main', 'CF.Version']);
    const forced = joinEvaluation(spec({ strategy: 'DOWNTIME' }), RUNNING, done);
    expect(forced).toMatchObject({ strategy: 'DOWNTIME', auto: 'BEFORE', forced: true });
  });
});

describe('evaluation settings in the spec', () => {
  it('the environment may require approval and count unknown checks otherwise; a request may require approval too', () => {
    const build = (env: Record<string, unknown>, extra: { approval?: 'required' } = {}) =>
      buildDeploymentSpec({
        deploymentId: 'd0c5e7a4-6f1b-4a34-9a56-0f6f8b7b2c11',
        application: parseApplication({ name: 'o5deploy', runtimes: [{ name: 'main', containers: [{ name: 'main', image: { name: 'x' } }] }] }),
        version: 'v2',
        environment: environmentConfigSchema.parse({ ...testEnvironment(), ...env }),
        cluster: testCluster(),
        ...extra,
      }).spec.evaluation;
    expect(build({})).toEqual({ strategy: 'auto', approvalRequired: false, migrationPolicy: 'breaking' });
    expect(build({ approval: 'required', migrationPolicy: 'migrateFirst' })).toMatchObject({ approvalRequired: true, migrationPolicy: 'migrateFirst' });
    expect(build({ approval: 'none' }, { approval: 'required' })).toMatchObject({ approvalRequired: true });
    expect(environmentConfigSchema.safeParse({ ...testEnvironment(), migrationPolicy: 'sometimes' }).success).toBe(false);
  });

  it('migrateCheck needs a migrate container, whose image it runs in', () => {
    expect(() =>
      parseApplication({
        name: 'o5deploy',
        databases: [{ name: 'main', postgres: { serverGroup: 'default', migrateCheck: { command: ['check'] } } }],
        runtimes: [{ name: 'main', containers: [{ name: 'main', image: { name: 'x' } }] }],
      }),
    ).toThrow(/migrateCheck/);
  });
});

describe('quick mode on an existing stack', () => {
  it('runs CF.Update in parallel with upsert, migrate (the new version, retagged) and cleanup', () => {
    const quick = { ...spec(), flags: { ...spec().flags, quickMode: true } };
    expect(shape(buildPlan(quick, RUNNING))).toEqual([
      'NOPDiscovery',
      'CF.Update',
      'DB.Upsert.main <- NOPDiscovery',
      'DB.Migrate.main <- NOPDiscovery, DB.Upsert.main',
      'DB.Cleanup.main <- DB.Migrate.main',
      // The new version runs from CF.Update on: a failed database step puts the previous one back.
      '!CF.Restore <- CF.Update',
    ]);
    expect(planDeployment(quick, null).notes).toEqual(['new stack: the database steps need its outputs, so they follow CF.Update']);
  });
});
