/**
 * The plan of a deployment: from the spec, its flags and the stack as the wait
 * phase found it, the steps to run. Flags are looked at in this order, the first that is set
 * decides: importResources > infraOnly > destroyDatabase > recreateDatabase > dbOnly > quickMode >
 * full (none of them).
 *
 * Fixes of the original's ⚠s:
 * - quick mode on a new stack ends scaled up (the original left it at 0 tasks);
 * - recreateDatabase needs an existing stack (the original planned a ScaleDown that could only fail);
 * - when a plan changed what runs on an existing stack (scaled it down, or updated it in quick
 *   mode), a compensating `CF.Restore` step puts the previous version back at its count if the
 *   deployment fails after that (server/domain/plan/restore.ts): a failed migration leaves neither
 *   0 tasks nor the new version on the schema that failed to migrate.
 */
import { stackExists, type StackSnapshot } from '../cloudformation/found-stack.ts';
import { ownershipNote } from '../decisions/stack-ownership.ts';
import { DomainError } from '../errors.ts';
import type { DeploymentSpec, PostgresSpec } from '../spec/index.ts';
import { restorePrevious } from './restore.ts';
import { STEP, StepFactory, type PlanStep } from './steps.ts';
import { validatePlan } from './validate.ts';

/**
 * The plan for a spec over the stack as the wait phase found it (null when there is none). Its
 * outputs are what NOPDiscovery hands to database steps in a dbOnly plan.
 */
export function buildPlan(spec: DeploymentSpec, stack: StackSnapshot | null): PlanStep[] {
  const steps = chooseStrategy(spec, stack);
  validatePlan(steps);
  return steps;
}

/**
 * What the plan says besides its steps, shown with the deployment and in its `run_steps` event:
 * today, that it adopts a stack this deployer did not create.
 */
export function planNotes(spec: DeploymentSpec, stack: StackSnapshot | null): string[] {
  const note = stackExists(stack) ? ownershipNote(spec.cfStackName, stack) : undefined;
  return note ? [note] : [];
}

function chooseStrategy(spec: DeploymentSpec, stack: StackSnapshot | null): PlanStep[] {
  const exists = stackExists(stack);
  const { flags } = spec;
  const make = new StepFactory(spec);
  const refuse = (message: string): never => {
    throw new DomainError('unprocessable', message);
  };
  const needDatabases = (what: string) => {
    if (spec.databases.length === 0) refuse(`Cannot ${what}: ${spec.appName} has no databases`);
  };

  if (flags.importResources) {
    if (exists) refuse('Cannot import resources into an existing stack');
    return [make.createEmpty(), make.importPlan([STEP.createEmpty])];
  }

  if (flags.infraOnly) {
    // Applies the template and leaves the services at 0 tasks, as the flag says.
    return exists ? [make.update(0, [])] : [make.createEmpty(), make.update(0, [STEP.createEmpty])];
  }

  if (flags.destroyDatabase) {
    if (!exists) refuse('Cannot destroy databases without a stack');
    needDatabases('destroy databases');
    // The services stay at 0: their databases are gone.
    return [make.scale(STEP.scaleDown, 0, []), ...spec.databases.map((db) => make.destroy(db, [STEP.scaleDown]))];
  }

  if (flags.recreateDatabase) {
    if (!exists) refuse('Cannot recreate databases without a stack');
    needDatabases('recreate databases');
    const steps: PlanStep[] = [make.scale(STEP.scaleDown, 0, [])];
    const finals: string[] = [];
    for (const db of spec.databases) {
      steps.push(make.destroy(db, [STEP.scaleDown]));
      const { steps: dbSteps, final } = databaseSteps(make, db, STEP.scaleDown, [STEP.destroy(db.appKey)]);
      steps.push(...dbSteps);
      finals.push(final);
    }
    return [...steps, make.scale(STEP.scaleUp, 1, finals), restorePrevious(spec, [STEP.scaleDown])];
  }

  if (flags.dbOnly) {
    if (!exists) refuse('Cannot migrate databases without a stack');
    needDatabases('migrate databases');
    // The app keeps running; NOPDiscovery hands the current stack outputs to the database steps.
    const discovery = make.nopDiscovery(stack!);
    return [discovery, ...allDatabaseSteps(make, spec.databases, STEP.nopDiscovery).steps];
  }

  if (flags.quickMode) {
    if (exists) {
      const dbs = allDatabaseSteps(make, spec.databases, STEP.update);
      // The new version runs from CF.Update on; a database step failing after it puts the old one back.
      return [make.update(1, []), ...dbs.steps, ...(dbs.steps.length > 0 ? [restorePrevious(spec, [STEP.update])] : [])];
    }
    return newStack(spec, make);
  }

  // Full: the old version stops before the new template and migrations, the new one starts after.
  if (!exists) return newStack(spec, make);
  const dbs = allDatabaseSteps(make, spec.databases, STEP.update);
  return [
    make.scale(STEP.scaleDown, 0, []),
    make.update(0, [STEP.scaleDown]),
    ...dbs.steps,
    make.scale(STEP.scaleUp, 1, [STEP.update, ...dbs.finals]),
    restorePrevious(spec, [STEP.scaleDown]),
  ];
}

/**
 * A new stack: created empty, updated at 0 tasks, the databases, then scaled up. With databases,
 * CF.Restore says on failure that there was no earlier version and leaves every service at 0.
 */
function newStack(spec: DeploymentSpec, make: StepFactory): PlanStep[] {
  const dbs = allDatabaseSteps(make, spec.databases, STEP.update);
  return [
    make.createEmpty(),
    make.update(0, [STEP.createEmpty]),
    ...dbs.steps,
    make.scale(STEP.scaleUp, 1, [STEP.update, ...dbs.finals]),
    ...(dbs.steps.length > 0 ? [restorePrevious(spec, [STEP.update])] : []),
  ];
}

/**
 * Upsert, then (with a migration) Migrate and Cleanup. Migrate also depends on the infra step
 * itself, so the infra step's outputs (the migration task ARN) are handed to it.
 */
function databaseSteps(make: StepFactory, db: PostgresSpec, infraStep: string, extraDeps: string[] = []): { steps: PlanStep[]; final: string } {
  const upsert = make.upsert(db, infraStep, [infraStep, ...extraDeps]);
  if (!db.migrate) return { steps: [upsert], final: upsert.name };
  const migrate = make.migrate(db, infraStep, [infraStep, upsert.name]);
  const cleanup = make.cleanup(db, [migrate.name]);
  return { steps: [upsert, migrate, cleanup], final: cleanup.name };
}

function allDatabaseSteps(make: StepFactory, databases: PostgresSpec[], infraStep: string): { steps: PlanStep[]; finals: string[] } {
  const each = databases.map((db) => databaseSteps(make, db, infraStep));
  return { steps: each.flatMap((d) => d.steps), finals: each.map((d) => d.final) };
}
