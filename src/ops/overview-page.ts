/**
 * The overview page: a status strip first (dead letters, circuits and unhealthy peers, queue backlogs and their
 * oldest waiting job, last poll per source, each linking to its detail), then the routes with a small chart each,
 * the queues, the connections and a summary of the dead letters. Server-rendered SVG, no script needed; ops.js
 * reloads it every `refresh` seconds unless the operator is typing.
 */
import { html, type Html } from './html';
import type { DayCounts, OpsOverview, RouteOverview } from './overview';
import { deadLetterActions, layout, time, type PageContext } from './views';

export const REFRESH_SECONDS = 30;

function ago(iso: string | undefined, now: number): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

/** A route's health in one badge: never "balanced" while it has dead letters or a reconciliation mismatch. */
export function routeHealth(r: RouteOverview): Html {
  const rec = r.reconciliation;
  const parts: Html[] = [];
  if (r.deadLetters) parts.push(html`<a class="badge bad" data-health="dead" href="/ops/dead-letters?route=${encodeURIComponent(r.name)}">${r.deadLetters} dead</a>`);
  if (rec.status === 'mismatch') parts.push(html`<a class="badge bad" data-health="mismatch" href="/ops/reconciliation">mismatch: ${rec.unaccounted} unaccounted</a>`);
  if (parts.length) return html`${parts}`;
  if (rec.status === 'in-flight') return html`<span class="badge warn" data-health="in-flight">in flight</span>`;
  if (rec.status === 'unknown') return html`<span class="badge" data-health="unknown" title="The backlog is too large to check">unknown</span>`;
  return html`<span class="badge ok" data-health="balanced">balanced</span>`;
}

/** Received (blue), delivered (green) and failed attempts (red) per day, as grouped bars. */
export function routeChart(route: string, daily: DayCounts[]): Html {
  const w = 150;
  const h = 34;
  const max = Math.max(1, ...daily.flatMap((d) => [d.received, d.delivered, d.failed]));
  const slot = w / Math.max(1, daily.length);
  const bar = Math.max(1, Math.min(6, (slot - 1) / 3));
  const series: Array<[keyof Omit<DayCounts, 'day'>, string]> = [
    ['received', '#1f5fbf'],
    ['delivered', '#1b7f3b'],
    ['failed', '#c0111f'],
  ];
  const rects = daily.flatMap((d, i) =>
    series.map(([field, colour], j) => {
      const v = d[field];
      const bh = v ? Math.max(1, Math.round((v / max) * (h - 2))) : 0;
      return html`<rect x="${(i * slot + j * bar).toFixed(1)}" y="${h - bh}" width="${bar.toFixed(1)}" height="${bh}" fill="${colour}"><title>${d.day} ${field}: ${v}</title></rect>`;
    }),
  );
  const total = (f: keyof Omit<DayCounts, 'day'>) => daily.reduce((n, d) => n + d[f], 0);
  return html`<svg class="chart" data-route="${route}" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${route}: ${total('received')} received, ${total('delivered')} delivered, ${total('failed')} failed attempts over ${daily.length} day(s)"><line x1="0" y1="${h - 0.5}" x2="${w}" y2="${h - 0.5}" stroke="#d9dee7"/>${rects}</svg>`;
}

const problem = (n: number, kind: 'bad' | 'warn' = 'bad') => (n > 0 ? `problem ${kind}` : '');

function statusStrip(data: OpsOverview, now: number): Html {
  const unhealthy = data.connections.filter((c) => (c.circuit && c.circuit.state !== 'closed') || (c.lastError && (!c.lastSuccess || c.lastError > c.lastSuccess)));
  const openCircuits = data.connections.filter((c) => c.circuit?.state === 'open');
  const polls = data.connections.flatMap((c) => c.polls.map((p) => ({ ...p, connection: c.name })));
  return html`<section id="status-strip" class="strip" aria-label="Health">
  <a class="cell ${problem(data.deadLetters.total)}" id="strip-dead-letters" href="/ops/dead-letters"><span class="value">${data.deadLetters.total}</span><span class="label">dead letters</span></a>
  <a class="cell ${problem(openCircuits.length)}" id="strip-circuits" href="#connections-heading"><span class="value">${openCircuits.length}</span><span class="label">open circuits</span>${openCircuits.length ? html`<span class="detail">${openCircuits.map((c) => c.name).join(', ')}</span>` : ''}</a>
  <a class="cell ${problem(unhealthy.length, unhealthy.length > openCircuits.length ? 'warn' : 'bad')}" id="strip-unhealthy" href="#connections-heading"><span class="value">${unhealthy.length}</span><span class="label">unhealthy peers</span>${unhealthy.length ? html`<span class="detail">${unhealthy.map((c) => c.name).join(', ')}</span>` : ''}</a>
  ${data.queues.map(
    (q) => html`<a class="cell queue ${problem(q.backlog, 'warn')}" data-queue="${q.name}" href="/ops/queues/queue/${encodeURIComponent(q.name)}"><span class="value">${q.backlog}</span><span class="label">${q.name} backlog</span><span class="detail">oldest waiting: ${q.oldestWaiting ? ago(q.oldestWaiting, now) : 'none'}</span></a>`,
  )}
  ${polls.map(
    (p) => html`<a class="cell poll" data-source="${p.connection}.${p.source}" href="#connections-heading"><span class="value">${ago(p.lastRun, now)}</span><span class="label">last poll ${p.connection}.${p.source}</span></a>`,
  )}
</section>`;
}

function queueButtons(queue: string, paused: boolean, ctx: PageContext): Html {
  const button = (action: string, label: string, confirm?: string) =>
    html`<form class="inline" method="post" action="/ops/queue-actions/${encodeURIComponent(queue)}/${action}" ${confirm ? html`data-confirm="${confirm}"` : ''}><input type="hidden" name="_csrf" value="${ctx.user?.csrf ?? ''}"><input type="hidden" name="back" value="/ops"><button type="submit" data-queue-action="${action}">${label}</button></form>`;
  return html`<div class="actions">${paused ? button('resume', 'Resume') : button('pause', 'Pause', `Pause ${queue}? Its jobs wait until it is resumed.`)}${button('promote', 'Run delayed now')}${button('clean-completed', 'Clean completed')}</div>`;
}

function deadLetterSummary(data: OpsOverview, ctx: PageContext): Html {
  if (data.deadLetters.groups.length === 0) return html`<p class="muted" id="no-dead-letters">No dead letters.</p>`;
  return html`${data.deadLetters.groups.map(
    (g) => html`<section class="card dead-group" data-route="${g.route}">
  <p><span class="badge bad">${g.count}</span> route <strong>${g.route}</strong> · <strong class="error-message">${g.error || '(no message)'}</strong> <span class="muted">via ${g.connections.join(', ')} · newest ${time(g.newest)}</span>
  <a href="/ops/dead-letters?route=${encodeURIComponent(g.route)}">all ${g.count} with filters, paging and bulk actions</a></p>
  <table><thead><tr><th>Delivery</th><th>Case</th><th>Target</th><th>Connection</th><th class="num">Attempts</th><th>Failed at</th><th></th></tr></thead><tbody>
  ${g.items.slice(0, 5).map(
    (dl) => html`<tr class="dead-letter" data-id="${dl.id}" data-hub-id="${dl.hubId}"><td class="mono">${dl.id}</td><td><a class="mono" href="/ops/cases/${encodeURIComponent(dl.hubId)}">${dl.hubId}</a></td><td>${dl.target}</td><td>${dl.connection}</td><td class="num">${dl.attemptsMade}</td><td>${time(dl.failedAt)}</td><td>${deadLetterActions(dl, ctx.user, '/ops')}</td></tr>`,
  )}
  </tbody></table>
</section>`,
  )}`;
}

export function overviewPage(data: OpsOverview, ctx: PageContext, refresh = REFRESH_SECONDS): string {
  const now = Date.parse(data.generatedAt);
  const period = (days: number, label: string) => html`<a href="/ops?days=${days}" class="${data.periodDays === days ? 'active' : ''}">${label}</a>`;
  const body = html`<div class="page-head"><h1>Overview</h1><span class="refresh muted" id="auto-refresh" data-refresh="${refresh}">Auto-refresh every ${refresh} s</span></div>
${statusStrip(data, now)}
<p class="period muted">Counts for ${period(1, 'today')} ${period(7, 'last 7 days')} ${period(30, 'last 30 days')} (UTC days, by the day a case was received)</p>
<h2 id="routes-heading">Routes</h2>
<div class="table-wrap"><table id="routes"><thead><tr><th>Route</th><th class="num">Received</th><th class="num">Delivered</th><th class="num" title="Failed attempts, retried or not">Failed</th><th class="num">Dead</th><th class="num" title="Filtered out by the route or a target">Filtered</th><th class="num">Duplicates</th><th class="num">In flight</th><th>Last activity</th><th>Health</th><th>Per day <span class="legend"><i class="rec"></i>received <i class="del"></i>delivered <i class="fail"></i>failed</span></th></tr></thead><tbody>
${data.routes.map(
  (r) => html`<tr class="route ${r.reconciliation.status === 'mismatch' || r.deadLetters ? 'mismatch' : ''}" data-route="${r.name}">
  <td><strong>${r.name}</strong>${r.enabled ? '' : html` <span class="badge">disabled</span>`}<div class="muted small">${r.from.connection}.${r.from.source} → ${r.to.map((t) => `${t.connection}.${t.action}`).join(', ')}</div></td>
  <td class="num" data-count="received">${r.totals.received}</td>
  <td class="num" data-count="delivered">${r.totals.delivered}</td>
  <td class="num ${problem(r.totals.failedAttempts, 'warn')}" data-count="failed">${r.totals.failedAttempts}</td>
  <td class="num ${problem(r.deadLetters)}" data-count="dead">${r.deadLetters ? html`<a href="/ops/dead-letters?route=${encodeURIComponent(r.name)}">${r.deadLetters}</a>` : '0'}</td>
  <td class="num" data-count="filtered">${r.totals.filtered + r.totals.targetFiltered}</td>
  <td class="num" data-count="deduplicated">${r.totals.deduplicated}</td>
  <td class="num" data-count="in-flight">${r.inFlight}</td>
  <td>${time(r.lastActivity)}</td>
  <td class="reconciliation">${routeHealth(r)}</td>
  <td>${routeChart(r.name, r.daily)}</td>
</tr>`,
)}
</tbody></table></div>

<h2>Queues <a class="muted" href="/ops/queues">open the queue dashboard</a></h2>
<table id="queues"><thead><tr><th>Queue</th>${['waiting', 'active', 'delayed', 'failed', 'completed'].map((s) => html`<th class="num">${s}</th>`)}<th>Paused</th><th>Oldest waiting</th>${ctx.user?.role === 'operator' ? html`<th>Actions</th>` : ''}</tr></thead><tbody>
${data.queues.map(
  (q) => html`<tr class="queue" data-queue="${q.name}"><td><a href="/ops/queues/queue/${encodeURIComponent(q.name)}">${q.name}</a></td>${['waiting', 'active', 'delayed', 'failed', 'completed'].map(
    (s) => html`<td class="num ${s === 'failed' ? problem(q.counts[s] ?? 0) : ''}" data-state="${s}">${q.counts[s] ?? 0}</td>`,
  )}<td class="paused" data-paused="${q.paused ? 'yes' : 'no'}">${q.paused ? 'paused' : html`<span class="muted">no</span>`}</td><td>${q.oldestWaiting ? time(q.oldestWaiting) : html`<span class="muted">none</span>`}</td>${ctx.user?.role === 'operator' ? html`<td>${queueButtons(q.name, q.paused, ctx)}</td>` : ''}</tr>`,
)}
</tbody></table>

<h2 id="connections-heading">Connections</h2>
<table id="connections"><thead><tr><th>Connection</th><th>Adapter</th><th>Circuit</th><th>Last success</th><th>Last error</th><th>Error</th><th>Polls</th></tr></thead><tbody>
${data.connections.map(
  (c) => html`<tr class="connection" data-connection="${c.name}">
  <td><strong>${c.name}</strong></td><td>${c.adapter}</td>
  <td class="${c.circuit && c.circuit.state !== 'closed' ? 'problem bad' : ''}">${c.circuit
    ? html`<span class="badge ${c.circuit.state}" data-circuit="${c.circuit.state}" title="${c.circuit.consecutiveFailures} consecutive failed attempts">${c.circuit.state}</span>${c.circuit.consecutiveFailures ? html` <span class="muted">${c.circuit.consecutiveFailures} failures in a row</span>` : ''}`
    : html`<span class="muted">no deliveries</span>`}</td>
  <td>${time(c.lastSuccess)}</td><td>${c.lastError ? time(c.lastError) : html`<span class="muted">none</span>`}</td>
  <td>${c.lastErrorMessage ?? ''}</td>
  <td>${c.polls.map((p) => html`<div>${p.source}: ${time(p.lastRun)}</div>`)}</td>
</tr>`,
)}
</tbody></table>

<h2 id="dead-letters">Dead letters <span class="badge ${data.deadLetters.total ? 'bad' : 'ok'}" id="dead-letter-total">${data.deadLetters.total}</span> <a class="muted" href="/ops/dead-letters">filter, page and act on all of them</a></h2>
${deadLetterSummary(data, ctx)}
`;
  return layout('Overview', { ...ctx, active: 'overview' }, body);
}
