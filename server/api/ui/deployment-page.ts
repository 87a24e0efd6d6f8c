/**
 * /ui/deployments/{id}: one deployment. Its steps as a timeline (a bar per step from its start to
 * its end, coloured by status, with what it runs after), the plan, the chosen strategy when the
 * API gives one, the error in words, the event history, and the spec and template folded away.
 * While the deployment is not finished the page follows its event stream.
 */
import { html } from 'hono/html';
import type { DeployerClient } from '../../../sdk/client.ts';
import { actionButtons } from './actions.ts';
import { dataOf } from './board-api.ts';
import { isTerminal, STATUS_TONES, type Deployment, type DeploymentStep, type Evaluation, type Event } from './board-model.ts';
import type { BoardPage } from './layout.ts';
import { deploymentHref, durationText, stackHref, statusBadge, timeTag } from './parts.ts';

/** Events shown; a longer history says so and links to the API. */
const EVENT_LIMIT = 500;
/** Width of the timeline's coordinate space (the SVG scales it to the page). */
const SCALE = 1000;

const stepAnchor = (name: string) => `step-${name.replace(/[^A-Za-z0-9_.-]/g, '_')}`;

function timeline(d: Deployment, now: number) {
  const started = d.steps.filter((s) => s.startedAt);
  if (d.steps.length === 0) return html`<p class="empty">No plan yet: the plan is built once the stack is stable.</p>`;
  const t0 = Math.min(...started.map((s) => Date.parse(s.startedAt!)), d.startedAt ? Date.parse(d.startedAt) : Infinity);
  const t1 = Math.max(...started.map((s) => (s.finishedAt ? Date.parse(s.finishedAt) : now)), t0 + 1000);
  const span = Number.isFinite(t0) ? t1 - t0 : 1;
  const bar = (s: DeploymentStep) => {
    if (!s.startedAt || !Number.isFinite(t0)) return '';
    const x = Math.round(((Date.parse(s.startedAt) - t0) / span) * SCALE);
    const end = s.finishedAt ? Date.parse(s.finishedAt) : now;
    const width = Math.max(4, Math.round(((end - Date.parse(s.startedAt)) / span) * SCALE));
    const tone = STATUS_TONES[s.status] ?? 'neutral';
    return html`<svg class="bar" viewBox="0 0 ${SCALE} 10" preserveAspectRatio="none" aria-hidden="true" focusable="false"><rect class="fill-${tone}" x="${Math.min(x, SCALE - 4)}" y="0" width="${Math.min(width, SCALE - Math.min(x, SCALE - 4))}" height="10"></rect></svg>`;
  };
  return html`<ol class="timeline" aria-label="Steps, in plan order">${d.steps.map(
    (s) => html`<li id="${stepAnchor(s.name)}" class="step" data-step="${s.name}" data-step-status="${s.status}">
      <span class="step-name">${s.name}${s.when === 'failure' ? html` <span class="muted">(recovery)</span>` : ''}</span>
      <span class="step-bar">${bar(s)}</span>
      <span class="step-state">${statusBadge(s.status)} ${durationText(s.startedAt, s.finishedAt, now)}</span>
      ${s.dependsOn.length ? html`<span class="step-deps">after ${s.dependsOn.map((dep, i) => html`${i ? ', ' : ''}<a href="#${stepAnchor(dep)}">${dep}</a>`)}</span>` : ''}
      ${s.error ? html`<p class="step-error">${s.error}</p>` : ''}
    </li>`,
  )}</ol>`;
}

function plan(d: Deployment) {
  if (d.steps.length === 0) return '';
  return html`<table class="plan cards">
    <caption>Plan: ${d.steps.length} steps; steps with nothing between them run in parallel</caption>
    <thead><tr><th scope="col">Step</th><th scope="col">Type</th><th scope="col">Runs after</th><th scope="col">Runs when</th><th scope="col">Outputs</th></tr></thead>
    <tbody>${d.steps.map(
      (s) => html`<tr>
        <td data-label="Step">${s.name}</td><td data-label="Type"><code>${s.type}</code></td>
        <td data-label="Runs after">${s.dependsOn.length ? s.dependsOn.join(', ') : html`<span class="muted">start</span>`}</td>
        <td data-label="Runs when">${s.when === 'failure' ? 'the deployment is failing' : 'all before it succeeded'}</td>
        <td data-label="Outputs">${s.outputs && Object.keys(s.outputs).length
          ? html`<details><summary>${Object.keys(s.outputs).length} outputs</summary><dl>${Object.entries(s.outputs).map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl></details>`
          : ''}</td>
      </tr>`,
    )}</tbody>
  </table>`;
}

/** The parts of an event worth a line; anything else of a new event type is shown as JSON. */
function eventSummary(e: Event): string {
  const p = e.payload as Record<string, any>;
  switch (e.type) {
    case 'created':
      return `version ${p.version ?? ''}${p.source?.requestedBy ? `, requested by ${p.source.requestedBy}` : ''}${p.source?.github ? `, from ${p.source.github.owner}/${p.source.github.repo}@${p.source.github.commit}` : ''}`;
    case 'run_step':
      return String(p.step ?? '');
    case 'step_result':
      return `${p.step} ${p.status}${p.error ? `: ${p.error}` : ''}`;
    case 'run_steps':
      return `${Array.isArray(p.steps) ? p.steps.length : 0} steps planned${Array.isArray(p.notes) ? `; ${p.notes.join('; ')}` : ''}`;
    case 'stack_available':
      return p.stack ? `stack ${p.stack.status}` : 'no stack yet';
    case 'stack_recovery':
      return `${p.action} (stack ${p.stackStatus})`;
    case 'error':
    case 'stack_wait_failure':
      return String(p.error ?? '');
    case 'terminated':
      return p.reason ? `reason: ${p.reason}` : '';
    default: {
      const { at: _at, type: _type, ...rest } = p;
      const json = Object.keys(rest).length ? JSON.stringify(rest) : '';
      return json.length > 300 ? `${json.slice(0, 300)}…` : json;
    }
  }
}

function history(events: Event[], more: boolean, id: string) {
  return html`<table class="events cards">
    <caption>Event history, oldest first${more ? html` (the first ${events.length}; the rest: <code>GET /v1/deployments/${id}/events</code>)` : ''}</caption>
    <thead><tr><th scope="col">#</th><th scope="col">At</th><th scope="col">Event</th><th scope="col">Status after</th><th scope="col">Detail</th></tr></thead>
    <tbody>${events.map(
      (e) => html`<tr data-event="${e.type}">
        <td data-label="#">${e.sequence}</td><td data-label="At">${timeTag(e.createdAt)}</td><td data-label="Event"><code>${e.type}</code></td>
        <td data-label="Status after">${statusBadge(e.status)}</td><td data-label="Detail">${eventSummary(e)}</td>
      </tr>`,
    )}</tbody>
  </table>`;
}

const CHANGE_SET_OUTCOMES: Record<Evaluation['changeSet']['outcome'], string> = {
  nothing: 'no change',
  version: 'only the version',
  inPlace: 'modifications in place',
  replacement: 'a replacement or removal of a resource in use',
};

/** What an approval decided, or that it is awaited. */
function approvalLine(decision: { approved: boolean; by?: string; reason?: string } | undefined) {
  return decision
    ? html`<p data-approval>${decision.approved ? 'Approved' : 'Rejected'}${decision.by ? ` by ${decision.by}` : ''}${decision.reason ? `: ${decision.reason}` : ''}</p>`
    : html`<p data-approval><strong>Waiting for approval</strong> (Approve or Reject, above).</p>`;
}

/** An evaluated plan: the branch, every reason, what the change set and the checks found, the approval. */
function evaluation(d: Deployment) {
  const e = d.evaluation;
  if (!e) {
    // A plan that is not evaluated, held for approval: the steps below are what it runs.
    return d.planApproval
      ? html`<section data-region="evaluation" aria-labelledby="evaluation-title">
          <h2 id="evaluation-title">Approval of the plan as planned</h2>
          ${approvalLine(d.planApproval.decision)}
          <p class="muted">Not evaluated (no change set or migration check to weigh): the steps below run as planned once approved.</p>
        </section>`
      : '';
  }
  const approval = e.approval !== 'required' ? '' : approvalLine(e.decision);
  return html`<section data-region="evaluation" aria-labelledby="evaluation-title">
    <h2 id="evaluation-title">Strategy: <span data-strategy>${e.strategy}</span>${e.forced ? html` <span class="muted">(forced; auto would have chosen ${e.auto})</span>` : ''}</h2>
    ${approval}
    <ul class="reasons">${e.reasons.map((r) => html`<li>${r}</li>`)}</ul>
    <dl class="facts">
      <dt>Change set</dt><dd>${CHANGE_SET_OUTCOMES[e.changeSet.outcome]}${e.changeSet.findings.length ? ` (${e.changeSet.findings.length} finding${e.changeSet.findings.length === 1 ? '' : 's'})` : ''}</dd>
      ${e.databases.map((db) => html`<dt>Database ${db.database}</dt><dd>${db.code === 'unknown' ? 'unknown' : `at ${db.code}`}: ${db.note}</dd>`)}
    </dl>
  </section>`;
}

function errorInWords(d: Deployment) {
  if (!d.error) return '';
  const failed = d.steps.filter((s) => s.status === 'FAILED').map((s) => s.name);
  return html`<div class="problem" role="alert">
    <p><strong>${d.status === 'TERMINATED' ? 'Terminated' : d.status === 'SUPERSEDED' ? 'Superseded' : 'Failed'}</strong>${failed.length ? html` at ${failed.join(', ')}` : ''}</p>
    <p class="error-text">${d.error}</p>
  </div>`;
}

export async function deploymentPage(api: DeployerClient, id: string): Promise<BoardPage> {
  const [d, events] = await Promise.all([
    api.GET('/v1/deployments/{id}', { params: { path: { id } } }).then(dataOf) as Promise<Deployment>,
    api.GET('/v1/deployments/{id}/events', { params: { path: { id }, query: { limit: EVENT_LIMIT } } }).then(dataOf),
  ]);
  // Asked for JSON, the events route answers a page (it streams only for text/event-stream).
  const page = events as Exclude<typeof events, string>;
  const now = Date.now();
  const created = page.items.find((e) => e.type === 'created');
  const spec = (created?.payload as { spec?: unknown } | undefined)?.spec;
  const source = d.source.github
    ? `GitHub ${d.source.github.owner}/${d.source.github.repo} ${d.source.github.ref} (${d.source.github.commit.slice(0, 12)})`
    : `the API${d.source.requestedBy ? `, by ${d.source.requestedBy}` : ''}`;

  const body = html`<h1>${d.application} ${d.version} <span class="muted">in ${d.environment}</span></h1>
    <section data-region="summary" aria-label="Summary">
      <p class="headline"><span aria-live="polite">${statusBadge(d.status)}</span> ${actionButtons({ kind: 'deployment', deployment: d })}</p>
      <dl class="facts">
        <dt>Stack</dt><dd><a href="${stackHref(d.environment, d.application)}">${d.stackName}</a></dd>
        <dt>Requested</dt><dd>${timeTag(d.createdAt)} from ${source}</dd>
        <dt>Started</dt><dd>${d.startedAt ? timeTag(d.startedAt) : html`<span class="muted">not yet</span>`}</dd>
        <dt>Finished</dt><dd>${d.finishedAt ? timeTag(d.finishedAt) : html`<span class="muted">not yet</span>`}</dd>
        <dt>Took</dt><dd>${durationText(d.startedAt, d.finishedAt, now) || html`<span class="muted">-</span>`}</dd>
        ${d.waitingFor ? html`<dt>Waiting</dt><dd data-waiting-for>position ${d.waitingFor.position} in the queue: ${d.waitingFor.summary}</dd>` : ''}
        ${d.supersededBy ? html`<dt>Superseded by</dt><dd><a href="${deploymentHref(d.supersededBy)}">${d.supersededBy}</a></dd>` : ''}
        ${d.rollbackOf ? html`<dt>Rollback of</dt><dd><a href="${deploymentHref(d.rollbackOf)}">${d.rollbackOf}</a></dd>` : ''}
        ${Object.entries(d.flags).some(([, on]) => on) ? html`<dt>Flags</dt><dd>${Object.entries(d.flags).filter(([, on]) => on).map(([k]) => k).join(', ')}</dd>` : ''}
      </dl>
      ${errorInWords(d)}
    </section>
    ${evaluation(d)}
    <section data-region="steps" aria-labelledby="steps-title">
      <h2 id="steps-title">Steps</h2>
      ${timeline(d, now)}
      ${d.planNotes.length ? html`<p class="plan-notes">Plan: ${d.planNotes.join('; ')}</p>` : ''}
      ${d.recoveries.length ? html`<p>Stack recoveries: ${d.recoveries.map((r, i) => html`${i ? '; ' : ''}${r.action} (stack ${r.stackStatus})`)}</p>` : ''}
    </section>
    <section data-region="plan" aria-labelledby="plan-title">
      <h2 id="plan-title">Plan</h2>
      ${plan(d) || html`<p class="empty">No plan yet.</p>`}
    </section>
    <section data-region="events" aria-labelledby="events-title">
      <h2 id="events-title">Events</h2>
      ${history(page.items, page.nextCursor !== null, d.id)}
    </section>
    <section data-region="documents" aria-labelledby="documents-title">
      <h2 id="documents-title">Spec and template</h2>
      <details id="spec"><summary>Spec</summary>
        <dl class="facts"><dt>CloudFormation stack</dt><dd><code>${d.spec.cfStackName}</code></dd><dt>ECS cluster</dt><dd><code>${d.spec.ecsCluster}</code></dd>
          <dt>Databases</dt><dd>${d.spec.databases.length ? d.spec.databases.join(', ') : html`<span class="muted">none</span>`}</dd></dl>
        ${spec ? html`<pre>${JSON.stringify(spec, null, 2)}</pre>` : ''}
      </details>
      <details id="template"><summary>Template</summary>
        <p>Stored at <code>${d.spec.templateUrl}</code>. The API does not serve template bodies;
          <code>POST /v1/render</code> builds the template of an application config without deploying it.</p>
      </details>
    </section>`;
  const live = isTerminal(d.status) ? undefined : { stream: `/v1/deployments/${encodeURIComponent(d.id)}/events` };
  return { title: `${d.application} ${d.version} in ${d.environment}`, nav: 'deployments', body, live };
}
