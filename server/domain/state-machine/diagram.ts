/**
 * Mermaid state diagrams drawn from the transition tables, so the docs can never say something the
 * code does not do (docs/state-machines.md is generated from this; a test fails when it drifts).
 */
import type { Machine, MachineEvent } from './machine.ts';

export function mermaidDiagram<S extends string, D, E extends MachineEvent>(machine: Machine<S, D, E>): string {
  const lines = ['stateDiagram-v2'];
  const seen = new Set<string>();
  const node = (status: S) => (status === machine.initialStatus ? '[*]' : status);
  for (const t of machine.transitions) {
    const froms = t.from === 'any' ? machine.statuses.filter((s) => s !== machine.initialStatus) : t.from;
    for (const from of froms) {
      const to = t.to === 'same' ? from : t.to;
      const label = t.note ? `${t.on} (${t.note})` : t.on;
      const line = `    ${node(from)} --> ${to === machine.initialStatus ? '[*]' : to} : ${label}`;
      if (!seen.has(line)) {
        seen.add(line);
        lines.push(line);
      }
    }
  }
  return lines.join('\n');
}

/** The transition table as Markdown rows: from, event, to. */
export function transitionTable<S extends string, D, E extends MachineEvent>(machine: Machine<S, D, E>): string {
  const rows = ['| From | Event | To | Note |', '|---|---|---|---|'];
  for (const t of machine.transitions) {
    const from = t.from === 'any' ? 'any' : t.from.join(', ');
    rows.push(`| ${from} | ${t.on} | ${t.to === 'same' ? '(unchanged)' : t.to} | ${t.note ?? ''} |`);
  }
  return rows.join('\n');
}
