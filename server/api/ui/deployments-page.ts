/** /ui: every deployment, newest first, filtered by environment, application and status. */
import { html } from 'hono/html';
import type { DeployerClient } from '../../../sdk/client.ts';
import { DEPLOYMENT_STATUSES } from '../../../sdk/events.ts';
import { dataOf } from './board-api.ts';
import { isTerminal, type Deployment } from './board-model.ts';
import type { BoardPage } from './layout.ts';
import { deploymentHref, durationText, stackHref, statusBadge, timeTag } from './parts.ts';

/** Lists follow every change (server/api/feed/follow-event-feed.ts) and re-read themselves after each. */
export const LIST_LIVE = { stream: '/v1/events' } as const;
const PAGE_SIZE = 50;

/** What a deployment is doing now, in a few words. */
export function currentActivity(d: Pick<Deployment, 'status'> & { steps?: Deployment['steps']; waitingFor?: Deployment['waitingFor'] }): string {
  // Lists answer summaries (no steps): the running step is named on a deployment's own page.
  const active = (d.steps ?? []).filter((s) => s.status === 'ACTIVE').map((s) => s.name);
  if (active.length) return active.join(', ');
  switch (d.status) {
    case 'QUEUED':
      // A deployment's own page has why it waits (lists answer summaries, without it).
      return d.waitingFor ? `in the queue (position ${d.waitingFor.position}): ${d.waitingFor.summary}` : 'in the queue';
    case 'TRIGGERED':
    case 'WAITING':
      return 'waiting for the stack to be stable';
    case 'AVAILABLE':
      return 'planning';
    case 'RUNNING':
      return 'between steps';
    default:
      return '';
  }
}

export function deploymentTable(deployments: Deployment[], caption: string) {
  if (deployments.length === 0) return html`<p class="empty">No deployments.</p>`;
  return html`<table class="deployments cards">
    <caption>${caption}</caption>
    <thead><tr><th scope="col">Status</th><th scope="col">Application</th><th scope="col">Environment</th><th scope="col">Version</th>
      <th scope="col">Requested</th><th scope="col">Took</th><th scope="col">Now</th></tr></thead>
    <tbody>${deployments.map(
      (d) => html`<tr data-deployment-id="${d.id}">
        <td data-label="Status">${statusBadge(d.status)}</td>
        <td data-label="Application"><a href="${stackHref(d.environment, d.application)}">${d.application}</a></td>
        <td data-label="Environment">${d.environment}</td>
        <td data-label="Version"><a href="${deploymentHref(d.id)}">${d.version}</a></td>
        <td data-label="Requested">${timeTag(d.createdAt)}</td>
        <td data-label="Took">${durationText(d.startedAt, d.finishedAt)}</td>
        <td data-label="Now">${isTerminal(d.status) ? (d.error ? html`<span class="error-text">${d.error}</span>` : '') : currentActivity(d)}</td>
      </tr>`,
    )}</tbody>
  </table>`;
}

function option(value: string, selected: string | undefined, label = value) {
  return html`<option value="${value}"${value === (selected ?? '') ? html` selected` : ''}>${label}</option>`;
}

export async function deploymentsPage(api: DeployerClient, query: Record<string, string>): Promise<BoardPage> {
  const environment = query.environment || undefined;
  const application = query.application || undefined;
  const status = (query.status || undefined) as (typeof DEPLOYMENT_STATUSES)[number] | undefined;
  const cursor = query.cursor || undefined;
  const [list, environments, stacks] = await Promise.all([
    api.GET('/v1/deployments', { params: { query: { limit: PAGE_SIZE, environment, application, status, cursor } } }).then(dataOf),
    api.GET('/v1/environments', { params: { query: { limit: 500 } } }).then(dataOf),
    api.GET('/v1/stacks', { params: { query: { limit: 500 } } }).then(dataOf),
  ]);
  const environmentNames = environments.items.map((e) => e.name);
  const applicationNames = [...new Set(stacks.items.map((s) => s.application))].sort();
  // A filter value the lists do not know (typed into the URL) is still shown as selected.
  if (environment && !environmentNames.includes(environment)) environmentNames.push(environment);
  if (application && !applicationNames.includes(application)) applicationNames.push(application);
  const filtered = !!(environment || application || status);
  const olderQuery = new URLSearchParams({
    ...(environment ? { environment } : {}),
    ...(application ? { application } : {}),
    ...(status ? { status } : {}),
    ...(list.nextCursor ? { cursor: list.nextCursor } : {}),
  });

  const body = html`<h1>Deployments</h1>
    <form class="filters" method="get" action="/ui" aria-label="Filter deployments">
      <label>Environment <select name="environment">${option('', environment, 'all')}${environmentNames.map((n) => option(n, environment))}</select></label>
      <label>Application <select name="application">${option('', application, 'all')}${applicationNames.map((n) => option(n, application))}</select></label>
      <label>Status <select name="status">${option('', status, 'all')}${DEPLOYMENT_STATUSES.map((n) => option(n, status))}</select></label>
      <button type="submit">Filter</button>${filtered ? html` <a href="/ui">Clear</a>` : ''}
    </form>
    <section data-region="deployments" aria-label="Deployments">
      ${deploymentTable(list.items as Deployment[], cursor ? 'Deployments, newest first (older page)' : 'Deployments, newest first')}
    </section>
    <nav class="pages" aria-label="Pages">${cursor ? html`<a href="/ui?${new URLSearchParams({ ...(environment ? { environment } : {}), ...(application ? { application } : {}), ...(status ? { status } : {}) }).toString()}">Newest</a>` : ''}
      ${list.nextCursor ? html`<a href="/ui?${olderQuery.toString()}">Older</a>` : ''}</nav>`;
  return { title: 'Deployments', nav: 'deployments', body, live: LIST_LIVE };
}
