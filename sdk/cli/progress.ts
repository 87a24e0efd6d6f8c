/**
 * Following a deployment to its end (`deployer watch`, and `deploy`/`trigger` with --wait): the
 * steps with their status and durations, redrawn in place on a terminal, or one plain line per
 * change when the output is a file or a pipe. The events come live from the SDK's
 * waitForDeployment; each one makes the view fetch the deployment again (at most one fetch in
 * flight), so what is shown is always the API's own view of it.
 */
import type { Deployment, FinishedDeployment } from '../events.ts';
import { getDeployment, waitForDeployment } from '../helpers.ts';
import { EXIT_FAILED, EXIT_OK, type Cli } from './cli.ts';
import { clock, deploymentLines, describeDeployment, elapsed, evaluationLines, fitWidth, paint, paintStatus } from './format.ts';

/** Step statuses not worth a line of their own in plain output. */
const QUIET = new Set(['BLOCKED', 'READY']);

export class ProgressView {
  private last: Deployment | undefined;
  private drawn = 0;

  constructor(
    private readonly cli: Cli,
    private readonly now: () => number = Date.now,
  ) {}

  show(deployment: Deployment): void {
    if (this.cli.interactive) this.redraw(deployment);
    else this.printChanges(deployment);
    this.last = deployment;
  }

  /** On a terminal: draws again, so the durations of running steps move. */
  tick(): void {
    if (this.cli.interactive && this.last) this.redraw(this.last);
  }

  finish(deployment: FinishedDeployment): void {
    this.show(deployment);
    const took = deployment.startedAt ? ` in ${elapsed(deployment.startedAt, deployment.finishedAt, this.now())}` : '';
    const why = deployment.error ? `: ${deployment.error}` : '';
    this.cli.say(`${this.cli.interactive ? '\n' : ''}deployment ${deployment.id} ${paintStatus(deployment.status, this.cli.colors)}${took}${why}`);
  }

  private redraw(deployment: Deployment): void {
    const columns = this.cli.io.stdout.columns || 120;
    // One terminal row per line: a text with a line break in it (a step's error) is split, a long line cut.
    let lines = deploymentLines(deployment, this.now(), this.cli.colors)
      .flatMap((line) => line.split(/\r?\n|\r/))
      .map((line) => fitWidth(line, columns));
    // A block taller than the terminal cannot be moved up over (the cursor stops at the top row), and
    // each redraw left a copy of it in the scrollback: the block keeps to the terminal's rows, less
    // the one the cursor ends on, with its head (which deployment) and its tail (the steps).
    const rows = this.cli.io.stdout.rows;
    if (rows && lines.length > rows - 1) lines = clip(lines, rows - 1, deployment.id, this.cli.colors);
    // Up over the last block, each line erased as it is written again, then whatever the last block
    // had below cleared. Not one clear from the block's top: tmux (scroll-on-clear, on by default)
    // takes a clear from the top row for a cleared screen and kept a copy of the block in its history
    // at every redraw (every second) when the block began at the top of the screen.
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A\r` : '';
    this.cli.io.stdout.write(`${up}${lines.map((line) => `\x1b[2K${line}`).join('\n')}\n\x1b[0J`);
    this.drawn = lines.length;
  }

  private printChanges(deployment: Deployment): void {
    const before = this.last;
    if (!before) this.cli.say(`deployment ${deployment.id}: ${describeDeployment(deployment)}`);
    const lines: Array<{ at: string; text: string }> = [];
    for (const step of deployment.steps) {
      const previous = before?.steps.find((s) => s.name === step.name)?.status;
      if (step.status === previous || QUIET.has(step.status)) continue;
      const at = (step.status === 'ACTIVE' ? step.startedAt : step.finishedAt) ?? deployment.updatedAt;
      const took = step.status === 'ACTIVE' ? '' : ` ${elapsed(step.startedAt, step.finishedAt, this.now())}`;
      lines.push({ at, text: `step ${step.name} ${step.status}${took.trimEnd()}${step.error ? `: ${step.error}` : ''}` });
    }
    if (deployment.status !== before?.status) {
      // Back to RUNNING after an approval: then, not when it first started.
      const decision = deployment.evaluation?.decision ?? deployment.planApproval?.decision;
      const approved = before?.status === 'EVALUATED' && deployment.status === 'RUNNING';
      const at = approved
        ? (decision?.at ?? deployment.updatedAt)
        : (deployment.finishedAt ?? (deployment.status === 'RUNNING' ? deployment.startedAt : null) ?? deployment.updatedAt);
      const by = approved && decision?.approved ? ` (approved${decision.by ? ` by ${decision.by}` : ''})` : '';
      lines.push({ at, text: `deployment ${deployment.status}${by}` });
      // A CI log that stops at EVALUATED says what was chosen and how to go on.
      if (deployment.status === 'EVALUATED') for (const text of evaluationLines(deployment, false)) lines.push({ at, text });
    }
    // A log that stops at QUEUED says why it waits (a hold, a freeze, the deployment in front).
    const waiting = (d: Deployment | undefined) => (d?.waitingFor?.blockers ?? []).map((b) => b.description);
    const now = waiting(deployment);
    if (now.join('\n') !== waiting(before).join('\n')) {
      for (const text of now) lines.push({ at: deployment.updatedAt, text: /^waiting\b/.test(text) ? text : `waiting: ${text}` });
    }
    // In time order; on a tie the steps come first (the deployment changes because of them).
    lines.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
    for (const line of lines) this.cli.say(`${clock(line.at)} ${line.text}`);
  }
}

/** `max` lines of the block: its first two (the deployment), a line saying what is left out, then its last ones (the steps). */
function clip(lines: string[], max: number, id: string, colors: boolean): string[] {
  if (max < 5) return lines.slice(lines.length - Math.max(1, max));
  const tail = max - 3;
  const hidden = lines.length - 2 - tail;
  return [...lines.slice(0, 2), paint(`  … ${hidden} more lines (deployer status ${id})`, 'dim', colors), ...lines.slice(lines.length - tail)];
}

/**
 * Shows the deployment until it ends; with --json prints only the final deployment. Resolves with
 * the exit code: 0 for DONE, 1 for FAILED, TERMINATED or SUPERSEDED.
 */
export async function followDeployment(cli: Cli, id: string, options: { timeoutMs?: number } = {}): Promise<number> {
  const view = new ProgressView(cli);
  if (!cli.json) view.show(await getDeployment(cli.client, id));

  // Each event: look at the deployment again, unless a look is already waiting to start.
  let refreshing: Promise<void> = Promise.resolve();
  let pending = false;
  const refresh = () => {
    if (pending) return;
    pending = true;
    refreshing = refreshing
      .then(async () => {
        pending = false;
        view.show(await getDeployment(cli.client, id));
      })
      // A look that fails changes nothing; the next event (or the end) brings another.
      .catch(() => {});
  };

  const ticker = cli.interactive ? setInterval(() => view.tick(), 1_000) : undefined;
  try {
    const final = await waitForDeployment(cli.client, id, {
      timeoutMs: options.timeoutMs,
      signal: cli.io.signal,
      ...(cli.json ? {} : { onEvent: refresh }),
    });
    await refreshing;
    if (cli.json) cli.printJson(final);
    else view.finish(final);
    return final.status === 'DONE' ? EXIT_OK : EXIT_FAILED;
  } finally {
    clearInterval(ticker);
  }
}
