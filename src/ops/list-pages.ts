/** The case history (/ops/cases) and dead-letter (/ops/dead-letters) pages: filters, paging and bulk actions. */
import type { CaseHistory } from './case-history';
import { CASE_STATUSES } from './case-history';
import type { DeadLetterDetail, DeadLetterFilter } from './dead-letter-query';
import { errorDetail } from './error-detail';
import { html, type Html } from './html';
import { deadLetterActions, layout, time, type PageContext } from './views';

export interface Choices {
  routes: string[];
  connections: string[];
  origins?: string[];
  codes?: string[];
}

function select(name: string, label: string, options: readonly string[], value: string | undefined, any = 'any'): Html {
  return html`<label>${label}<select name="${name}" id="filter-${name}"><option value="">${any}</option>${options.map((o) => html`<option value="${o}" ${o === value ? html`selected` : ''}>${o}</option>`)}</select></label>`;
}

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

function pager(base: string, params: Record<string, string | number | undefined>, page: number, hasMore: boolean, summary: string): Html {
  return html`<nav class="pager" aria-label="Pages">
  ${page > 1 ? html`<a class="button" rel="prev" id="page-prev" href="${base}${query({ ...params, page: page - 1 })}">Newer</a>` : ''}
  <span class="muted" id="page-info">Page ${page} · ${summary}</span>
  ${hasMore ? html`<a class="button" rel="next" id="page-next" href="${base}${query({ ...params, page: page + 1 })}">Older</a>` : ''}
</nav>`;
}

export interface DeadLetterPageData {
  filter: DeadLetterFilter;
  page: number;
  size: number;
  total: number;
  items: DeadLetterDetail[];
  choices: Choices;
}

export function deadLettersPage(d: DeadLetterPageData, ctx: PageContext): string {
  const f = d.filter;
  const params = { connection: f.connection, route: f.route, code: f.code, olderThanHours: f.olderThanHours, newerThanHours: f.newerThanHours };
  const back = `/ops/dead-letters${query(params)}`;
  const operator = ctx.user?.role === 'operator';
  const hidden = (name: string, v: string | number | undefined) => (v === undefined || v === '' ? '' : html`<input type="hidden" name="${name}" value="${String(v)}">`);
  const filterFields = html`${hidden('connection', f.connection)}${hidden('route', f.route)}${hidden('code', f.code)}${hidden('olderThanHours', f.olderThanHours)}${hidden('newerThanHours', f.newerThanHours)}<input type="hidden" name="expected" value="${d.total}"><input type="hidden" name="_csrf" value="${ctx.user?.csrf ?? ''}">`;
  const body = html`<h1>Dead letters <span class="badge ${d.total ? 'bad' : 'ok'}" id="dead-letter-count">${d.total}</span></h1>
<form class="filters" method="get" action="/ops/dead-letters" id="dead-letter-filters">
  ${select('connection', 'Connection', d.choices.connections, f.connection)}
  ${select('route', 'Route', d.choices.routes, f.route)}
  ${select('code', 'Error code or HTTP status', d.choices.codes ?? [], f.code)}
  <label>Failed at least (hours ago)<input type="number" min="1" max="8760" name="olderThanHours" value="${f.olderThanHours ?? ''}"></label>
  <label>Failed within (hours)<input type="number" min="1" max="8760" name="newerThanHours" value="${f.newerThanHours ?? ''}"></label>
  <button type="submit">Filter</button> <a href="/ops/dead-letters">clear</a>
</form>
${operator && d.total
  ? html`<div class="bulk" id="bulk-actions"><span>${d.total} dead letter${d.total === 1 ? '' : 's'} match these filters.</span>
  <form class="inline" method="post" action="/ops/dead-letters/bulk" data-confirm="Replay all ${d.total} dead letters matching these filters? Each is queued for delivery again and audited.">${filterFields}<input type="hidden" name="action" value="replay"><button class="primary" type="submit" data-action="bulk-replay">Replay all ${d.total}</button></form>
  <form class="inline" method="post" action="/ops/dead-letters/bulk" data-confirm="Discard all ${d.total} dead letters matching these filters? These cases will not be delivered to their targets.">${filterFields}<input type="hidden" name="action" value="discard"><button class="danger" type="submit" data-action="bulk-discard">Discard all ${d.total}</button></form></div>`
  : ''}
<table id="dead-letter-list"><thead><tr><th>Failed at</th><th>Route</th><th>Target</th><th>Case</th><th>Error</th><th class="num">Attempts</th><th></th></tr></thead><tbody>
${d.items.length
  ? d.items.map(
      (dl) => html`<tr class="dead-letter" data-id="${dl.id}" data-hub-id="${dl.hubId}" data-code="${dl.error.code ?? ''}"><td>${time(dl.failedAt)}</td><td>${dl.route}</td><td>${dl.target}<div class="muted small">${dl.connection}</div></td><td><a class="mono" href="/ops/cases/${encodeURIComponent(dl.hubId)}">${dl.hubId}</a><div class="mono muted small">${dl.id}</div></td><td>${errorDetail(dl.error, dl.failedReason)}</td><td class="num">${dl.attemptsMade}</td><td>${deadLetterActions(dl, ctx.user, back)}</td></tr>`,
    )
  : html`<tr><td colspan="7" class="muted" id="no-dead-letters">No dead letters match.</td></tr>`}
</tbody></table>
${pager('/ops/dead-letters', params, d.page, d.page * d.size < d.total, `${d.total ? (d.page - 1) * d.size + 1 : 0}–${Math.min(d.page * d.size, d.total)} of ${d.total}, newest first`)}`;
  return layout('Dead letters', { ...ctx, active: 'dead-letters' }, body);
}

export function casesPage(h: CaseHistory, choices: Choices, ctx: PageContext): string {
  const f = h.filter;
  const params = { route: f.route, connection: f.connection, status: f.status, origin: f.origin, from: f.from, to: f.to };
  const body = html`<h1>Cases</h1>
<form class="filters" method="get" action="/ops/cases" id="case-filters">
  ${select('route', 'Route', choices.routes, f.route)}
  ${select('connection', 'Connection', choices.connections, f.connection)}
  ${select('status', 'Status', CASE_STATUSES, f.status)}
  ${select('origin', 'Origin system', choices.origins ?? [], f.origin)}
  <label>From (UTC day)<input type="date" name="from" value="${f.from}"></label>
  <label>To (UTC day)<input type="date" name="to" value="${f.to}"></label>
  <button type="submit">Filter</button> <a href="/ops/cases">clear</a>
</form>
${h.truncated ? html`<p class="notice" id="scan-limit">The filters examined the newest cases of the period only; narrow the time range to see older ones.</p>` : ''}
<table id="case-list"><thead><tr><th>Received</th><th>Case</th><th>Type</th><th>Origin</th><th>Routes</th><th>Targets</th><th>Status</th></tr></thead><tbody>
${h.rows.length
  ? h.rows.map(
      (r) => html`<tr class="case" data-hub-id="${r.hubId}" data-status="${r.status}"><td>${time(r.at)}</td><td><a class="mono" href="/ops/cases/${encodeURIComponent(r.hubId)}">${r.hubId}</a></td><td>${r.type ?? ''}</td><td>${r.origin ?? ''}${r.connection ? html`<div class="muted small">${r.connection}</div>` : ''}</td><td>${r.routes.join(', ')}</td><td>${r.targets.map((t) => html`<div><span class="badge stage-${t.stage}">${t.stage}</span> ${t.connection ?? t.target}</div>`)}</td><td><span class="badge status-${r.status} ${r.status === 'dead' || r.status === 'failed' ? 'bad' : r.status === 'delivered' ? 'ok' : r.status === 'in-flight' ? 'warn' : ''}">${r.status}</span></td></tr>`,
    )
  : html`<tr><td colspan="7" class="muted" id="no-cases">No cases match.</td></tr>`}
</tbody></table>
${pager('/ops/cases', params, f.page, h.hasMore, `${f.size} per page, newest first`)}`;
  return layout('Cases', { ...ctx, active: 'cases' }, body);
}
