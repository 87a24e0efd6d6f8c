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
import { clock, deploymentLines, describeDeployment, elapsed, paintStatus } from './format.ts';

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
    const lines = deploymentLines(deployment, this.now(), this.cli.colors).map((line) => fit(line, columns));
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A\x1b[0J` : '';
    this.cli.io.stdout.write(`${up}${lines.join('\n')}\n`);
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
      const at = deployment.finishedAt ?? (deployment.status === 'RUNNING' ? deployment.startedAt : null) ?? deployment.updatedAt;
      lines.push({ at, text: `deployment ${deployment.status}` });
    }
    // In time order; on a tie the steps come first (the deployment changes because of them).
    lines.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
    for (const line of lines) this.cli.say(`${clock(line.at)} ${line.text}`);
  }
}

/** Cuts a line to the terminal's width, so that redrawing moves up the right number of lines. */
function fit(line: string, columns: number): string {
  const plain = line.replace(/\x1b\[[0-9;]*m/g, '');
  return plain.length < columns ? line : `${plain.slice(0, Math.max(0, columns - 2))}…`;
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
