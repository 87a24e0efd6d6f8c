/** How the CLI shows things to people: deployments, steps, durations, tables, problems. */
import type { Problem } from '../client.ts';
import type { Deployment } from '../events.ts';

type Step = Deployment['steps'][number];

const ANSI = { red: 31, green: 32, yellow: 33, blue: 34, dim: 2, bold: 1 } as const;
export type Color = keyof typeof ANSI;

export function paint(text: string, color: Color, enabled: boolean): string {
  return enabled ? `\x1b[${ANSI[color]}m${text}\x1b[0m` : text;
}

const STATUS_COLORS: Record<string, Color> = {
  DONE: 'green',
  FAILED: 'red',
  TERMINATED: 'red',
  ACTIVE: 'yellow',
  RUNNING: 'yellow',
  WAITING: 'yellow',
  TRIGGERED: 'yellow',
  AVAILABLE: 'yellow',
  EVALUATED: 'blue',
  SKIPPED: 'dim',
  BLOCKED: 'dim',
  READY: 'blue',
  QUEUED: 'blue',
};

/** A status (or anything standing for one, such as a step's mark) in the status's color. */
export function paintStatus(status: string, enabled: boolean, text = status): string {
  return paint(text, STATUS_COLORS[status] ?? 'bold', enabled);
}

/** 850ms, 4.2s, 3m05s, 1h02m. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}s`;
  const seconds = Math.floor(ms / 1_000);
  if (seconds < 3_600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3_600)}h${String(Math.floor((seconds % 3_600) / 60)).padStart(2, '0')}m`;
}

/** How long a step (or deployment) took, or has been going on at `now`; empty when it has not started. */
export function elapsed(startedAt: string | null, finishedAt: string | null, now: number): string {
  if (!startedAt) return '';
  return formatDuration((finishedAt ? Date.parse(finishedAt) : now) - Date.parse(startedAt));
}

/** 14:03:07, in local time. */
export function clock(iso: string | null | undefined): string {
  const date = iso ? new Date(iso) : new Date();
  return date.toTimeString().slice(0, 8);
}

/** Columns padded to the widest cell; the last column is not padded. */
export function table(rows: string[][], widthOf: (cell: string) => number = visibleLength): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, widthOf(cell))));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - widthOf(cell))))
      .join('  ')
      .trimEnd(),
  );
}

function visibleLength(text: string): number {
  return displayWidth(text);
}

const ANSI_SGR = /\x1b\[[0-9;]*m/g;

/** Columns a code point takes on a terminal: 0 for combining marks and joiners, 2 for wide (CJK, emoji), else 1. */
function codePointWidth(cp: number): number {
  if (cp < 0x300) return 1;
  if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xe0100 && cp <= 0xe01ef)) return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x231a && cp <= 0x231b) ||
    (cp >= 0x23e9 && cp <= 0x23ec) ||
    (cp >= 0x25fd && cp <= 0x25fe) ||
    (cp >= 0x2614 && cp <= 0x2615) ||
    (cp >= 0x2648 && cp <= 0x2653) ||
    (cp >= 0x26a1 && cp <= 0x26a1) ||
    (cp >= 0x26bd && cp <= 0x26be) ||
    (cp >= 0x26c4 && cp <= 0x26c5) ||
    (cp >= 0x2705 && cp <= 0x2705) ||
    (cp >= 0x270a && cp <= 0x270b) ||
    (cp >= 0x274c && cp <= 0x274c) ||
    (cp >= 0x2753 && cp <= 0x2755) ||
    (cp >= 0x2795 && cp <= 0x2797) ||
    (cp >= 0x2b1b && cp <= 0x2b1c) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f680 && cp <= 0x1f6ff) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x1fa70 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

/** How many terminal columns the text takes (color codes take none; CJK and emoji take two). */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text.replace(ANSI_SGR, '')) width += codePointWidth(ch.codePointAt(0)!);
  return width;
}

/**
 * The line as it fits in `columns` without wrapping: as it is when it fits, else cut (by code
 * point, never inside a surrogate pair) and ended with `…`, without its colors.
 */
export function fitWidth(line: string, columns: number): string {
  if (displayWidth(line) < columns) return line;
  let out = '';
  let width = 0;
  for (const ch of line.replace(ANSI_SGR, '')) {
    const w = codePointWidth(ch.codePointAt(0)!);
    if (width + w > columns - 2) break;
    out += ch;
    width += w;
  }
  return `${out}…`;
}

/** `shop v1 into demo (stack demo-shop)` */
export function describeDeployment(d: Deployment): string {
  return `${d.application} ${d.version} into ${d.environment} (stack ${d.stackName})`;
}

const STEP_MARKS: Record<string, string> = { DONE: '✓', FAILED: '✗', ACTIVE: '●', READY: '○', BLOCKED: '·', SKIPPED: '-' };

/** The steps as a table: mark, name, type, status, duration, error. */
export function stepLines(steps: Step[], now: number, colors: boolean): string[] {
  const rows = steps.map((s) => [
    paintStatus(s.status, colors, STEP_MARKS[s.status] ?? '?'),
    s.name,
    paint(s.type, 'dim', colors),
    paintStatus(s.status, colors),
    elapsed(s.startedAt, s.finishedAt, now),
    s.error ? paint(s.error, 'red', colors) : '',
  ]);
  return table(rows).map((line) => `  ${line}`);
}

/** The whole deployment, as `deployer status` shows it. */
export function deploymentLines(d: Deployment, now: number, colors: boolean): string[] {
  const lines = [
    `${paint('Deployment', 'bold', colors)} ${d.id}  ${paintStatus(d.status, colors)}`,
    `  ${describeDeployment(d)}`,
    `  requested ${d.createdAt}${d.source.requestedBy ? ` by ${d.source.requestedBy}` : ''}${d.source.github ? ` from ${d.source.github.owner}/${d.source.github.repo}@${d.source.github.ref} (${d.source.github.commit.slice(0, 12)})` : ''}`,
  ];
  if (d.startedAt) lines.push(`  started ${d.startedAt}, ${d.finishedAt ? `took ${elapsed(d.startedAt, d.finishedAt, now)}` : `running for ${elapsed(d.startedAt, null, now)}`}`);
  const flags = Object.entries(d.flags).filter(([, on]) => on).map(([name]) => name);
  if (flags.length) lines.push(`  flags: ${flags.join(', ')}`);
  for (const note of d.planNotes) lines.push(`  plan: ${note}`);
  if (d.rollbackOf) lines.push(`  rollback of ${d.rollbackOf}`);
  if (d.waitingFor) {
    lines.push(`  waiting: position ${d.waitingFor.position} in the stack's queue`);
    for (const b of d.waitingFor.blockers) lines.push(`    ${b.description}`);
    if (!d.waitingFor.blockers.length) lines.push('    next to start');
  }
  if (d.supersededBy) lines.push(`  superseded by ${d.supersededBy}`);
  // An error has a line per failed step, then what CF.Restore did: each under the label.
  if (d.error) d.error.split('\n').forEach((line, i) => lines.push(`  ${paint(`${i === 0 ? 'error:' : '      '} ${line}`, 'red', colors)}`));
  const evaluation = evaluationLines(d, colors);
  if (evaluation.length) lines.push('', ...evaluation);
  if (d.steps.length) lines.push('', ...stepLines(d.steps, now, colors));
  return lines;
}

/** What an evaluated deployment chose and why, and what to do when it waits for approval. */
export function evaluationLines(d: Deployment, colors: boolean): string[] {
  const e = d.evaluation;
  if (!e) return planApprovalLines(d, colors);
  const lines = [
    `${paint('Evaluation', 'bold', colors)}: ${paint(e.strategy, 'bold', colors)}${e.forced ? ` (forced; auto would choose ${e.auto})` : ''}`,
    ...e.reasons.map((r) => `  - ${r}`),
  ];
  if (d.status === 'EVALUATED') lines.push(`  waiting for approval: deployer approve ${d.id}  |  deployer reject ${d.id} --reason TEXT`);
  if (e.decision) lines.push(`  ${e.decision.approved ? 'approved' : `rejected: ${e.decision.reason ?? ''}`}${e.decision.by ? ` by ${e.decision.by}` : ''}`);
  return lines;
}

/** A plan that is not evaluated, held for approval: its steps (below) wait as planned. */
function planApprovalLines(d: Deployment, colors: boolean): string[] {
  const a = d.planApproval;
  if (!a) return [];
  const lines = [`${paint('Approval', 'bold', colors)}: the plan below, as planned (not evaluated)`];
  if (d.status === 'EVALUATED') lines.push(`  waiting for approval: deployer approve ${d.id}  |  deployer reject ${d.id} --reason TEXT`);
  if (a.decision) lines.push(`  ${a.decision.approved ? 'approved' : `rejected: ${a.decision.reason ?? ''}`}${a.decision.by ? ` by ${a.decision.by}` : ''}`);
  return lines;
}

/** A problem as people read it: title and status, the detail, then each `path: message`. */
export function problemLines(problem: Problem, status: number): string[] {
  const lines = [`${problem.title} (HTTP ${status})`];
  const issues = (problem.errors ?? []).map((issue) => `${issue.path ? `${issue.path}: ` : ''}${issue.message}`);
  // A detail that only repeats the issues is left out.
  if (problem.detail && problem.detail !== issues.join('; ')) lines.push(`  ${problem.detail}`);
  for (const issue of issues) lines.push(`  ${issue}`);
  return lines;
}
