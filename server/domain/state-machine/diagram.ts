/**
 * Mermaid state diagrams drawn from the transition tables, so the docs can never say something the
 * code does not do (docs/state-machines.md is generated from this; a test fails when it drifts).
 * Each transition shows what it sets off (chains, links, jobs: its `emits`, which `decide` holds it
 * to), so a cascade (request, queue pop, trigger, wait) can be followed from one diagram to the next.
 */
/** What the docs need of a machine: its statuses and its table (any machine has them). */
export interface DrawnMachine {
  initialStatus: string;
  statuses: readonly string[];
  transitions: ReadonlyArray<{ from: readonly string[] | 'any'; on: string; to: string; note?: string; emits?: readonly string[] }>;
  afterEachEmits?: readonly string[];
}

const effectsOf = (t: { emits?: readonly string[] }) => (t.emits?.length ? t.emits.join(', ') : '');

export function mermaidDiagram(machine: DrawnMachine): string {
  const lines = ['stateDiagram-v2'];
  const seen = new Set<string>();
  const node = (status: string) => (status === machine.initialStatus ? '[*]' : status);
  for (const t of machine.transitions) {
    const froms = t.from === 'any' ? machine.statuses.filter((s) => s !== machine.initialStatus) : t.from;
    for (const from of froms) {
      const to = t.to === 'same' ? from : t.to;
      const effects = effectsOf(t);
      const label = `${t.on}${t.note ? ` (${t.note})` : ''}${effects ? ` ⇒ ${effects}` : ''}`;
      const line = `    ${node(from)} --> ${to === machine.initialStatus ? '[*]' : to} : ${label}`;
      if (!seen.has(line)) {
        seen.add(line);
        lines.push(line);
      }
    }
  }
  return lines.join('\n');
}

/** The transition table as Markdown rows: from, event, to, effects; then what follows every transition. */
export function transitionTable(machine: DrawnMachine): string {
  const rows = ['| From | Event | To | Effects | Note |', '|---|---|---|---|---|'];
  for (const t of machine.transitions) {
    const from = t.from === 'any' ? 'any' : t.from.join(', ');
    rows.push(`| ${from} | ${t.on} | ${t.to === 'same' ? '(unchanged)' : t.to} | ${effectsOf(t)} | ${t.note ?? ''} |`);
  }
  if (machine.afterEachEmits?.length) rows.push('', `After every transition, when it applies: ${machine.afterEachEmits.join(', ')}.`);
  return rows.join('\n');
}
