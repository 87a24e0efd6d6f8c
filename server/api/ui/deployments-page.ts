/** /ui: every deployment, newest first, filtered by environment, application and status. */
import { html } from 'hono/html';
import type { DeployerClient } from '../../../sdk/client.ts';
import { DEPLOYMENT_STATUSES } from '../../../sdk/events.ts';
import { dataOf, environmentNames, type BoardReads } from './board-api.ts';
import { isTerminal, type Deployment, type DeploymentStep } from './board-model.ts';
import type { BoardPage } from './layout.ts';
import { deploymentHref, durationText, FILTER_LIST_LIMIT, filterField, stackHref, statusBadge, timeTag } from './parts.ts';

/** Lists follow every change (server/api/feed/follow-event-feed.ts) and re-read themselves after each. */
export const LIST_LIVE = { stream: '/v1/events' } as const;
const PAGE_SIZE = 50;

/** What a deployment is doing now, in a few words. */
export function currentActivity(d: Pick<Deployment, 'status'> & { steps?: Array<Pick<DeploymentStep, 'name' | 'status'>>; waitingFor?: Deployment['waitingFor'] }): string {
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

export async function deploymentsPage(api: DeployerClient, reads: BoardReads, query: Record<string, string>): Promise<BoardPage> {
  const environment = query.environment || undefined;
  const application = query.application || undefined;
  const status = (query.status || undefined) as (typeof DEPLOYMENT_STATUSES)[number] | undefined;
  const cursor = query.cursor || undefined;
  const [list, environments, applications] = await Promise.all([
    api.GET('/v1/deployments', { params: { query: { limit: PAGE_SIZE, environment, application, status, cursor } } }).then(dataOf),
    environmentNames(api, FILTER_LIST_LIMIT),
    reads.applicationNames(FILTER_LIST_LIMIT),
  ]);
  const filtered = !!(environment || application || status);
  const olderQuery = new URLSearchParams({
    ...(environment ? { environment } : {}),
    ...(application ? { application } : {}),
    ...(status ? { status } : {}),
    ...(list.nextCursor ? { cursor: list.nextCursor } : {}),
  });

  // The page links are in the region the script refreshes: a live page shows "Older" once it fills up.
  const body = html`<h1>Deployments</h1>
    <form class="filters" method="get" action="/ui" aria-label="Filter deployments">
      ${filterField({ name: 'environment', label: 'Environment', plural: 'environments', list: environments, selected: environment })}
      ${filterField({ name: 'application', label: 'Application', plural: 'applications', list: applications, selected: application })}
      <label>Status <select name="status">${option('', status, 'all')}${DEPLOYMENT_STATUSES.map((n) => option(n, status))}</select></label>
      <button type="submit">Filter</button>${filtered ? html` <a href="/ui">Clear</a>` : ''}
    </form>
    <section data-region="deployments" aria-label="Deployments">
      ${deploymentTable(list.items as Deployment[], cursor ? 'Deployments, newest first (older page)' : 'Deployments, newest first')}
      <nav class="pages" aria-label="Pages">${cursor ? html`<a href="/ui?${new URLSearchParams({ ...(environment ? { environment } : {}), ...(application ? { application } : {}), ...(status ? { status } : {}) }).toString()}">Newest</a>` : ''}
        ${list.nextCursor ? html`<a href="/ui?${olderQuery.toString()}">Older</a>` : ''}</nav>
    </section>`;
  return { title: 'Deployments', nav: 'deployments', body, live: LIST_LIVE };
}
