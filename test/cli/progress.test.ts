/** How `deployer watch` shows a deployment: redrawn in place on a terminal, one line per change otherwise. */
import { describe, expect, it } from 'vitest';
import type { Deployment } from '../../sdk/events.ts';
import { Cli } from '../../sdk/cli/cli.ts';
import { displayWidth, formatDuration, problemLines } from '../../sdk/cli/format.ts';
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
    // No colors with NO_COLOR (only the erasing and cursor movement of the redraw).
    expect(first).not.toMatch(/\x1b\[[0-9;]*m/);
    expect(first).toMatch(/●\s+CF\.Update\s+cf_update\s+ACTIVE\s+1\.0s/);
    expect(first).toMatch(/·\s+DB\.Migrate\.main\s+pg_migrate\s+BLOCKED/);

    view.show(done);
    const redraw = output().slice(first.length);
    const lines = first.split('\n').length - 1;
    expect(redraw.startsWith(`\x1b[${lines}A\r`)).toBe(true);
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

describe('progress view in a CI log', () => {
  it('on a terminal that cannot move its cursor (TERM=dumb), prints lines as in a log, with no escapes', () => {
    let out = '';
    const cli = new Cli({ stdout: { write: (t: string) => (out += t), isTTY: true, columns: 100, rows: 40 }, stderr: { write: () => true }, env: { TERM: 'dumb' }, cwd: '/' }, {});
    const view = new ProgressView(cli, () => T0 + 2_000);
    view.show(deployment('RUNNING', [['CF.Update', 'ACTIVE', 1_000]]));
    view.tick();
    expect(out).not.toContain('\x1b');
    expect(out).toMatch(/^\d\d:\d\d:\d\d step CF\.Update ACTIVE$/m);
  });

  const lines = (text: string) => text.trimEnd().split('\n');

  it('says why a queued deployment waits (else the log stopped at "deployment QUEUED"), and again when that changes', () => {
    const { cli, output } = fakeCli(false);
    const view = new ProgressView(cli, () => T0 + 6_000);
    const queued = deployment('QUEUED', [['CF.Update', 'BLOCKED']]);
    queued.startedAt = null;
    queued.waitingFor = {
      position: 1,
      summary: 'held: incident 42',
      blockers: [{ kind: 'hold', description: 'held: incident 42 (until 2026-01-01T12:00:00.000Z)' } as NonNullable<Deployment['waitingFor']>['blockers'][number]],
    };
    view.show(queued);
    view.show(queued);
    const frozen = structuredClone(queued);
    frozen.waitingFor!.blockers = [{ kind: 'freeze', description: 'environment demo frozen: release day' } as NonNullable<Deployment['waitingFor']>['blockers'][number]];
    view.show(frozen);
    expect(lines(output()).slice(1).map((line) => line.replace(/^\d\d:\d\d:\d\d /, ''))).toEqual([
      'deployment QUEUED',
      'waiting: held: incident 42 (until 2026-01-01T12:00:00.000Z)',
      'waiting: environment demo frozen: release day',
    ]);
  });

  it('says what an evaluated deployment chose and how to approve it, then when it was approved and by whom', () => {
    const { cli, output } = fakeCli(false);
    const view = new ProgressView(cli, () => T0 + 6_000);
    const evaluated = deployment('EVALUATED', [['CF.Update', 'BLOCKED']]);
    evaluated.evaluation = { strategy: 'DOWNTIME', auto: 'DOWNTIME', forced: false, reasons: ['DOWNTIME: database main is at 4'] } as unknown as Deployment['evaluation'];
    view.show(evaluated);
    const approved = structuredClone(evaluated);
    approved.status = 'RUNNING';
    approved.evaluation!.decision = { approved: true, by: 'ops', at: at(60_000) };
    approved.updatedAt = at(61_000);
    view.show(approved);
    const shown = lines(output()).slice(1);
    expect(shown).toEqual([
      expect.stringMatching(/ deployment EVALUATED$/),
      expect.stringMatching(/ Evaluation: DOWNTIME$/),
      expect.stringMatching(/ {3}- DOWNTIME: database main is at 4$/),
      expect.stringMatching(/ {3}waiting for approval: deployer approve 3b241101-e2bb-4255-8caf-4136c566a962 {2}\| {2}deployer reject 3b241101-e2bb-4255-8caf-4136c566a962 --reason TEXT$/),
      // At the approval (a minute after it started), not at its start, which put it before EVALUATED.
      `${new Date(T0 + 60_000).toTimeString().slice(0, 8)} deployment RUNNING (approved by ops)`,
    ]);
  });
});

describe('progress view on a small terminal', () => {
  function terminal(columns: number, rows: number) {
    const writes: string[] = [];
    const cli = new Cli({ stdout: { write: (t: string) => writes.push(t), isTTY: true, columns, rows }, stderr: { write: () => true }, env: { NO_COLOR: '1' }, cwd: '/' }, {});
    return { cli, writes };
  }
  /** The rows a write takes on screen (without the cursor movement), and how far up the next one moves. */
  const rowsOf = (write: string) => write.split('\n').length - 1;
  const upOf = (write: string) => Number(/^\x1b\[(\d+)A/.exec(write)?.[1] ?? 0);
  /** The text of a write, without cursor movement and erasing. */
  const plain = (write: string) => write.replace(/\x1b\[\d*[AJK]|\r/g, '');

  it('keeps a block taller than the terminal to its rows (else each redraw left a copy in the scrollback), with the head and the steps', () => {
    const many = deployment(
      'RUNNING',
      Array.from({ length: 30 }, (_, i) => [`DB.Migrate.db${i}`, i < 29 ? 'DONE' : 'ACTIVE', 0, i < 29 ? 1_000 : undefined] as [string, 'DONE' | 'ACTIVE', number, number?]),
    );
    const { cli, writes } = terminal(100, 12);
    const view = new ProgressView(cli, () => T0 + 2_000);
    view.show(many);
    view.tick();
    view.tick();
    for (const write of writes) expect(rowsOf(write)).toBeLessThanOrEqual(11);
    expect(upOf(writes[1]!)).toBe(rowsOf(writes[0]!));
    const shown = plain(writes[2]!).trimEnd().split('\n');
    expect(shown[0]).toMatch(/^Deployment 3b241101-e2bb-4255-8caf-4136c566a962 {2}RUNNING$/);
    expect(shown[2]).toMatch(/^ {2}… \d+ more lines \(deployer status 3b241101-e2bb-4255-8caf-4136c566a962\)$/);
    expect(shown.at(-1)).toMatch(/●\s+DB\.Migrate\.db29\s+pg_migrate\s+ACTIVE/);
  });

  it('erases each line as it draws it again, never the whole screen from its top row (tmux kept each such screen in its history)', () => {
    const { cli, writes } = terminal(100, 40);
    const view = new ProgressView(cli, () => T0 + 2_000);
    view.show(deployment('RUNNING', [['CF.Update', 'ACTIVE', 1_000]]));
    view.tick();
    const [first, second] = writes as [string, string];
    expect(second.startsWith(`\x1b[${rowsOf(first)}A\r\x1b[2K`)).toBe(true);
    // What the last block had below the new one is cleared after it, from below its last line.
    expect(second.endsWith('\n\x1b[0J')).toBe(true);
    expect(second.match(/\x1b\[0?J/g)).toHaveLength(1);
  });

  it('counts a line break inside a step error and wide characters, so that the redraw moves up over exactly what it drew', () => {
    const failing = deployment('RUNNING', [
      ['CF.Update', 'ACTIVE', 1_000],
      ['DB.Migrate.main', 'FAILED', 1_000, 1_500],
    ]);
    failing.steps[1]!.error = 'container migrate exited with code 3:\nERROR: relation "注文" already exists';
    failing.waitingFor = null;
    failing.planNotes = ['メンテナンス中のため、データベースの移行は夜間に実行されます。'.repeat(2)];
    const { cli, writes } = terminal(60, 50);
    const view = new ProgressView(cli, () => T0 + 2_000);
    view.show(failing);
    view.tick();
    const drawn = plain(writes[0]!).trimEnd().split('\n');
    // Every line fits in the 60 columns: none wraps onto a second row.
    for (const line of drawn) expect(displayWidth(line)).toBeLessThan(60);
    expect(upOf(writes[1]!)).toBe(rowsOf(writes[0]!));
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
