/**
 * The plan of a deployment: from the spec, its flags and the stack as the wait
 * phase found it, the steps to run. Flags are looked at in this order, the first that is set
 * decides: importResources > infraOnly > destroyDatabase > recreateDatabase > dbOnly > quickMode >
 * full (none of them).
 *
 * Fixes of the original's ⚠s:
 * - quick mode on a new stack ends scaled up (the original left it at 0 tasks);
 * - on an existing stack the service comes back at the count it ran with (the original scaled up to
 *   1, so a service of 3 tasks ended with 1);
 * - recreateDatabase needs an existing stack (the original planned a ScaleDown that could only fail);
 * - when a plan changed what runs (scaled an existing service down, or updated it in quick mode,
 *   or a new stack with databases), a compensating `CF.Restore` step puts the previous version
 *   back at its count if the deployment fails after that (server/domain/plan/restore.ts): a failed
 *   migration leaves neither 0 tasks nor the new version on the schema that failed to migrate.
 */
import { stackExists, type StackSnapshot } from '../cloudformation/found-stack.ts';
import { ownershipNote } from '../decisions/stack-ownership.ts';
import { DomainError } from '../errors.ts';
import type { DeploymentSpec, PostgresSpec } from '../spec/index.ts';
import { DESIRED_COUNT_PREFIX } from '../cloudformation/scale-parameters.ts';
import { VERSION_PARAMETERS } from '../cloudformation/change-set-findings.ts';
import { isMaskedValue, NO_ECHO_MASK, noEchoNotKeptNote } from '../cloudformation/restore-parameters.ts';
import type { KnownCheckCode, Strategy } from '../decisions/strategy.ts';
import { restorePrevious } from './restore.ts';
import { STEP, StepFactory, type PlanStep, type TaskCounts, type VersionParameters, type VersionRetag } from './steps.ts';
import { validatePlan } from './validate.ts';

/** A deployment's plan: its steps, and what it says besides them. */
export interface DeploymentPlan {
  steps: PlanStep[];
  /**
   * Shown with the deployment and in its `run_steps` event: that it adopts a stack this deployer
   * did not create, and why a plan is not the evaluated or parallel one its mode draws (a new
   * stack, a new database, a flag that decides instead).
   */
  notes: string[];
}

/**
 * The plan for a spec over the stack as the wait phase found it (null when there is none), with its
 * notes. Its outputs are what NOPDiscovery hands to database steps in a dbOnly plan.
 */
export function planDeployment(spec: DeploymentSpec, stack: StackSnapshot | null): DeploymentPlan {
  const { steps, notes } = planOf(spec, stack);
  validatePlan(steps);
  const ownership = stackExists(stack) ? ownershipNote(spec.cfStackName, stack) : undefined;
  // Only a plan that applies this deployment's template (now, or in the branch its evaluation chooses).
  const appliesTemplate = steps.some((s) => s.type === 'cf_update' || s.type === 'cf_evaluate' || s.type === 'cf_apply');
  const noEcho = stackExists(stack) && appliesTemplate ? noEchoNotKeptNote(spec.cfStackName, stack!.parameters, spec.parameters.map((p) => p.name)) : undefined;
  return { steps, notes: [...(ownership ? [ownership] : []), ...(noEcho ? [noEcho] : []), ...notes] };
}

/** The plan's steps alone (a plan rendered or evaluated without a deployment). */
export function buildPlan(spec: DeploymentSpec, stack: StackSnapshot | null): PlanStep[] {
  return planDeployment(spec, stack).steps;
}

function planOf(spec: DeploymentSpec, stack: StackSnapshot | null): { steps: PlanStep[]; notes: string[] } {
  const notes: string[] = [];
  const steps = chooseStrategy(spec, stack, notes);
  const requested = spec.evaluation?.strategy ?? 'auto';
  const evaluated = steps.some((s) => s.type === 'eval_strategy');
  if (requested !== 'auto' && !evaluated) notes.push(`strategy ${requested} was asked for, but this plan is not evaluated, so it does not apply`);
  // A plan without a branch to weigh is approved as planned (server/domain/machines/deployment.ts, run_steps).
  if (spec.evaluation?.approvalRequired && !evaluated) notes.push('approval is required: this plan is not evaluated, so its steps wait in EVALUATED as planned for approve or reject');
  return { steps, notes };
}

function chooseStrategy(spec: DeploymentSpec, stack: StackSnapshot | null, notes: string[]): PlanStep[] {
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
    return [...steps, make.scale(STEP.scaleUp, runningCounts(stack!), finals), recovery(spec)];
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
      // In parallel: the database steps read the running stack's outputs and run the new
      // version's migration while CF.Update applies the template.
      const blocker = evaluationBlocker(spec, stack!);
      if (spec.databases.length === 0 || blocker) {
        if (blocker) notes.push(`quick mode runs the database steps after CF.Update: ${blocker}`);
        return [make.update(runningCounts(stack!), []), ...allDatabaseSteps(make, spec.databases, STEP.update).steps, ...restoreAfter(spec, STEP.update)];
      }
      const retag = retagOf(spec, stack!);
      const dbs = spec.databases.flatMap((db) => {
        const upsert = make.upsert(db, STEP.nopDiscovery, [STEP.nopDiscovery]);
        if (!db.migrate) return [upsert];
        const migrate = make.migrate(db, STEP.nopDiscovery, [STEP.nopDiscovery, upsert.name], retag);
        return [upsert, migrate, make.cleanup(db, [migrate.name])];
      });
      return [make.nopDiscovery(stack!), make.update(runningCounts(stack!), []), ...dbs, ...restoreAfter(spec, STEP.update)];
    }
    if (spec.databases.length > 0) notes.push('new stack: the database steps need its outputs, so they follow CF.Update');
    const dbs = allDatabaseSteps(make, spec.databases, STEP.update);
    return [make.createEmpty(), make.update(0, [STEP.createEmpty]), ...dbs.steps, make.scale(STEP.scaleUp, 1, [STEP.update, ...dbs.finals]), ...restoreAfter(spec, STEP.update)];
  }

  // Full: the old version stops before the new template and migrations, the new one starts after.
  const dbs = allDatabaseSteps(make, spec.databases, STEP.update);
  if (!exists) {
    notes.push('new stack: there is nothing running to evaluate against, so this is the full plan');
    return [make.createEmpty(), make.update(0, [STEP.createEmpty]), ...dbs.steps, make.scale(STEP.scaleUp, 1, [STEP.update, ...dbs.finals]), ...restoreAfter(spec, STEP.update)];
  }
  const blocker = evaluationBlocker(spec, stack!) ?? rotationBlocker(spec);
  if (!blocker) return evaluationSteps(spec, stack!);
  notes.push(`not evaluated: ${blocker}; this is the full plan`);
  return [
    make.scale(STEP.scaleDown, 0, []),
    make.update(0, [STEP.scaleDown]),
    ...dbs.steps,
    make.scale(STEP.scaleUp, runningCounts(stack!), [STEP.update, ...dbs.finals]),
    recovery(spec),
  ];
}

/**
 * Runs only if the deployment fails once ScaleDown is DONE: the version that ran before comes back
 * at its count (server/domain/plan/restore.ts), never the new one on a schema that failed to migrate.
 */
function recovery(spec: DeploymentSpec): PlanStep {
  return restorePrevious(spec, [STEP.scaleDown]);
}

/** After `after` (the step that put the new version in place), with databases: CF.Restore on failure. */
function restoreAfter(spec: DeploymentSpec, after: string): PlanStep[] {
  return spec.databases.length > 0 ? [restorePrevious(spec, [after])] : [];
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

/** Why the running stack cannot serve the database steps before the new template is applied. */
function evaluationBlocker(spec: DeploymentSpec, stack: StackSnapshot): string | undefined {
  if (!stack.parameters.VersionTag) return 'the stack has no VersionTag parameter, so its running version is unknown';
  // A NoEcho VersionTag (a stack adopted from elsewhere) is described masked: the mask is no image
  // tag, and the migration task the evaluation runs moves the running version's images to the new.
  if (isMaskedValue(stack.parameters.VersionTag) && spec.databases.some((db) => db.migrate)) {
    return `the stack's VersionTag parameter is NoEcho (CloudFormation shows it only as ${NO_ECHO_MASK}), so its running version is unknown and its migration task cannot be run with the new version's images`;
  }
  for (const db of spec.databases) {
    if ('secretsManager' in db.appConnection && !stack.outputs[db.appConnection.secretsManager.appSecretOutputName]) {
      return `database ${db.appKey} is new to the stack (no ${db.appConnection.secretsManager.appSecretOutputName} output yet)`;
    }
    if (db.migrate && !stack.outputs[db.migrate.taskOutputName]) {
      return `the migration of database ${db.appKey} is new to the stack (no ${db.migrate.taskOutputName} output yet)`;
    }
  }
  return undefined;
}

/**
 * Why a full plan that rotates credentials is not evaluated: the evaluation upserts each database
 * while the running version still serves (and NOP, BEFORE and PARALLEL never stop it), so a new
 * password there takes the running tasks' database login away. The full plan stops the service
 * before DB.Upsert, as refusedFlags (server/domain/spec/flags.ts) promises.
 */
function rotationBlocker(spec: DeploymentSpec): string | undefined {
  if (!spec.flags.rotateCredentials || !spec.databases.some((db) => 'secretsManager' in db.appConnection)) return undefined;
  return 'rotateCredentials gives the database role a new password, and the running tasks would lose their login, so the service stops before DB.Upsert';
}

function newVersionTag(spec: DeploymentSpec): string {
  const p = spec.parameters.find((x) => x.name === 'VersionTag');
  return p && 'value' in p ? p.value : spec.version;
}

/** Moves the running stack's migration task from its version to the new one. */
function retagOf(spec: DeploymentSpec, stack: StackSnapshot): VersionRetag {
  return { from: stack.parameters.VersionTag!, to: newVersionTag(spec) };
}

/**
 * What the services run with when a plan on an existing stack starts or keeps them up: each at the
 * count it ran with (at least 1); a service new to the stack at the largest of them.
 */
export function runningCounts(stack: StackSnapshot): TaskCounts {
  const counts = Object.entries(stack.parameters)
    .filter(([k]) => k.startsWith(DESIRED_COUNT_PREFIX))
    .map(([k, v]) => [k, Number(v)] as const)
    .filter(([, n]) => Number.isInteger(n) && n >= 0)
    .map(([k, n]) => [k, Math.max(1, n)] as const);
  return { desiredCount: Math.max(1, ...counts.map(([, n]) => n)), desiredCounts: Object.fromEntries(counts) };
}

/** The version parameters of the spec or of the running stack. */
function versionParameters(from: Record<string, string>): VersionParameters {
  return Object.fromEntries(VERSION_PARAMETERS.filter((k) => from[k] !== undefined).map((k) => [k, from[k]!]));
}

function specValues(spec: DeploymentSpec): Record<string, string> {
  return Object.fromEntries(spec.parameters.flatMap((p) => ('value' in p ? [[p.name, p.value]] : [])));
}

/**
 * The evaluation half of the full plan on an existing stack: CF.Plan in parallel with each
 * database's Upsert then Evaluate (reading the running stack's outputs, which NOPDiscovery hands
 * on), joined by EvalJoin, whose choice adds the branch (`branchSteps`).
 */
function evaluationSteps(spec: DeploymentSpec, stack: StackSnapshot): PlanStep[] {
  const make = new StepFactory(spec);
  const retag = retagOf(spec, stack);
  const steps: PlanStep[] = [make.nopDiscovery(stack), make.plan(runningCounts(stack))];
  const evaluates: string[] = [];
  const unchecked: string[] = [];
  for (const db of spec.databases) {
    const upsert = make.upsert(db, STEP.nopDiscovery, [STEP.nopDiscovery]);
    steps.push(upsert);
    if (!db.migrate) {
      unchecked.push(upsert.name);
      continue;
    }
    const evaluate = make.evaluate(db, STEP.nopDiscovery, [STEP.nopDiscovery, upsert.name], retag);
    steps.push(evaluate);
    evaluates.push(evaluate.name);
  }
  // EvalJoin waits for every step of the evaluation, the upsert of a database without a check
  // included: a deployment that stops in EVALUATED for approval must have nothing still running,
  // since no step result is taken there (server/domain/machines/deployment.ts).
  steps.push(make.evalJoin(evaluates, unchecked));
  return steps;
}

/**
 * The steps of the chosen branch, added after EvalJoin (README, "Plans"). Migrations run the new
 * version's migration task (the running stack's, retagged), so they need not wait for CF.Apply;
 * a database counted at 0 shows its migration SKIPPED with the reason.
 */
export function branchSteps(
  spec: DeploymentSpec,
  stack: StackSnapshot,
  strategy: Strategy,
  counted: Record<string, KnownCheckCode>,
  existing: readonly PlanStep[] = [],
): PlanStep[] {
  const make = new StepFactory(spec);
  const retag = retagOf(spec, stack);
  const count = runningCounts(stack);
  const migrations = (dependsOn: string[]) => {
    const steps: PlanStep[] = [];
    const finals: string[] = [];
    for (const db of spec.databases) {
      if (!db.migrate) continue;
      const code = counted[db.appKey] ?? 0;
      const migrate = make.migrate(db, STEP.nopDiscovery, [STEP.nopDiscovery, ...dependsOn], retag);
      if (code === 0 || strategy === 'NOP') {
        const why = code === 0 ? `database ${db.appKey} is at 0: no migration pending` : `strategy NOP was forced: database ${db.appKey} (at ${code}) is not migrated`;
        steps.push({ ...migrate, skipReason: why });
        continue;
      }
      const cleanup = make.cleanup(db, [migrate.name]);
      steps.push(migrate, cleanup);
      finals.push(cleanup.name);
    }
    return { steps, finals };
  };
  let steps: PlanStep[];
  switch (strategy) {
    case 'DOWNTIME': {
      const dbs = migrations([STEP.scaleDown]);
      steps = [
        make.scale(STEP.scaleDown, 0, []),
        make.apply(0, [STEP.scaleDown]),
        ...dbs.steps,
        make.scale(STEP.scaleUp, count, [STEP.apply, ...dbs.finals]),
        recovery(spec),
      ];
      break;
    }
    case 'BEFORE': {
      const dbs = migrations([]);
      const running = versionParameters(stack.parameters);
      steps = [make.apply(count, [], running), ...dbs.steps, make.version(versionParameters(specValues(spec)), [STEP.apply, ...dbs.finals])];
      break;
    }
    case 'PARALLEL': {
      const dbs = migrations([]);
      // Only forced over a database at 3 or 4: the new version, live from CF.Apply on, needs that
      // migration or breaks with it, so a failed one puts the previous version back (as quick mode).
      const unsafe = spec.databases.some((db) => db.migrate && (counted[db.appKey] ?? 0) >= 3);
      steps = [make.apply(count, []), ...dbs.steps, ...(unsafe ? [restorePrevious(spec, [STEP.apply])] : [])];
      break;
    }
    case 'NOP':
      steps = [make.version(versionParameters(specValues(spec)), []), ...migrations([]).steps];
      break;
  }
  validatePlan([...existing, ...steps]);
  return steps;
}
