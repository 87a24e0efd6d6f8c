/**
 * Small pieces every board page uses: status badges, times, durations, links. Everything goes
 * through hono/html's `html`, which escapes every interpolated string: user data (application
 * names, versions, error messages, reasons) can only ever be text.
 */
import { html } from 'hono/html';
import { STATUS_TONES, type Problem, type Tone } from './board-model.ts';

export type Html = ReturnType<typeof html>;

/** A status as a word and a colour (the colour is never the only sign). */
export function statusBadge(status: string, tones: Record<string, Tone> = STATUS_TONES) {
  const tone = tones[status] ?? 'neutral';
  return html`<span class="status tone-${tone}" data-status="${status}">${status}</span>`;
}

/** `3 s`, `2 min 5 s`, `1 h 4 min`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** How long something took (`finishedAt` set) or has taken so far. */
export function durationText(startedAt: string | null | undefined, finishedAt: string | null | undefined, now = Date.now()): string {
  if (!startedAt) return '';
  const end = finishedAt ? Date.parse(finishedAt) : now;
  return finishedAt ? formatDuration(end - Date.parse(startedAt)) : `${formatDuration(end - Date.parse(startedAt))} so far`;
}

/** A time in UTC: `14:03:07` today, `05-02 14:03` another day; the full ISO time is in `datetime` and `title`. */
export function timeTag(iso: string | null | undefined, now = new Date()) {
  if (!iso) return '';
  const at = new Date(iso);
  const full = at.toISOString();
  const sameDay = full.slice(0, 10) === now.toISOString().slice(0, 10);
  const shown = sameDay ? full.slice(11, 19) : `${full.slice(5, 10)} ${full.slice(11, 16)}`;
  return html`<time datetime="${full}" title="${full.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}">${shown}</time>`;
}

export const deploymentHref = (id: string) => `/ui/deployments/${encodeURIComponent(id)}`;
export const stackHref = (environment: string, application: string) =>
  `/ui/stacks/${encodeURIComponent(environment)}/${encodeURIComponent(application)}`;

/** A problem (RFC 9457) from the API, in words. */
export function problemBlock(p: Problem) {
  return html`<div class="problem" role="alert">
    <p><strong>${p.title}</strong>${p.status ? html` (HTTP ${p.status})` : ''}${p.detail ? html`: ${p.detail}` : ''}</p>
    ${p.errors?.length ? html`<ul>${p.errors.map((e) => html`<li><code>${e.path || '(document)'}</code>: ${e.message}</li>`)}</ul>` : ''}
  </div>`;
}

/** How many names a filter lists at most; beyond it the filter takes any typed name and says so. */
export const FILTER_LIST_LIMIT = 1000;

/**
 * A filter of a list page: a select of every name (and `all`); when the board could not list them
 * all, a text field that suggests the names it has, takes any other, and says that the list is
 * partial. A value the list does not have (typed into the URL) is still shown as chosen.
 */
export function filterField(options: { name: string; label: string; plural: string; list: { names: string[]; complete: boolean }; selected: string | undefined }) {
  const { name, label, plural, list, selected } = options;
  if (!list.complete) {
    const id = `${name}-names`;
    return html`<label>${label} <input name="${name}" list="${id}" value="${selected ?? ''}" placeholder="all" autocomplete="off">
      <span class="muted" data-partial-list="${name}">the first ${list.names.length} ${plural} are suggested; type any other</span></label>
      <datalist id="${id}">${list.names.map((n) => html`<option value="${n}"></option>`)}</datalist>`;
  }
  const names = selected && !list.names.includes(selected) ? [...list.names, selected] : list.names;
  const option = (value: string, text = value) =>
    html`<option value="${value}"${value === (selected ?? '') ? html` selected` : ''}>${text}</option>`;
  return html`<label>${label} <select name="${name}">${option('', 'all')}${names.map((n) => option(n))}</select></label>`;
}
