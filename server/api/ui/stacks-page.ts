/**
 * /ui/stacks and /ui/stacks/{environment}/{application}: each stack's status, the deployment that
 * holds it and its current step, and the queue in order with why each deployment waits. Holds,
 * freezes and the API's own wait reasons are shown when the API sends them (board-model.ts).
 */
import { html } from 'hono/html';
import type { DeployerClient } from '../../../sdk/client.ts';
import { actionButtons } from './actions.ts';
import { dataOf } from './board-api.ts';
import { STACK_STATUS_TONES, type Deployment, type QueuedDeployment, type Stack, type StackSummary } from './board-model.ts';
import { currentActivity, deploymentTable, LIST_LIVE } from './deployments-page.ts';
import type { BoardPage } from './layout.ts';
import { deploymentHref, durationText, stackHref, statusBadge, timeTag } from './parts.ts';

/** Why a queued deployment waits: the API's reason when it gives one, else what the queue shows. */
export function whyWaiting(stack: Stack, entry: QueuedDeployment, index: number): string {
  if (entry.waitingFor) return typeof entry.waitingFor === 'string' ? entry.waitingFor : entry.waitingFor.reason;
  const reasons: string[] = [];
  if (stack.freeze) reasons.push(`the stack is frozen${stack.freeze.until ? ` until ${stack.freeze.until}` : ''}${stack.freeze.reason ? `: ${stack.freeze.reason}` : ''}`);
  if (stack.holds?.length) reasons.push(`the stack is held${stack.holds[0]!.reason ? `: ${stack.holds[0]!.reason}` : ''}`);
  if (index > 0) {
    const before = stack.queue[index - 1]!;
    reasons.push(`behind ${before.version} (position ${before.position})`);
  } else if (stack.currentDeployment) {
    reasons.push(`waits for ${stack.currentDeployment.version} to finish`);
  } else {
    reasons.push('next to start');
  }
  return reasons.join('; ');
}

function holdsAndFreeze(stack: Pick<Stack, 'holds' | 'freeze'>) {
  const holds = stack.holds ?? [];
  if (!holds.length && !stack.freeze) return '';
  return html`<ul class="holds">
    ${stack.freeze ? html`<li>${statusBadge('FROZEN')} ${stack.freeze.reason ?? ''}${stack.freeze.until ? html` until ${timeTag(stack.freeze.until)}` : ''}</li>` : ''}
    ${holds.map((h) => html`<li>${statusBadge('HELD')} ${h.reason ?? ''}${h.by ? html` by ${h.by}` : ''}${h.at ? html` since ${timeTag(h.at)}` : ''}</li>`)}
  </ul>`;
}

function running(stack: Pick<Stack, 'currentDeployment'>, current: Deployment | undefined) {
  if (!stack.currentDeployment) return html`<span class="muted">none</span>`;
  const id = stack.currentDeployment.deploymentId;
  return html`<a href="${deploymentHref(id)}">${stack.currentDeployment.version}</a>${
    current ? html` ${statusBadge(current.status)} <span class="activity">${currentActivity(current)}</span>` : ''
  }`;
}

function queueList(stack: Stack) {
  if (!stack.queue.length) return html`<p class="empty">Nothing waits.</p>`;
  return html`<ol class="queue">${stack.queue.map(
    (q, i) => html`<li data-deployment-id="${q.deploymentId}">
      <a href="${deploymentHref(q.deploymentId)}">${q.version}</a> ${statusBadge('QUEUED')}
      <span class="why">${whyWaiting(stack, q, i)}</span>
      ${actionButtons({ kind: 'deployment', deployment: { id: q.deploymentId, status: 'QUEUED', version: q.version, application: stack.application, environment: stack.environment } })}
    </li>`,
  )}</ol>`;
}

async function currentDeployments(api: DeployerClient, stacks: Pick<Stack, 'currentDeployment'>[]): Promise<Map<string, Deployment>> {
  const ids = stacks.flatMap((s) => (s.currentDeployment ? [s.currentDeployment.deploymentId] : []));
  const found = await Promise.all(
    ids.map((id) => api.GET('/v1/deployments/{id}', { params: { path: { id } } }).then((r) => (r.data as Deployment | undefined))),
  );
  return new Map(found.filter((d): d is Deployment => !!d).map((d) => [d.id, d]));
}

export async function stacksPage(api: DeployerClient): Promise<BoardPage> {
  const stacks = dataOf(await api.GET('/v1/stacks', { params: { query: { limit: 500 } } })).items as StackSummary[];
  const current = await currentDeployments(api, stacks);
  const body = html`<h1>Stacks</h1>
    <section data-region="stacks" aria-label="Stacks">${
      stacks.length === 0
        ? html`<p class="empty">No stacks yet: a stack appears with its first deployment.</p>`
        : html`<table class="stacks cards">
      <caption>Stacks, by name</caption>
      <thead><tr><th scope="col">Stack</th><th scope="col">Status</th><th scope="col">Running</th><th scope="col">Queue</th></tr></thead>
      <tbody>${stacks.map(
        (s) => html`<tr data-stack="${s.name}">
          <td data-label="Stack"><a href="${stackHref(s.environment, s.application)}">${s.application}</a> <span class="muted">in ${s.environment}</span></td>
          <td data-label="Status">${statusBadge(s.status, STACK_STATUS_TONES)}${holdsAndFreeze(s)}</td>
          <td data-label="Running">${running(s, s.currentDeployment ? current.get(s.currentDeployment.deploymentId) : undefined)}</td>
          <td data-label="Queue">${s.queueLength ? html`<a href="${stackHref(s.environment, s.application)}">${s.queueLength} waiting</a>` : html`<span class="muted">empty</span>`}</td>
        </tr>`,
      )}</tbody>
    </table>`
    }</section>`;
  return { title: 'Stacks', nav: 'stacks', body, live: LIST_LIVE };
}

export async function stackPage(api: DeployerClient, environment: string, application: string): Promise<BoardPage> {
  const stack = dataOf(await api.GET('/v1/stacks/{environment}/{application}', { params: { path: { environment, application } } })) as Stack;
  const [current, recent] = await Promise.all([
    currentDeployments(api, [stack]),
    api.GET('/v1/deployments', { params: { query: { environment: stack.environment, application: stack.application, limit: 10 } } }).then(dataOf),
  ]);
  const holder = stack.currentDeployment ? current.get(stack.currentDeployment.deploymentId) : undefined;
  const body = html`<h1>${stack.application} <span class="muted">in ${stack.environment}</span></h1>
    <section data-region="stack" aria-label="Stack">
      <p>CloudFormation stack <code>${stack.name}</code>: ${statusBadge(stack.status, STACK_STATUS_TONES)}</p>
      ${holdsAndFreeze(stack)}
      <h2>Running</h2>
      ${holder
        ? html`<p class="running">${running(stack, holder)} <span class="muted">${durationText(holder.startedAt, holder.finishedAt)}</span>
          ${actionButtons({ kind: 'deployment', deployment: holder })}</p>`
        : html`<p>${running(stack, undefined)}</p>`}
      ${actionButtons({ kind: 'stack', stack })}
      <h2>Queue</h2>
      ${queueList(stack)}
    </section>
    <section data-region="recent" aria-label="Recent deployments">
      <h2>Recent deployments</h2>
      ${deploymentTable(recent.items as Deployment[], `Last ${recent.items.length} deployments of this stack, newest first`)}
      <p><a href="/ui?${new URLSearchParams({ environment: stack.environment, application: stack.application }).toString()}">All deployments of this stack</a></p>
    </section>`;
  return { title: `${stack.application} in ${stack.environment}`, nav: 'stacks', body, live: LIST_LIVE };
}
