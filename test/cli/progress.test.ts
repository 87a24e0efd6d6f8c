/** How `deployer watch` shows a deployment: redrawn in place on a terminal, one line per change otherwise. */
import { describe, expect, it } from 'vitest';
import type { Deployment } from '../../sdk/events.ts';
import { Cli } from '../../sdk/cli/cli.ts';
import { formatDuration, problemLines } from '../../sdk/cli/format.ts';
import { ProgressView } from '../../sdk/cli/progress.ts';

const T0 = Date.parse('2026-01-01T10:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

function deployment(status: Deployment['status'], steps: Array<[string, Deployment['steps'][number]['status'], number?, number?]>): Deployment {
  return {
    id: '3b241101-e2bb-4255-8caf-4136c566a962',
    status,
    environment: 'demo',
    application: 'shop',
    version: 'v1',
    stackId: '5f0c6a1e-2a8b-4c4e-9d57-1f1f0d1c2b3a',
    stackName: 'demo-shop',
    flags: {},
    source: { kind: 'api' },
    error: null,
    supersededBy: null,
    rollbackOf: null,
    waitingFor: null,
    planNotes: [],
    evaluation: null,
    planApproval: null,
    steps: steps.map(([name, stepStatus, started, finished]) => ({
      name,
      type: name === 'CF.Update' ? 'cf_update' : 'pg_migrate',
      status: stepStatus,
      dependsOn: [],
      when: 'success',
      error: null,
      startedAt: started === undefined ? null : at(started),
      finishedAt: finished === undefined ? null : at(finished),
      outputs: null,
    })),
    recoveries: [],
    spec: { cfStackName: 'demo-shop', ecsCluster: 'demo', templateUrl: 's3://t', databases: [] },
    createdAt: at(0),
    startedAt: at(0),
    finishedAt: status === 'DONE' ? at(5_000) : null,
    updatedAt: at(5_000),
    revision: 1,
  };
}

function fakeCli(tty: boolean) {
  let out = '';
  const cli = new Cli(
    { stdout: { write: (t: string) => (out += t), isTTY: tty, columns: 100 }, stderr: { write: () => true }, env: { NO_COLOR: '1' }, cwd: '/' },
    {},
  );
  return { cli, output: () => out };
}

describe('progress view', () => {
  const running = deployment('RUNNING', [
    ['CF.Update', 'ACTIVE', 1_000],
    ['DB.Migrate.main', 'BLOCKED'],
  ]);
  const done = deployment('DONE', [
    ['CF.Update', 'DONE', 1_000, 3_500],
    ['DB.Migrate.main', 'DONE', 3_500, 4_900],
  ]);

  it('on a terminal, redraws the same block in place with the steps, statuses and durations', () => {
    const { cli, output } = fakeCli(true);
    const view = new ProgressView(cli, () => T0 + 2_000);
    view.show(running);
    const first = output();
    expect(first).not.toContain('\x1b[');
    expect(first).toMatch(/●\s+CF\.Update\s+cf_update\s+ACTIVE\s+1\.0s/);
    expect(first).toMatch(/·\s+DB\.Migrate\.main\s+pg_migrate\s+BLOCKED/);

    view.show(done);
    const redraw = output().slice(first.length);
    const lines = first.trimEnd().split('\n').length;
    expect(redraw.startsWith(`\x1b[${lines}A\x1b[0J`)).toBe(true);
    expect(redraw).toMatch(/✓\s+CF\.Update\s+cf_update\s+DONE\s+2\.5s/);
    expect(redraw).toMatch(/✓\s+DB\.Migrate\.main\s+pg_migrate\s+DONE\s+1\.4s/);
  });

  it('elsewhere, prints one line per change, in time order', () => {
    const { cli, output } = fakeCli(false);
    const view = new ProgressView(cli, () => T0 + 6_000);
    view.show(running);
    view.show(running);
    view.show(done);
    const lines = output()
      .trimEnd()
      .split('\n')
      .map((line) => line.replace(/^\d\d:\d\d:\d\d /, ''));
    expect(lines).toEqual([
      'deployment 3b241101-e2bb-4255-8caf-4136c566a962: shop v1 into demo (stack demo-shop)',
      'deployment RUNNING',
      'step CF.Update ACTIVE',
      'step CF.Update DONE 2.5s',
      'step DB.Migrate.main DONE 1.4s',
      'deployment DONE',
    ]);
    expect(output()).not.toContain('\x1b[');
  });
});

describe('formats', () => {
  it('durations', () => {
    expect([850, 4_200, 185_000, 3_720_000].map(formatDuration)).toEqual(['850ms', '4.2s', '3m05s', '1h02m']);
  });

  it('problems: title and status, the detail unless it only repeats the issues, each path', () => {
    expect(
      problemLines(
        {
          type: 'x',
          title: 'Invalid request',
          status: 400,
          detail: 'id: Invalid UUID',
          errors: [{ path: 'id', message: 'Invalid UUID' }],
        },
        400,
      ),
    ).toEqual(['Invalid request (HTTP 400)', '  id: Invalid UUID']);
    expect(problemLines({ type: 'x', title: 'Not found', status: 404, detail: "environment 'x' does not exist" }, 404)).toEqual([
      'Not found (HTTP 404)',
      "  environment 'x' does not exist",
    ]);
  });
});
