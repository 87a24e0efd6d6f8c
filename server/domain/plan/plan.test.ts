import { describe, expect, it } from 'vitest';
import { parseApplication } from '../application/index.ts';
import { DomainError } from '../errors.ts';
import { buildDeploymentSpec, type DeploymentSpec, type ResolvedDeploymentFlags } from '../spec/index.ts';
import { testCluster, testEnvironment } from '../../../test/support/test-cluster.ts';
import type { StackSnapshot } from '../cloudformation/found-stack.ts';
import { MANAGED_BY_TAG } from '../decisions/stack-ownership.ts';
import { buildPlan, describePlan, planDeployment, planProblems, validatePlan, type PlanStep } from './index.ts';

const OURS = { [MANAGED_BY_TAG.key]: MANAGED_BY_TAG.value };

/** An app like o5deploy: one database `main`, with a migration (plans need no more than that). */
const planApp = () => ({
  name: 'o5deploy',
  databases: [{ name: 'main', postgres: { serverGroup: 'default', migrateContainer: { image: { name: 'o5-deploy-aws' }, command: ['migrate'] } } }],
  runtimes: [{ name: 'main', containers: [{ name: 'main', image: { name: 'o5-deploy-aws' } }] }],
});

const baseSpec = buildDeploymentSpec({
  deploymentId: 'd0c5e7a4-6f1b-4a34-9a56-0f6f8b7b2c11',
  application: parseApplication(planApp()),
  version: '3f1c2a9',
  environment: testEnvironment(),
  cluster: testCluster(),
}).spec;

/** Two databases: `main` with a migration, `cache` without. */
const twoDatabaseSpec = buildDeploymentSpec({
  deploymentId: 'd0c5e7a4-6f1b-4a34-9a56-0f6f8b7b2c12',
  application: parseApplication({
    ...planApp(),
    databases: [...planApp().databases, { name: 'cache', postgres: { serverGroup: 'default' } }],
  }),
  version: '3f1c2a9',
  environment: testEnvironment(),
  cluster: testCluster(),
}).spec;

const noDatabaseSpec: DeploymentSpec = { ...baseSpec, databases: [] };

const EXISTING: StackSnapshot = { status: 'UPDATE_COMPLETE', lifecycle: 'COMPLETE', parameters: {}, tags: OURS, outputs: { DatabaseSecretMain: 'arn:secret', MigrationTaskDefinitionMain: 'arn:task' } };
const ADOPTED: StackSnapshot = { ...EXISTING, tags: { 'o5:app': 'o5deploy' } };
const MISSING = null;

function withFlags(spec: DeploymentSpec, flags: Partial<ResolvedDeploymentFlags>): DeploymentSpec {
  return { ...spec, flags: { ...spec.flags, ...flags } };
}

/** The plan's shape: `name <- deps` per step, `!` marking compensating steps. */
function shape(steps: PlanStep[]): string[] {
  return steps.map((s) => `${s.when === 'failure' ? '!' : ''}${s.name}${s.dependsOn.length ? ` <- ${s.dependsOn.join(', ')}` : ''}`);
}

function step(steps: PlanStep[], name: string): PlanStep {
  const found = steps.find((s) => s.name === name);
  if (!found) throw new Error(`no step ${name} in ${steps.map((s) => s.name).join(', ')}`);
  return found;
}

function desiredCount(steps: PlanStep[], name: string): number {
  const s = step(steps, name);
  if (s.type !== 'cf_update' && s.type !== 'cf_scale') throw new Error(`${name} sets no count`);
  return s.input.desiredCount;
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).kind).toBe('unprocessable');
    return (err as DomainError).message;
  }
  throw new Error('expected the plan to be refused');
}

describe('full plan (no flag)', () => {
  it('new stack: create empty, update at 0, migrate, then scale up', () => {
    const steps = buildPlan(baseSpec, MISSING);
    expect(shape(steps)).toEqual([
      'CF.CreateEmpty',
      'CF.Update <- CF.CreateEmpty',
      'DB.Upsert.main <- CF.Update',
      'DB.Migrate.main <- CF.Update, DB.Upsert.main',
      'DB.Cleanup.main <- DB.Migrate.main',
      'ScaleUp <- CF.Update, DB.Cleanup.main',
      // On failure: no version ran before, so it says so and leaves every service at 0.
      '!CF.Restore <- CF.Update',
    ]);
    expect(desiredCount(steps, 'CF.Update')).toBe(0);
    expect(desiredCount(steps, 'ScaleUp')).toBe(1);
  });

  it('new stack without databases: exactly CreateEmpty, Update, ScaleUp (TestDeploymentFlow)', () => {
    expect(shape(buildPlan(noDatabaseSpec, MISSING))).toEqual(['CF.CreateEmpty', 'CF.Update <- CF.CreateEmpty', 'ScaleUp <- CF.Update']);
  });

  it('existing stack: scale down first, and recover the service if anything after that fails', () => {
    const steps = buildPlan(baseSpec, EXISTING);
    expect(shape(steps)).toEqual([
      'ScaleDown',
      'CF.Update <- ScaleDown',
      'DB.Upsert.main <- CF.Update',
      'DB.Migrate.main <- CF.Update, DB.Upsert.main',
      'DB.Cleanup.main <- DB.Migrate.main',
      'ScaleUp <- CF.Update, DB.Cleanup.main',
      '!CF.Restore <- ScaleDown',
    ]);
    expect(desiredCount(steps, 'ScaleDown')).toBe(0);
    expect(desiredCount(steps, 'CF.Update')).toBe(0);
    // On failure, once nothing else runs: the version that ran before, at its count (not the new one on a failed schema).
    expect(step(steps, 'CF.Restore')).toEqual({
      name: 'CF.Restore',
      type: 'cf_restore',
      dependsOn: ['ScaleDown'],
      when: 'failure',
      input: { stackName: 'test-env-o5deploy' },
    });
  });

  it('a stack that rolled back is a stack', () => {
    expect(shape(buildPlan(baseSpec, { status: 'UPDATE_ROLLBACK_COMPLETE', lifecycle: 'ROLLED_BACK', outputs: {}, parameters: {}, tags: {} }))[0]).toBe('ScaleDown');
  });

  it('the CF steps carry the stack, template, parameters and count; the empty create carries no parameters', () => {
    const steps = buildPlan(baseSpec, MISSING);
    expect(step(steps, 'CF.CreateEmpty')).toEqual({
      name: 'CF.CreateEmpty',
      type: 'cf_create',
      dependsOn: [],
      when: 'success',
      input: { stackName: 'test-env-o5deploy', emptyStack: true, desiredCount: 0, snsTopics: [] },
    });
    expect(step(steps, 'CF.Update').input).toEqual({
      stackName: 'test-env-o5deploy',
      template: baseSpec.template,
      desiredCount: 0,
      parameters: baseSpec.parameters,
      snsTopics: [],
    });
  });

  it('database steps name the infra step whose outputs they read, and depend on it', () => {
    const steps = buildPlan(baseSpec, EXISTING);
    const upsert = step(steps, 'DB.Upsert.main');
    const migrate = step(steps, 'DB.Migrate.main');
    expect(upsert).toMatchObject({ type: 'pg_upsert', input: { infraStep: 'CF.Update', rotateCredentials: false, database: baseSpec.databases[0] } });
    expect(migrate).toMatchObject({
      type: 'pg_migrate',
      input: { infraStep: 'CF.Update', ecsCluster: 'test-ecs', taskOutputName: 'MigrationTaskDefinitionMain' },
    });
    expect(step(steps, 'DB.Cleanup.main')).toMatchObject({ type: 'pg_cleanup', input: { database: baseSpec.databases[0] } });
  });

  it('a database without a migration ends at its upsert; ScaleUp waits for every database', () => {
    expect(shape(buildPlan(twoDatabaseSpec, MISSING))).toEqual([
      'CF.CreateEmpty',
      'CF.Update <- CF.CreateEmpty',
      'DB.Upsert.main <- CF.Update',
      'DB.Migrate.main <- CF.Update, DB.Upsert.main',
      'DB.Cleanup.main <- DB.Migrate.main',
      'DB.Upsert.cache <- CF.Update',
      'ScaleUp <- CF.Update, DB.Cleanup.main, DB.Upsert.cache',
      '!CF.Restore <- CF.Update',
    ]);
  });

  it('rotateCredentials reaches the upsert steps', () => {
    const steps = buildPlan(withFlags(baseSpec, { rotateCredentials: true }), EXISTING);
    expect(step(steps, 'DB.Upsert.main').input).toMatchObject({ rotateCredentials: true });
  });
});

describe('quickMode', () => {
  it('existing stack: one update at the running count (1 here), then the databases; no scaling; the previous version back if a database step fails', () => {
    const steps = buildPlan(withFlags(baseSpec, { quickMode: true }), EXISTING);
    expect(shape(steps)).toEqual([
      'CF.Update',
      'DB.Upsert.main <- CF.Update',
      'DB.Migrate.main <- CF.Update, DB.Upsert.main',
      'DB.Cleanup.main <- DB.Migrate.main',
      '!CF.Restore <- CF.Update',
    ]);
    expect(desiredCount(steps, 'CF.Update')).toBe(1);
  });

  it('new stack ends scaled up (the original left it at 0 tasks)', () => {
    const steps = buildPlan(withFlags(noDatabaseSpec, { quickMode: true }), MISSING);
    expect(shape(steps)).toEqual(['CF.CreateEmpty', 'CF.Update <- CF.CreateEmpty', 'ScaleUp <- CF.Update']);
    expect(desiredCount(steps, 'ScaleUp')).toBe(1);
    expect(shape(buildPlan(withFlags(baseSpec, { quickMode: true }), MISSING)).slice(-2)).toEqual(['ScaleUp <- CF.Update, DB.Cleanup.main', '!CF.Restore <- CF.Update']);
  });
});

describe('dbOnly', () => {
  it('existing stack: NOPDiscovery hands the stack outputs to the database steps; no scaling', () => {
    const steps = buildPlan(withFlags(baseSpec, { dbOnly: true }), EXISTING);
    expect(shape(steps)).toEqual([
      'NOPDiscovery',
      'DB.Upsert.main <- NOPDiscovery',
      'DB.Migrate.main <- NOPDiscovery, DB.Upsert.main',
      'DB.Cleanup.main <- DB.Migrate.main',
    ]);
    expect(step(steps, 'NOPDiscovery')).toMatchObject({ type: 'eval_join', input: { stackOutput: { lifecycle: 'COMPLETE', outputs: EXISTING.outputs } } });
    expect(step(steps, 'DB.Upsert.main').input).toMatchObject({ infraStep: 'NOPDiscovery' });
  });

  it('needs a stack and a database', () => {
    expect(refusal(() => buildPlan(withFlags(baseSpec, { dbOnly: true }), MISSING))).toBe('Cannot migrate databases without a stack');
    expect(refusal(() => buildPlan(withFlags(noDatabaseSpec, { dbOnly: true }), EXISTING))).toBe('Cannot migrate databases: o5deploy has no databases');
  });
});

describe('infraOnly', () => {
  it('applies the template at 0 tasks, creating the stack first when there is none', () => {
    const existing = buildPlan(withFlags(baseSpec, { infraOnly: true }), EXISTING);
    expect(shape(existing)).toEqual(['CF.Update']);
    expect(desiredCount(existing, 'CF.Update')).toBe(0);
    expect(shape(buildPlan(withFlags(baseSpec, { infraOnly: true }), MISSING))).toEqual(['CF.CreateEmpty', 'CF.Update <- CF.CreateEmpty']);
  });
});

describe('importResources', () => {
  it('new stack: create empty, then an import change set', () => {
    const steps = buildPlan(withFlags(baseSpec, { importResources: true }), MISSING);
    expect(shape(steps)).toEqual(['CF.CreateEmpty', 'CF.ImportPlan <- CF.CreateEmpty']);
    expect(step(steps, 'CF.ImportPlan')).toMatchObject({ type: 'cf_plan', input: { importResources: true, desiredCount: 0, stackName: 'test-env-o5deploy' } });
  });

  it('refuses an existing stack', () => {
    expect(refusal(() => buildPlan(withFlags(baseSpec, { importResources: true }), EXISTING))).toBe('Cannot import resources into an existing stack');
  });
});

describe('destroyDatabase', () => {
  it('scales down and drops every database, in parallel; the services stay down', () => {
    const steps = buildPlan(withFlags(twoDatabaseSpec, { destroyDatabase: true }), EXISTING);
    expect(shape(steps)).toEqual(['ScaleDown', 'DB.Destroy.main <- ScaleDown', 'DB.Destroy.cache <- ScaleDown']);
    expect(step(steps, 'DB.Destroy.main')).toMatchObject({ type: 'pg_destroy', input: { database: twoDatabaseSpec.databases[0] } });
  });

  it('needs a stack and a database', () => {
    expect(refusal(() => buildPlan(withFlags(baseSpec, { destroyDatabase: true }), MISSING))).toBe('Cannot destroy databases without a stack');
    expect(refusal(() => buildPlan(withFlags(noDatabaseSpec, { destroyDatabase: true }), EXISTING))).toBe('Cannot destroy databases: o5deploy has no databases');
  });
});

describe('recreateDatabase', () => {
  it('scales down, drops and re-creates each database, migrates with ScaleDown as infra step, scales up, recovers on failure', () => {
    const steps = buildPlan(withFlags(twoDatabaseSpec, { recreateDatabase: true }), EXISTING);
    expect(shape(steps)).toEqual([
      'ScaleDown',
      'DB.Destroy.main <- ScaleDown',
      'DB.Upsert.main <- ScaleDown, DB.Destroy.main',
      'DB.Migrate.main <- ScaleDown, DB.Upsert.main',
      'DB.Cleanup.main <- DB.Migrate.main',
      'DB.Destroy.cache <- ScaleDown',
      'DB.Upsert.cache <- ScaleDown, DB.Destroy.cache',
      'ScaleUp <- DB.Cleanup.main, DB.Upsert.cache',
      '!CF.Restore <- ScaleDown',
    ]);
    expect(step(steps, 'DB.Migrate.main').input).toMatchObject({ infraStep: 'ScaleDown' });
  });

  it('refuses a missing stack (the original planned a ScaleDown that could only fail)', () => {
    expect(refusal(() => buildPlan(withFlags(baseSpec, { recreateDatabase: true }), MISSING))).toBe('Cannot recreate databases without a stack');
  });
});

describe('flag precedence: import > infraOnly > destroy > recreate > dbOnly > quick > full', () => {
  const cases: [Partial<ResolvedDeploymentFlags>, StackSnapshot | null, string][] = [
    [{ importResources: true, infraOnly: true, quickMode: true }, MISSING, 'CF.ImportPlan <- CF.CreateEmpty'],
    [{ infraOnly: true, destroyDatabase: true, dbOnly: true }, EXISTING, 'CF.Update'],
    [{ destroyDatabase: true, recreateDatabase: true }, EXISTING, 'DB.Destroy.main <- ScaleDown'],
    [{ recreateDatabase: true, dbOnly: true, quickMode: true }, EXISTING, '!CF.Restore <- ScaleDown'],
    [{ dbOnly: true, quickMode: true }, EXISTING, 'DB.Cleanup.main <- DB.Migrate.main'],
    [{ quickMode: true, rotateCredentials: true, cancelUpdates: true }, EXISTING, '!CF.Restore <- CF.Update'],
  ];
  it.each(cases)('%j on %j ends with %s', (flags, stack, last) => {
    expect(shape(buildPlan(withFlags(baseSpec, flags), stack)).at(-1)).toBe(last);
  });

  it('importResources wins even where it then refuses', () => {
    expect(refusal(() => buildPlan(withFlags(baseSpec, { importResources: true, infraOnly: true }), EXISTING))).toBe('Cannot import resources into an existing stack');
  });
});

describe('stack states', () => {
  it.each([
    ['null', null, false],
    ['lifecycle MISSING', { status: 'DELETE_COMPLETE', lifecycle: 'MISSING', outputs: {}, parameters: {}, tags: {} }, false],
    ['a wait-phase snapshot', { status: 'UPDATE_COMPLETE', lifecycle: 'COMPLETE', outputs: {}, parameters: {}, tags: {} }, true],
    ['a rolled-back stack', { status: 'UPDATE_ROLLBACK_COMPLETE', lifecycle: 'ROLLED_BACK', outputs: {}, parameters: {}, tags: {} }, true],
  ] as const)('%s: the stack %s', (_label, stack, exists) => {
    expect(buildPlan(baseSpec, stack)[0]!.name).toBe(exists ? 'ScaleDown' : 'CF.CreateEmpty');
  });
});

describe('a stack this deployer did not create (adopted)', () => {
  it('gets the same steps as one of ours: updated in place, never created or deleted', () => {
    for (const flags of [{}, { quickMode: true }, { infraOnly: true }, { dbOnly: true }]) {
      expect(buildPlan(withFlags(baseSpec, flags), ADOPTED)).toEqual(buildPlan(withFlags(baseSpec, flags), EXISTING));
      expect(shape(buildPlan(withFlags(baseSpec, flags), ADOPTED))).not.toContain('CF.CreateEmpty');
    }
    expect(refusal(() => buildPlan(withFlags(baseSpec, { importResources: true }), ADOPTED))).toBe('Cannot import resources into an existing stack');
  });

  it('says so in the plan\'s notes; a new stack or one of ours does not', () => {
    const adopting = /^adopting existing stack test-env-o5deploy: it was not created by this deployer/;
    expect(planDeployment(baseSpec, ADOPTED).notes[0]).toMatch(adopting);
    expect(planDeployment(baseSpec, EXISTING).notes.some((n) => adopting.test(n))).toBe(false);
    expect(planDeployment(baseSpec, MISSING).notes.some((n) => adopting.test(n))).toBe(false);
    expect(planDeployment(baseSpec, { ...ADOPTED, status: 'DELETE_COMPLETE', lifecycle: 'MISSING' }).notes.some((n) => adopting.test(n))).toBe(false);
  });
});

describe('an adopted stack whose template has NoEcho parameters', () => {
  // DescribeStacks shows a NoEcho parameter masked; the deployer's templates declare none.
  const WITH_SECRETS: StackSnapshot = { ...ADOPTED, parameters: { VersionTag: 'o5-v1', DbMasterPassword: '****', EnvName: '****' } };
  const noEcho = (notes: string[]) => notes.filter((n) => n.includes('NoEcho'));

  it('the plan warns that their values would be gone once its template is applied, naming each and what the template does with it', () => {
    expect(baseSpec.parameters.some((p) => p.name === 'EnvName')).toBe(true);
    for (const flags of [{}, { quickMode: true }, { infraOnly: true }]) {
      expect(noEcho(planDeployment(withFlags(baseSpec, flags), WITH_SECRETS).notes)).toEqual([
        'stack test-env-o5deploy runs a template with NoEcho parameters DbMasterPassword, EnvName (CloudFormation never shows their values), ' +
          "and this deployment's template does not declare DbMasterPassword and sets EnvName to a value of its own: once it is applied, their values are gone " +
          'from CloudFormation, so a CF.Restore after that cannot put back the version that runs now and leaves every service at 0 tasks; keep their values elsewhere before deploying',
      ]);
    }
    const one = planDeployment(baseSpec, { ...ADOPTED, parameters: { VersionTag: 'o5-v1', DbMasterPassword: '****' } }).notes;
    expect(noEcho(one)).toEqual([expect.stringMatching(/^stack test-env-o5deploy runs a template with NoEcho parameter DbMasterPassword \(CloudFormation never shows its value\), and this deployment's template does not declare DbMasterPassword: once it is applied, its value is gone/)]);
  });

  it('no warning where the plan does not apply its template, or no parameter is masked', () => {
    expect(noEcho(planDeployment(withFlags(baseSpec, { dbOnly: true }), WITH_SECRETS).notes)).toEqual([]);
    expect(noEcho(planDeployment(withFlags(baseSpec, { destroyDatabase: true }), WITH_SECRETS).notes)).toEqual([]);
    expect(noEcho(planDeployment(baseSpec, { ...ADOPTED, parameters: { VersionTag: 'o5-v1' } }).notes)).toEqual([]);
    expect(noEcho(planDeployment(baseSpec, MISSING).notes)).toEqual([]);
  });
});

describe('validatePlan', () => {
  const scale = (name: string, dependsOn: string[]): PlanStep => ({ name, type: 'cf_scale', dependsOn, when: 'success', input: { stackName: 's', desiredCount: 0 } });

  it('accepts every plan buildPlan makes', () => {
    for (const flags of [{}, { quickMode: true }, { dbOnly: true }, { recreateDatabase: true }, { destroyDatabase: true }, { infraOnly: true }]) {
      expect(planProblems(buildPlan(withFlags(twoDatabaseSpec, flags), EXISTING))).toEqual([]);
    }
  });

  it('reports unknown dependencies, duplicates and cycles', () => {
    expect(planProblems([scale('A', ['B']), scale('B', ['C']), scale('C', ['A']), scale('D', []), scale('D', ['Z'])])).toEqual([
      'Step D appears twice',
      'Step D depends on unknown step Z',
      'Steps depend on each other in a cycle: A -> B -> C -> A',
    ]);
    expect(() => validatePlan([scale('A', ['A'])])).toThrow(DomainError);
  });

  it('reports a database step that does not depend on the infra step it reads', () => {
    const steps = buildPlan(baseSpec, EXISTING).map((s) => (s.name === 'DB.Upsert.main' ? { ...s, dependsOn: [] } : s));
    expect(planProblems(steps)).toEqual(['Step DB.Upsert.main reads the outputs of CF.Update but does not depend on it']);
  });
});

describe('describePlan', () => {
  it('one line per step with what it does and what it waits for', () => {
    expect(describePlan(buildPlan(baseSpec, EXISTING))).toBe(
      [
        '1. ScaleDown (scale to 0 tasks)',
        '2. CF.Update (update the stack to the new template, 0 tasks) after ScaleDown',
        '3. DB.Upsert.main (create or update database main) after CF.Update',
        '4. DB.Migrate.main (run the migration of database main) after CF.Update, DB.Upsert.main',
        '5. DB.Cleanup.main (clean up after migrating database main) after DB.Migrate.main',
        '6. ScaleUp (scale to 1 task) after CF.Update, DB.Cleanup.main',
        '7. CF.Restore (put back the version and desired counts that ran before) only if the deployment fails after ScaleDown',
      ].join('\n'),
    );
    expect(describePlan(buildPlan(withFlags(baseSpec, { importResources: true }), MISSING))).toBe(
      '1. CF.CreateEmpty (create the stack, empty)\n2. CF.ImportPlan (plan the import of retained resources) after CF.CreateEmpty',
    );
  });
});

describe('the counts the services come back at', () => {
  // api at 3 tasks and a singleton worker: a plan that scales them up (or starts the new version)
  // keeps each at its own count (not every service at the largest, nor at 1).
  const RUNNING: StackSnapshot = { ...EXISTING, parameters: { DesiredCountapi: '3', DesiredCountworker: '1' } };
  const ran = { DesiredCountapi: 3, DesiredCountworker: 1 };
  const counts = (steps: PlanStep[], name: string) => {
    const s = step(steps, name);
    if (s.type !== 'cf_update' && s.type !== 'cf_scale') throw new Error(`${name} sets no count`);
    return { desiredCount: s.input.desiredCount, desiredCounts: s.input.desiredCounts };
  };

  it('the full plan on a stack it cannot evaluate scales each service up to the count it ran with', () => {
    expect(counts(buildPlan(baseSpec, RUNNING), 'ScaleUp')).toEqual({ desiredCount: 3, desiredCounts: ran });
    expect(counts(buildPlan(baseSpec, RUNNING), 'ScaleDown')).toEqual({ desiredCount: 0, desiredCounts: undefined });
  });

  it('quick mode on an existing stack updates at the counts that ran', () => {
    expect(counts(buildPlan(withFlags(baseSpec, { quickMode: true }), RUNNING), 'CF.Update')).toEqual({ desiredCount: 3, desiredCounts: ran });
  });

  it('recreateDatabase scales up to the counts that ran', () => {
    expect(counts(buildPlan(withFlags(baseSpec, { recreateDatabase: true }), RUNNING), 'ScaleUp')).toEqual({ desiredCount: 3, desiredCounts: ran });
  });

  it('a stack at 0 (or with no count) comes up at 1, and so does a new stack', () => {
    expect(desiredCount(buildPlan(baseSpec, { ...EXISTING, parameters: { DesiredCountapi: '0' } }), 'ScaleUp')).toBe(1);
    expect(desiredCount(buildPlan(baseSpec, EXISTING), 'ScaleUp')).toBe(1);
    expect(desiredCount(buildPlan(baseSpec, MISSING), 'ScaleUp')).toBe(1);
  });
});
