/** Server-rendered pages of the ops console. No inline script or style: the page works under a strict CSP. */
import type { DeadLetter } from '../core/engine/dead-letters';
import type { CaseViewPanel } from './case-views';
import type { TraceEntry } from '../core/store/trace-store';
import type { OpsUser } from './auth';
import type { DryRun } from './dry-run';
import { html, type Html } from './html';
import type { CaseTimeline, DeadLetterGroup, OpsOverview } from './overview';
import type { Reconciliation, ReconciliationRow } from './reconciliation';

export type Nav = 'overview' | 'reconciliation' | 'queues' | 'audit' | 'case' | 'docs' | 'none';

export interface PageContext {
  user?: OpsUser;
  active?: Nav;
  notice?: { kind: 'ok' | 'bad' | 'info'; text: string };
}

const time = (iso: string | undefined) => (iso ? html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time>` : html`<span class="muted">never</span>`);

function csrfField(user: OpsUser | undefined): Html {
  return user ? html`<input type="hidden" name="_csrf" value="${user.csrf}">` : html``;
}

export function layout(title: string, ctx: PageContext, body: Html): string {
  const { user, active = 'none', notice } = ctx;
  const link = (href: string, label: string, nav: Nav) => html`<a href="${href}" class="${active === nav ? 'active' : ''}">${label}</a>`;
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title} · Caseway ops</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ops/assets/ops.css">
<script src="/ops/assets/ops.js" defer></script>
</head>
<body>
<header class="top">
  <a class="brand" href="/ops">Caseway ops</a>
  ${user
    ? html`<nav>${link('/ops', 'Overview', 'overview')} ${link('/ops/reconciliation', 'Reconciliation', 'reconciliation')} ${link('/ops/queues', 'Queues', 'queues')} ${link('/ops/audit', 'Audit log', 'audit')} ${link('/docs', 'API docs', 'docs')}</nav>
  <form class="search" method="get" action="/ops/cases" role="search">
    <input type="search" name="q" id="case-search" aria-label="Find a case" placeholder="Find a case by any id: hub id, iCasework caseid, 121 referenceId, iSupport case id, ETD appRefNumber" maxlength="200" required>
    <button type="submit">Find</button>
  </form>
  <div class="user"><span id="current-user">${user.name}</span> <span class="badge">${user.role}</span>
    ${user.via === 'login' ? html`<form class="inline" method="post" action="/ops/logout">${csrfField(user)}<button type="submit">Sign out</button></form>` : ''}
  </div>`
    : html`<nav>${link('/docs', 'API docs', 'docs')}</nav>`}
</header>
<main>
${notice ? html`<div class="notice ${notice.kind}" role="status">${notice.text}</div>` : ''}
${body}
</main>
</body>
</html>`.value;
}

export function loginPage(opts: { csrf: string; next: string; error?: string; noUsers: boolean }): string {
  const body = html`<section class="card login">
  <h1>Sign in</h1>
  ${opts.noUsers
    ? html`<p class="notice bad">No ops users are configured. Add <code>ops.users</code> (name, role, passwordHash) to the config; see docs/operations.md.</p>`
    : ''}
  ${opts.error ? html`<p class="notice bad" id="login-error">${opts.error}</p>` : ''}
  <form method="post" action="/ops/login">
    <input type="hidden" name="_csrf" value="${opts.csrf}">
    <input type="hidden" name="next" value="${opts.next}">
    <label for="username">User</label>
    <input id="username" name="username" autocomplete="username" required maxlength="64" autofocus>
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="200">
    <button class="primary" type="submit">Sign in</button>
  </form>
</section>`;
  return layout('Sign in', {}, body);
}

export function messagePage(title: string, text: string, ctx: PageContext): string {
  return layout(title, ctx, html`<h1>${title}</h1><p id="message">${text}</p><p><a href="/ops">Back to the overview</a></p>`);
}

function reconciliationBadge(route: OpsOverview['routes'][number]): Html {
  const r = route.reconciliation;
  if (r.status === 'mismatch') return html`<a class="badge bad mismatch" href="/ops/reconciliation">mismatch: ${r.unaccounted} unaccounted</a>`;
  if (r.status === 'in-flight') return html`<span class="badge warn">in flight</span>`;
  if (r.status === 'unknown') return html`<span class="badge">unknown (backlog too large to check)</span>`;
  return html`<span class="badge ok">balanced</span>`;
}

function deadLetterActions(dl: DeadLetter, user: OpsUser | undefined, back: string): Html {
  const operator = user?.role === 'operator';
  const base = `/ops/dead-letters/${encodeURIComponent(dl.connection)}/${encodeURIComponent(dl.id)}`;
  return html`<div class="actions">
  <a class="button" href="${base}/preview">Dry run</a>
  ${operator
    ? html`<form class="inline" method="post" action="${base}/replay">${csrfField(user)}<input type="hidden" name="back" value="${back}"><button class="primary" type="submit" data-action="replay">Replay</button></form>
  <form class="inline" method="post" action="${base}/discard" data-confirm="Discard this dead letter? The case will not be delivered to this target.">${csrfField(user)}<input type="hidden" name="back" value="${back}"><button class="danger" type="submit" data-action="discard">Discard</button></form>`
    : ''}
</div>`;
}

function deadLetterSection(groups: DeadLetterGroup[], user: OpsUser | undefined): Html {
  if (groups.length === 0) return html`<p class="muted" id="no-dead-letters">No dead letters.</p>`;
  const byRoute = new Map<string, DeadLetterGroup[]>();
  for (const g of groups) byRoute.set(g.route, [...(byRoute.get(g.route) ?? []), g]);
  const operator = user?.role === 'operator';
  return html`${[...byRoute].map(
    ([route, list]) => html`<section class="card dead-route" data-route="${route}">
  <h3>Route ${route} <span class="badge bad">${list.reduce((n, g) => n + g.count, 0)} dead</span>
  ${operator
    ? html`<form class="inline" method="post" action="/ops/routes/${encodeURIComponent(route)}/replay" data-confirm="Replay every dead letter of route ${route}?">${csrfField(user)}<input type="hidden" name="back" value="/ops"><button type="submit" data-action="replay-route">Replay all of this route</button></form>`
    : ''}</h3>
  ${list.map(
    (g) => html`<div class="dead-group">
    <p><span class="badge bad">${g.count}</span> <strong class="error-message">${g.error || '(no message)'}</strong> <span class="muted">via ${g.connections.join(', ')} · newest ${time(g.newest)}</span>
    ${operator && g.count > 1
      ? html`<form class="inline" method="post" action="/ops/routes/${encodeURIComponent(route)}/replay" data-confirm="Replay the ${g.count} dead letters with this error?">${csrfField(user)}<input type="hidden" name="error" value="${g.error}"><input type="hidden" name="back" value="/ops"><button type="submit">Replay these ${g.count}</button></form>`
      : ''}</p>
    <table><thead><tr><th>Delivery</th><th>Case</th><th>Target</th><th>Connection</th><th class="num">Attempts</th><th>Failed at</th><th></th></tr></thead><tbody>
    ${g.items.slice(0, 25).map(
      (dl) => html`<tr class="dead-letter" data-id="${dl.id}" data-hub-id="${dl.hubId}"><td class="mono">${dl.id}</td><td><a class="mono" href="/ops/cases/${encodeURIComponent(dl.hubId)}">${dl.hubId}</a></td><td>${dl.target}</td><td>${dl.connection}</td><td class="num">${dl.attemptsMade}</td><td>${time(dl.failedAt)}</td><td>${deadLetterActions(dl, user, '/ops')}</td></tr>`,
    )}
    </tbody></table>
    ${g.items.length > 25 ? html`<p class="muted">${g.items.length - 25} more not shown.</p>` : ''}
  </div>`,
  )}
</section>`,
  )}`;
}

export function overviewPage(data: OpsOverview, ctx: PageContext): string {
  const period = (days: number, label: string) => html`<a href="/ops?days=${days}" class="${data.periodDays === days ? 'active' : ''}">${label}</a>`;
  const body = html`<h1>Overview</h1>
<p class="period muted">Counts for ${period(1, 'today')} ${period(7, 'last 7 days')} ${period(30, 'last 30 days')} (UTC days, by the day a case was received)</p>
<h2 id="routes-heading">Routes</h2>
<div class="table-wrap"><table id="routes"><thead><tr><th>Route</th><th>From</th><th>To</th><th class="num">Received</th><th class="num" title="One per routed case and target">Deliveries</th><th class="num">Delivered</th><th class="num">Failed attempts</th><th class="num">Dead</th><th class="num">Filtered</th><th class="num">Duplicates</th><th class="num">In flight</th><th>Last activity</th><th>Reconciliation</th></tr></thead><tbody>
${data.routes.map(
  (r) => html`<tr class="route ${r.reconciliation.status === 'mismatch' ? 'mismatch' : ''}" data-route="${r.name}">
  <td><strong>${r.name}</strong>${r.enabled ? '' : html` <span class="badge">disabled</span>`}${r.description ? html`<div class="muted">${r.description}</div>` : ''}</td>
  <td>${r.from.connection}.${r.from.source}</td>
  <td>${r.to.map((t) => html`<div>${t.connection}.${t.action}</div>`)}</td>
  <td class="num" data-count="received">${r.totals.received}</td>
  <td class="num" data-count="deliveries">${r.totals.deliveries}</td>
  <td class="num" data-count="delivered">${r.totals.delivered}</td>
  <td class="num" data-count="failed">${r.totals.failedAttempts}</td>
  <td class="num" data-count="dead">${r.deadLetters}</td>
  <td class="num" data-count="filtered">${r.totals.filtered + r.totals.targetFiltered}</td>
  <td class="num" data-count="deduplicated">${r.totals.deduplicated}</td>
  <td class="num" data-count="in-flight">${r.inFlight}</td>
  <td>${time(r.lastActivity)}</td>
  <td class="reconciliation">${reconciliationBadge(r)}</td>
</tr>`,
)}
</tbody></table></div>

<h2>Queues <a class="muted" href="/ops/queues">open the queue dashboard</a></h2>
<table id="queues"><thead><tr><th>Queue</th>${['waiting', 'active', 'delayed', 'failed', 'completed', 'paused'].map((s) => html`<th class="num">${s}</th>`)}</tr></thead><tbody>
${data.queues.map(
  (q) => html`<tr class="queue" data-queue="${q.name}"><td><a href="/ops/queues/queue/${encodeURIComponent(q.name)}">${q.name}</a></td>${['waiting', 'active', 'delayed', 'failed', 'completed', 'paused'].map(
    (s) => html`<td class="num" data-state="${s}">${q.counts[s] ?? 0}</td>`,
  )}</tr>`,
)}
</tbody></table>

<h2>Connections</h2>
<table id="connections"><thead><tr><th>Connection</th><th>Adapter</th><th>Circuit</th><th>Last success</th><th>Last error</th><th>Error</th><th>Polls</th></tr></thead><tbody>
${data.connections.map(
  (c) => html`<tr class="connection" data-connection="${c.name}">
  <td><strong>${c.name}</strong></td><td>${c.adapter}</td>
  <td>${c.circuit
    ? html`<span class="badge ${c.circuit.state}" data-circuit="${c.circuit.state}" title="${c.circuit.consecutiveFailures} consecutive failed attempts">${c.circuit.state}</span>${c.circuit.consecutiveFailures ? html` <span class="muted">${c.circuit.consecutiveFailures} failures in a row</span>` : ''}`
    : html`<span class="muted">no deliveries</span>`}</td>
  <td>${time(c.lastSuccess)}</td><td>${c.lastError ? time(c.lastError) : html`<span class="muted">none</span>`}</td>
  <td>${c.lastErrorMessage ?? ''}</td>
  <td>${c.polls.map((p) => html`<div>${p.source}: ${time(p.lastRun)}</div>`)}</td>
</tr>`,
)}
</tbody></table>

<h2 id="dead-letters">Dead letters <span class="badge ${data.deadLetters.total ? 'bad' : 'ok'}" id="dead-letter-total">${data.deadLetters.total}</span></h2>
${deadLetterSection(data.deadLetters.groups, ctx.user)}
`;
  return layout('Overview', { ...ctx, active: 'overview' }, body);
}

function gapCell(value: number, bad: boolean): Html {
  return html`<td class="num ${bad && value !== 0 ? 'mismatch' : ''}">${value}</td>`;
}

export function reconciliationPage(rec: Reconciliation, ctx: PageContext): string {
  const row = (r: ReconciliationRow) => {
    const bad = r.status === 'mismatch';
    return html`<tr class="recon ${bad ? 'mismatch' : ''}" data-route="${r.route}" data-day="${r.day}" data-status="${r.status}">
  <td>${r.day}</td><td>${r.route}</td>
  <td class="num">${r.received}</td><td class="num">${r.filtered}</td><td class="num">${r.deduplicated}</td><td class="num" data-count="echo">${r.echo}</td><td class="num">${r.routed}</td>${gapCell(r.caseGap, bad)}
  <td class="num">${r.deliveries}</td><td class="num">${r.delivered}</td><td class="num">${r.targetFiltered}</td><td class="num">${r.deadOpen}</td><td class="num">${r.discarded}</td><td class="num">${r.inFlight}${r.retrying ? html` <span class="muted">(${r.retrying} retrying)</span>` : ''}</td>${gapCell(r.deliveryGap, bad)}
  <td>${r.status === 'mismatch' ? html`<span class="badge bad">mismatch</span>` : r.status === 'in-flight' ? html`<span class="badge warn">in flight</span>` : r.status === 'unknown' ? html`<span class="badge">unknown</span>` : html`<span class="badge ok">balanced</span>`}</td>
</tr>`;
  };
  const body = html`<h1>Reconciliation</h1>
<p class="muted">Per route and day (UTC, the day a case was received): every case received is filtered out, a duplicate, an echo of the hub's own delivery, or routed; every delivery of a routed case is delivered, filtered by its target, discarded, an open dead letter, or still in flight. A gap means something is unaccounted for.</p>
${rec.complete ? '' : html`<p class="notice bad">A queue holds more jobs than one check reads; live numbers are partial and no row is judged.</p>`}
<div class="table-wrap"><table id="reconciliation"><thead><tr><th>Day</th><th>Route</th><th class="num">Received</th><th class="num">Filtered</th><th class="num">Duplicates</th><th class="num" title="A peer repeating what the hub delivered to it">Echoes</th><th class="num">Routed</th><th class="num">Case gap</th><th class="num">Deliveries</th><th class="num">Delivered</th><th class="num">Target-filtered</th><th class="num">Dead</th><th class="num">Discarded</th><th class="num">In flight</th><th class="num">Delivery gap</th><th>Status</th></tr></thead><tbody>
${rec.rows.length ? rec.rows.map(row) : html`<tr><td colspan="16" class="muted">No activity in these days.</td></tr>`}
</tbody></table></div>
<p class="muted">Checked ${time(rec.checkedAt)} over ${rec.days.length} days.</p>`;
  return layout('Reconciliation', { ...ctx, active: 'reconciliation' }, body);
}

/** The sentence a timeline line tells, for the hops that make the case's story (origin, views, echoes, joins). */
export function storyOf(e: TraceEntry, repeats = 1): string | undefined {
  const s = e.summary ?? {};
  if (e.stage === 'received') {
    if (s.view === 'origin') return `origin: case created from ${e.connection ?? 'a source'}${s.source ? ` (${String(s.source)})` : ''}`;
    if (s.view === 'added') return `view from ${e.connection ?? 'a source'} arrived`;
    return `view from ${e.connection ?? 'a source'} updated`;
  }
  if (e.stage === 'echo') return `echo from ${e.connection ?? 'a peer'}, ignored${repeats > 1 ? ` (${repeats} times)` : ''}`;
  if (e.stage === 'joined') return `joined case ${String(s.hubId ?? '')} by ${String(s.system ?? '')} ${String(s.kind ?? 'id')}`;
  return undefined;
}

/**
 * Echoes from one connection fold into one line (the first one's), until that connection says something new (a
 * received view or a join): the peer repeating the hub is not news, however its polls interleave with deliveries.
 */
export function foldTrace(trace: TraceEntry[]): Array<{ entry: TraceEntry; repeats: number }> {
  const out: Array<{ entry: TraceEntry; repeats: number }> = [];
  const open = new Map<string, { entry: TraceEntry; repeats: number }>();
  for (const entry of trace) {
    const from = entry.connection ?? '';
    if (entry.stage === 'echo') {
      const line = open.get(from);
      if (line) {
        line.repeats += 1;
        continue;
      }
      const fresh = { entry, repeats: 1 };
      open.set(from, fresh);
      out.push(fresh);
      continue;
    }
    if (entry.stage === 'received' || entry.stage === 'joined') open.delete(from);
    out.push({ entry, repeats: 1 });
  }
  return out;
}

function traceLine({ entry: e, repeats }: { entry: TraceEntry; repeats: number }): Html {
  const where = [e.route && `route ${e.route}`, e.target && `target ${e.target}`, e.connection && `@ ${e.connection}`, e.action && `action ${e.action}`].filter(Boolean).join(' · ');
  const error = e.error as { message?: string; code?: string; status?: number } | undefined;
  const story = storyOf(e, repeats);
  return html`<li class="stage-${e.stage}" data-stage="${e.stage}"${repeats > 1 ? html` data-repeats="${String(repeats)}"` : ''}>
  <span class="badge stage-${e.stage}">${e.stage}</span> ${time(e.at)} ${story ? html`<strong class="story">${story}</strong> ` : ''}<span class="muted">${where}</span>
  ${e.attempt ? html` <span class="muted">attempt ${e.attempt}</span>` : ''}${e.durationMs !== undefined ? html` <span class="muted">${e.durationMs} ms</span>` : ''}${e.by ? html` <span class="muted">by ${e.by}</span>` : ''}
  ${e.summary && Object.keys(e.summary).length ? html`<div class="mono">${Object.entries(e.summary).map(([k, v]) => `${k}=${String(v)}`).join('  ')}</div>` : ''}
  ${error ? html`<div class="mismatch">${error.code ? `${error.code}: ` : ''}${error.message ?? ''}${error.status ? ` (HTTP ${error.status})` : ''}</div>` : ''}
</li>`;
}

function viewsSection(views: CaseViewPanel[]): Html {
  if (views.length === 0) return html``;
  return html`<h2>Views</h2>
<p class="muted">What each system last said about this case. The case the hub answers is merged from them (docs/canonical-model.md): the origin's fields stay, later views add their ids, status and notes.${views[0].masked ? ' Personal data is masked for your role.' : ''}</p>
<table id="views"><thead><tr><th>System</th><th>Connection</th><th>Role</th><th>Arrived</th><th>Event</th><th>Type</th><th>Status</th></tr></thead><tbody>
${views.map((v) => html`<tr class="view" data-connection="${v.info.connection}" data-origin="${String(v.info.origin)}"><td>${v.info.system}</td><td>${v.info.connection}</td><td>${v.info.origin ? html`<span class="badge ok">origin</span>` : 'later view'}</td><td>${time(v.info.at)}</td><td class="mono">${v.info.eventId}</td><td>${v.info.type ?? ''}</td><td>${v.info.status ?? ''}</td></tr>`)}
</tbody></table>
${views.map((v) => html`<details class="view-content" data-connection="${v.info.connection}"><summary>View from ${v.info.connection}</summary><pre class="payload" data-masked="${String(v.masked)}">${JSON.stringify(v.case, null, 2)}</pre></details>`)}`;
}

export function casePage(t: CaseTimeline, deadLetters: DeadLetter[], ctx: PageContext, views: CaseViewPanel[] = []): string {
  const back = `/ops/cases/${encodeURIComponent(t.hubId)}`;
  const origin = t.meta ? (t.meta.sourceConnection || t.meta.sourceSystem) : undefined;
  const body = html`<h1>Case <span class="mono" id="hub-id">${t.hubId}</span></h1>
<section class="card">
  <p>${t.meta ? html`Type <strong>${t.meta.type}</strong> · <span id="origin">from ${origin}</span>${t.meta.sourceSystem && t.meta.sourceSystem !== origin ? html` <span class="muted">(${t.meta.sourceSystem})</span>` : ''} · first seen ${time(t.meta.createdAt)} · updated ${time(t.meta.updatedAt)}` : html`<span class="muted">The stored case has expired; its trace remains.</span>`}</p>
  <h3>Ids in other systems</h3>
  <table id="references"><thead><tr><th>System</th><th>Kind</th><th>Id</th><th>Connection</th></tr></thead><tbody>
  ${t.references.length ? t.references.map((r) => html`<tr><td>${r.system}</td><td>${r.kind ?? ''}</td><td class="mono">${r.id}</td><td>${r.connection ?? ''}</td></tr>`) : html`<tr><td colspan="4" class="muted">none</td></tr>`}
  </tbody></table>
</section>
${viewsSection(views)}
<h2>Deliveries</h2>
<table id="targets"><thead><tr><th>Route</th><th>Target</th><th>Connection</th><th>State</th><th>Since</th></tr></thead><tbody>
${t.targets.map((s) => html`<tr class="target" data-target="${s.target}" data-stage="${s.stage}"><td>${s.route}</td><td>${s.target}</td><td>${s.connection ?? ''}</td><td><span class="badge stage-${s.stage}">${s.stage}</span></td><td>${time(s.at)}</td></tr>`)}
</tbody></table>
${deadLetters.length
  ? html`<h2>Open dead letters of this case</h2><table id="case-dead-letters"><thead><tr><th>Delivery</th><th>Target</th><th>Connection</th><th>Error</th><th></th></tr></thead><tbody>
  ${deadLetters.map((dl) => html`<tr class="dead-letter" data-id="${dl.id}"><td class="mono">${dl.id}</td><td>${dl.target}</td><td>${dl.connection}</td><td class="mismatch">${dl.failedReason}</td><td>${deadLetterActions(dl, ctx.user, back)}</td></tr>`)}
  </tbody></table>`
  : ''}
<h2>Timeline</h2>
${ctx.user?.role === 'operator' && t.trace.some((e) => e.error?.hasPeerDetail) ? html`<p><a id="peer-errors" href="${back}/peer-errors">The peers' own error texts</a> <span class="muted">(may hold personal data; viewing is audited)</span></p>` : ''}
<ol class="timeline" id="timeline">${foldTrace(t.trace).map(traceLine)}</ol>`;
  return layout(`Case ${t.hubId}`, { ...ctx, active: 'case' }, body);
}

export function dryRunPage(d: DryRun, ctx: PageContext): string {
  const dl = d.deadLetter;
  const pretty = (v: unknown) => JSON.stringify(v, null, 2);
  const body = html`<h1>Dry run: replay of <span class="mono">${dl.id}</span></h1>
<p>Case <a class="mono" href="/ops/cases/${encodeURIComponent(dl.hubId)}">${dl.hubId}</a> · route <strong>${dl.route}</strong> · target <strong>${dl.target}</strong> on <strong>${dl.connection}</strong> · failed ${time(dl.failedAt)} after ${dl.attemptsMade} attempt(s): <span class="mismatch">${dl.failedReason}</span></p>
<p class="notice">Nothing is sent. This is what the target would receive if the dead letter were replayed now, with the route configuration the hub runs with now.${d.masked ? ' Personal data is masked for your role.' : ''}</p>
${d.problem ? html`<p class="notice bad" id="dry-run-problem">${d.problem}</p>` : ''}
${d.target ? html`<h2>Target</h2><p>${d.target.connection}.${d.target.action}</p>${d.target.mapping ? html`<h3>Mapping</h3><pre>${pretty(d.target.mapping)}</pre>` : html`<p class="muted">No mapping overrides.</p>`}${d.target.options && Object.keys(d.target.options).length ? html`<h3>Options</h3><pre>${pretty(d.target.options)}</pre>` : ''}` : ''}
${d.kind === 'preview'
  ? html`<h2>Requests the action would send</h2>${(d.requests ?? []).map((r) => html`<h3 class="mono">${r.operation}</h3><pre class="payload" data-masked="${String(d.masked)}">${pretty(r.body)}</pre>`)}`
  : d.kind === 'case'
    ? html`<h2>Case the action would receive</h2><p class="muted">This adapter's action has no request preview; shown is the canonical case after the target's mapping.</p><pre class="payload" id="dry-run-payload" data-masked="${String(d.masked)}">${pretty(d.case)}</pre>`
    : ''}
${ctx.user?.role === 'operator'
  ? html`<form method="post" action="/ops/dead-letters/${encodeURIComponent(dl.connection)}/${encodeURIComponent(dl.id)}/replay">${csrfField(ctx.user)}<input type="hidden" name="back" value="/ops/cases/${encodeURIComponent(dl.hubId)}"><button class="primary" type="submit" data-action="replay">Replay now</button></form>`
  : html`<p class="muted">Replaying needs the operator role.</p>`}`;
  return layout('Dry run', { ...ctx, active: 'none' }, body);
}

/** The peers' own words about a case's failed deliveries (operators only; the viewing is audited). */
export function peerErrorsPage(hubId: string, errors: Record<string, unknown>, ctx: PageContext): string {
  const back = `/ops/cases/${encodeURIComponent(hubId)}`;
  const body = html`<h1>Peer error texts of case <a class="mono" href="${back}">${hubId}</a></h1>
<p class="notice">What the peers answered when they refused a delivery, as they sent it. It may echo personal data: this viewing is in the audit log.</p>
${Object.keys(errors).length ? Object.entries(errors).map(([attempt, e]) => html`<h3 class="mono">${attempt}</h3><pre class="payload">${JSON.stringify(e, null, 2)}</pre>`) : html`<p class="muted">None kept.</p>`}`;
  return layout('Peer error texts', { ...ctx, active: 'case' }, body);
}

export function auditPage(entries: Array<Record<string, string>>, ctx: PageContext): string {
  const body = html`<h1>Audit log</h1>
<table id="audit"><thead><tr><th>When</th><th>Who</th><th>Action</th><th>Route</th><th>Connection</th><th>Delivery</th><th>Case</th><th>Detail</th></tr></thead><tbody>
${entries.length
  ? entries.map((e) => html`<tr class="audit" data-action="${e.action}"><td>${time(e.at)}</td><td>${e.by}</td><td>${e.action}</td><td>${e.route ?? ''}</td><td>${e.connection ?? ''}</td><td class="mono">${e.deliveryId ?? ''}</td><td>${e.hubId ? html`<a class="mono" href="/ops/cases/${encodeURIComponent(e.hubId)}">${e.hubId}</a>` : ''}</td><td>${e.detail ?? ''}</td></tr>`)
  : html`<tr><td colspan="8" class="muted">Nothing yet.</td></tr>`}
</tbody></table>`;
  return layout('Audit log', { ...ctx, active: 'audit' }, body);
}
