/**
 * Checks that a plan can run: unique step names, dependencies that exist, no cycle, and database
 * steps that depend on the infra step whose outputs they read.
 */
import { DomainError } from '../errors.ts';
import type { PlanStep } from './steps.ts';

export function planProblems(steps: readonly PlanStep[]): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const step of steps) {
    if (names.has(step.name)) problems.push(`Step ${step.name} appears twice`);
    names.add(step.name);
  }
  for (const step of steps) {
    for (const dep of step.dependsOn) {
      if (!names.has(dep)) problems.push(`Step ${step.name} depends on unknown step ${dep}`);
      if (dep === step.name) problems.push(`Step ${step.name} depends on itself`);
    }
    if ((step.type === 'pg_upsert' || step.type === 'pg_migrate') && !step.dependsOn.includes(step.input.infraStep)) {
      problems.push(`Step ${step.name} reads the outputs of ${step.input.infraStep} but does not depend on it`);
    }
  }
  const cycle = findCycle(steps);
  if (cycle) problems.push(`Steps depend on each other in a cycle: ${cycle.join(' -> ')}`);
  return problems;
}

/** Throws DomainError('unprocessable') listing every problem. */
export function validatePlan(steps: readonly PlanStep[]): void {
  const problems = planProblems(steps);
  if (problems.length > 0) throw new DomainError('unprocessable', `Invalid plan: ${problems.join('; ')}`);
}

/** A cycle of step names (first name repeated at the end), or null. Depth-first, three colours. */
function findCycle(steps: readonly PlanStep[]): string[] | null {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (name: string): string[] | null => {
    if (state.get(name) === 'done' || !byName.has(name)) return null;
    if (state.get(name) === 'visiting') return [...path.slice(path.indexOf(name)), name];
    state.set(name, 'visiting');
    path.push(name);
    for (const dep of byName.get(name)!.dependsOn) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(name, 'done');
    return null;
  };
  for (const step of steps) {
    const cycle = visit(step.name);
    if (cycle) return cycle;
  }
  return null;
}
