/**
 * /ui/stacks and /ui/stacks/{environment}/{application}: each stack's status, the deployment that
 * holds it and its current step, and the queue in order with why each deployment waits; on a
 * stack's page its queue policy, its holds and its environment's freezes, and the actions on them.
 */
import { html } from 'hono/html';
import type { DeployerClient } from '../../../sdk/client.ts';
import { actionButtons } from './actions.ts';
import { dataOf, environmentNames, type BoardReads } from './board-api.ts';
import { STACK_STATUS_TONES, type Deployment, type DeploymentStep, type QueuedDeployment, type Stack, type StackFreeze, type StackHold, type StackSummary } from './board-model.ts';
import { currentActivity, deploymentTable, LIST_LIVE } from './deployments-page.ts';
import type { BoardPage } from './layout.ts';
import { deploymentHref, durationText, FILTER_LIST_LIMIT, filterField, stackHref, statusBadge, timeTag } from './parts.ts';

/**
 * Why a queued deployment waits: the holds, freezes and approvals the API names in its
 * `waitingFor`, then its place in the queue in words.
 */
export function whyWaiting(stack: Pick<Stack, 'queue' | 'currentDeployment'>, entry: QueuedDeployment, index: number): string {
  const reasons = (entry.waitingFor?.blockers ?? []).filter((b) => b.kind !== 'deployment').map((b) => b.description);
  if (index > 0) {
    const before = stack.queue[index - 1]!;
    reasons.push(`behind ${before.version} (position ${before.position})`);
  } else if (stack.currentDeployment) {
    reasons.push(`waits for ${stack.currentDeployment.version} to finish`);
  } else if (reasons.length === 0) {
    reasons.push('next to start');
  }
  return reasons.join('; ');
}

function holdsAndFreezes(stack: Pick<Stack, 'holds' | 'freezes' | 'application' | 'environment'>) {
  if (!stack.holds.length && !stack.freezes.length) return '';
  const stop = (badge: string, s: StackHold | StackFreeze, extra: string) =>
    html`<li data-stop-id="${s.id}">${statusBadge(badge)} ${s.reason}${extra} <span class="muted">by ${s.createdBy}</span>${
      s.createdAt ? html` since ${timeTag(s.createdAt)}` : ''
    }${s.until ? html` until ${timeTag(s.until)}` : ''}</li>`;
  return html`<ul class="holds">
    ${stack.freezes.map((f) => stop('FROZEN', f, f.allow?.includes(stack.application) ? ' (lets this application through)' : ''))}
    ${stack.holds.map((h) => html`${stop('HELD', h, '')}${actionButtons({ kind: 'hold', stack, hold: h })}`)}
  </ul>`;
}

function running(stack: Pick<Stack, 'currentDeployment'>, current: (Pick<Deployment, 'status'> & { steps?: Array<Pick<DeploymentStep, 'name' | 'status'>> }) | undefined) {
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

/** Stacks per page: a platform of thousands of stacks is read a page at a time, by name. */
export const STACK_PAGE_SIZE = 100;

export async function stacksPage(api: DeployerClient, reads: BoardReads, query: Record<string, string>): Promise<BoardPage> {
  const environment = query.environment || undefined;
  const cursor = query.cursor || undefined;
  // The API's page first: it judges the caller and the cursor (a bad one is its 400, shown as such).
  const list = dataOf(await api.GET('/v1/stacks', { params: { query: { limit: STACK_PAGE_SIZE, environment, cursor } } }));
  const stacks = list.items as StackSummary[];
  const [activity, counted, environments] = await Promise.all([
    // Every running deployment of the page in one read (it was a request per stack).
    reads.deploymentActivity(stacks.flatMap((s) => (s.currentDeployment ? [s.currentDeployment.deploymentId] : []))),
    reads.stackCount({ environment, before: stacks[0]?.name }),
    environmentNames(api, FILTER_LIST_LIMIT),
  ]);
  const filter = (more: Record<string, string> = {}) => new URLSearchParams({ ...(environment ? { environment } : {}), ...more }).toString();
  const from = counted.before + 1;
  const to = counted.before + stacks.length;
  const shown = stacks.length === 0 ? '' : `${from === to ? `Stack ${from}` : `Stacks ${from} to ${to}`} of ${counted.total}, by name`;
  const body = html`<h1>Stacks</h1>
    <form class="filters" method="get" action="/ui/stacks" aria-label="Filter stacks">
      ${filterField({ name: 'environment', label: 'Environment', plural: 'environments', list: environments, selected: environment })}
      <button type="submit">Filter</button>${environment ? html` <a href="/ui/stacks">Clear</a>` : ''}
    </form>
    <section data-region="stacks" aria-label="Stacks">${
      stacks.length === 0
        ? html`<p class="empty">${cursor ? 'No more stacks.' : environment ? `No stacks in ${environment}.` : 'No stacks yet: a stack appears with its first deployment.'}</p>`
        : html`<p class="page-note" data-shown="${from}-${to}" data-total="${counted.total}">${shown}${
            list.nextCursor ? html`; <a href="/ui/stacks?${filter({ cursor: list.nextCursor })}">the next ${Math.max(1, Math.min(STACK_PAGE_SIZE, counted.total - to))}</a>` : ''
          }.</p>
        <table class="stacks cards">
      <caption>Stacks, by name</caption>
      <thead><tr><th scope="col">Stack</th><th scope="col">Status</th><th scope="col">Running</th><th scope="col">Queue</th></tr></thead>
      <tbody>${stacks.map(
        (s) => html`<tr data-stack="${s.name}">
          <td data-label="Stack"><a href="${stackHref(s.environment, s.application)}">${s.application}</a> <span class="muted">in ${s.environment}</span></td>
          <td data-label="Status">${statusBadge(s.status, STACK_STATUS_TONES)}</td>
          <td data-label="Running">${running(s, s.currentDeployment ? activity.get(s.currentDeployment.deploymentId) : undefined)}</td>
          <td data-label="Queue">${s.queueLength ? html`<a href="${stackHref(s.environment, s.application)}">${s.queueLength} waiting</a>` : html`<span class="muted">empty</span>`}</td>
        </tr>`,
      )}</tbody>
    </table>`
    }
    <nav class="pages" aria-label="Pages">${cursor ? html`<a href="/ui/stacks${environment ? `?${filter()}` : ''}">First</a>` : ''}
      ${list.nextCursor ? html`<a href="/ui/stacks?${filter({ cursor: list.nextCursor })}" rel="next">Next</a>` : ''}</nav>
    </section>`;
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
      <p>Queue policy: <strong data-policy="${stack.policy}">${stack.policy}</strong></p>
      ${holdsAndFreezes(stack)}
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
