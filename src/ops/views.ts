/** Server-rendered pages of the ops console. No inline script or style: the page works under a strict CSP. */
import type { DeadLetter } from '../core/engine/dead-letters';
import type { CaseViewPanels } from './case-views';
import type { TraceEntry } from '../core/store/trace-store';
import type { OpsUser } from './auth';
import type { DryRun } from './dry-run';
import { errorDetail } from './error-detail';
import { safeErrorOf, type DeadLetterDetail } from './dead-letter-query';
import { html, type Html } from './html';
import type { CaseTimeline } from './overview';
import type { Reconciliation, ReconciliationRow } from './reconciliation';

export type Nav = 'overview' | 'cases' | 'dead-letters' | 'reconciliation' | 'queues' | 'audit' | 'case' | 'docs' | 'none';

export interface PageContext {
  user?: OpsUser;
  active?: Nav;
  notice?: { kind: 'ok' | 'bad' | 'info'; text: string };
}

export const time = (iso: string | undefined) => (iso ? html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time>` : html`<span class="muted">never</span>`);

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
    ? html`<nav>${link('/ops', 'Overview', 'overview')} ${link('/ops/cases', 'Cases', 'cases')} ${link('/ops/dead-letters', 'Dead letters', 'dead-letters')} ${link('/ops/reconciliation', 'Reconciliation', 'reconciliation')} ${link('/ops/queues', 'Queues', 'queues')} ${link('/ops/audit', 'Audit log', 'audit')} ${link('/docs', 'API docs', 'docs')}</nav>
  <form class="search" method="get" action="/ops/cases" role="search">
    <input type="search" name="q" id="case-search" aria-label="Find a case" placeholder="Find a case by any id: the hub id or any peer system's id (system:id narrows it)" maxlength="200" required>
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

export function deadLetterActions(dl: DeadLetter, user: OpsUser | undefined, back: string): Html {
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

/**
 * The operator-only page with the peers' own words about a case's failures (decrypted; each viewing audited), at the
 * failed delivery, or at one attempt of it (the engine keeps them per `<deliveryId>#<attempt>`).
 */
export function peerErrorsHref(hubId: string, deliveryId?: string, attempt?: number): string {
  const base = `/ops/cases/${encodeURIComponent(hubId)}/peer-errors`;
  if (!deliveryId) return base;
  return `${base}#${attempt === undefined ? peerAnchor(deliveryId) : peerAnchor(deliveryId, attempt)}`;
}

const peerAnchor = (deliveryId: string, attempt?: number) => `${attempt === undefined ? 'delivery' : 'attempt'}-${deliveryId.replace(/[^A-Za-z0-9_-]/g, '_')}${attempt === undefined ? '' : `-${attempt}`}`;

function traceLine({ entry: e, repeats }: { entry: TraceEntry; repeats: number }, hubId: string, operator: boolean): Html {
  const where = [e.route && `route ${e.route}`, e.target && `target ${e.target}`, e.connection && `@ ${e.connection}`, e.action && `action ${e.action}`].filter(Boolean).join(' · ');
  const error = e.error ? safeErrorOf(e.error) : undefined;
  const story = storyOf(e, repeats);
  return html`<li class="stage-${e.stage}" data-stage="${e.stage}"${repeats > 1 ? html` data-repeats="${String(repeats)}"` : ''}>
  <span class="badge stage-${e.stage}">${e.stage}</span> ${time(e.at)} ${story ? html`<strong class="story">${story}</strong> ` : ''}<span class="muted">${where}</span>
  ${e.attempt ? html` <span class="muted">attempt ${e.attempt}</span>` : ''}${e.durationMs !== undefined ? html` <span class="muted">${e.durationMs} ms</span>` : ''}${e.by ? html` <span class="muted">by ${e.by}</span>` : ''}
  ${e.summary && Object.keys(e.summary).length ? html`<div class="mono">${Object.entries(e.summary).map(([k, v]) => `${k}=${String(v)}`).join('  ')}</div>` : ''}
  ${error ? errorDetail(error, undefined, { peerDetailHref: operator && e.deliveryId ? peerErrorsHref(hubId, e.deliveryId, e.attempt) : undefined }) : ''}
</li>`;
}

function viewsSection({ panels: views, unavailable }: CaseViewPanels): Html {
  if (views.length === 0 && unavailable.length === 0) return html``;
  return html`<h2>Views</h2>
<p class="muted">What each system last said about this case. The case the hub answers is merged from them (docs/canonical-model.md): the origin's fields stay, later views add their ids, status and notes.${views[0]?.masked ? ' Personal data is masked for your role.' : ''}</p>
<table id="views"><thead><tr><th>System</th><th>Connection</th><th>Role</th><th>Arrived</th><th>Event</th><th>Type</th><th>Status</th></tr></thead><tbody>
${views.map((v) => html`<tr class="view" data-connection="${v.info.connection}" data-origin="${String(v.info.origin)}"><td>${v.info.system}</td><td>${v.info.connection}</td><td>${v.info.origin ? html`<span class="badge ok">origin</span>` : 'later view'}</td><td>${time(v.info.at)}</td><td class="mono">${v.info.eventId}</td><td>${v.info.type ?? ''}</td><td>${v.info.status ?? ''}</td></tr>`)}
${unavailable.map((connection) => html`<tr class="view-unavailable" data-connection="${connection}"><td></td><td>${connection}</td><td><span class="badge warn">unavailable</span></td><td colspan="4">This view cannot be read: its event's stored case is gone (lost with a Redis failover, or deleted by hand), so the merged case leaves it out. The event, sent again or replayed, stores it again.</td></tr>`)}
</tbody></table>
${views.map((v) => html`<details class="view-content" data-connection="${v.info.connection}"><summary>View from ${v.info.connection}</summary><pre class="payload" data-masked="${String(v.masked)}">${JSON.stringify(v.case, null, 2)}</pre></details>`)}`;
}

export function casePage(t: CaseTimeline, deadLetters: DeadLetterDetail[], ctx: PageContext, views: CaseViewPanels = { panels: [], unavailable: [] }): string {
  const back = `/ops/cases/${encodeURIComponent(t.hubId)}`;
  const operator = ctx.user?.role === 'operator';
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
  ${deadLetters.map((dl) => html`<tr class="dead-letter" data-id="${dl.id}"><td class="mono">${dl.id}</td><td>${dl.target}</td><td>${dl.connection}</td><td>${errorDetail(dl.error, dl.failedReason, { peerDetailHref: operator ? peerErrorsHref(t.hubId, dl.id) : undefined })}</td><td>${deadLetterActions(dl, ctx.user, back)}</td></tr>`)}
  </tbody></table>`
  : ''}
<h2>Timeline</h2>
${operator && t.trace.some((e) => e.error?.hasPeerDetail === true) ? html`<p><a id="peer-errors" href="${peerErrorsHref(t.hubId)}">The peers' own error texts</a> <span class="muted">(may hold personal data; viewing is audited)</span></p>` : ''}
<ol class="timeline" id="timeline">${foldTrace(t.trace).map((line) => traceLine(line, t.hubId, operator))}</ol>`;
  return layout(`Case ${t.hubId}`, { ...ctx, active: 'case' }, body);
}

export function dryRunPage(d: DryRun, ctx: PageContext): string {
  const dl = d.deadLetter;
  const pretty = (v: unknown) => JSON.stringify(v, null, 2);
  const replayForm = (label: string, cls: string) =>
    html`<form method="post" action="/ops/dead-letters/${encodeURIComponent(dl.connection)}/${encodeURIComponent(dl.id)}/replay" ${d.permanent ? html`data-confirm="The last error was permanent: a replay without a change will most likely fail again. Replay anyway?"` : ''}>${csrfField(ctx.user)}<input type="hidden" name="back" value="/ops/cases/${encodeURIComponent(dl.hubId)}"><button class="${cls}" type="submit" data-action="replay">${label}</button></form>`;
  const body = html`<h1>Dry run: replay of <span class="mono">${dl.id}</span></h1>
<p>Case <a class="mono" href="/ops/cases/${encodeURIComponent(dl.hubId)}">${dl.hubId}</a> · route <strong>${dl.route}</strong> · target <strong>${dl.target}</strong> on <strong>${dl.connection}</strong> · failed ${time(dl.failedAt)} after ${dl.attemptsMade} attempt(s)</p>
<section class="card ${d.permanent ? 'permanent' : ''}" id="last-error"><h2>Last error</h2>
${d.permanent ? html`<p class="notice bad" id="permanent-error">The last error was <strong>permanent</strong>: the peer refused this request, and sending it again unchanged will fail again. Fix the data in the source system or the route's mapping first; the diff below shows whether a replay would send anything different.</p>` : ''}
${errorDetail(d.error ?? safeErrorOf(undefined), dl.failedReason, { peerDetailHref: ctx.user?.role === 'operator' ? peerErrorsHref(dl.hubId, dl.id) : undefined })}</section>
<p class="notice">Nothing is sent. This is what the target would receive if the dead letter were replayed now, with the route configuration the hub runs with now.${d.masked ? ' Personal data is masked for your role.' : ''}</p>
${d.problem ? html`<p class="notice bad" id="dry-run-problem">${d.problem}</p>` : ''}
<h2>Failed request → replay</h2>
${d.diffNote ? html`<p class="muted" id="diff-note">${d.diffNote}</p>` : ''}
${d.diff && d.diff.some((l) => l.op !== ' ') ? html`<pre class="diff" id="request-diff">${d.diff.map((l) => html`<span class="${l.op === '+' ? 'add' : l.op === '-' ? 'del' : 'same'}">${l.op} ${l.text}
</span>`)}</pre>` : ''}
${d.target ? html`<h2>Target</h2><p>${d.target.connection}.${d.target.action}</p>${d.target.mapping ? html`<h3>Mapping</h3><pre>${pretty(d.target.mapping)}</pre>` : html`<p class="muted">No mapping overrides.</p>`}${d.target.options && Object.keys(d.target.options).length ? html`<h3>Options</h3><pre>${pretty(d.target.options)}</pre>` : ''}` : ''}
${d.kind === 'preview'
  ? html`<h2>Requests the action would send</h2>${(d.requests ?? []).map((r) => html`<h3 class="mono">${r.operation}</h3><pre class="payload" data-masked="${String(d.masked)}">${pretty(r.body)}</pre>`)}`
  : d.kind === 'case'
    ? html`<h2>Case the action would receive</h2><p class="muted">This adapter's action has no request preview; shown is the canonical case after the target's mapping.</p><pre class="payload" id="dry-run-payload" data-masked="${String(d.masked)}">${pretty(d.case)}</pre>`
    : ''}
${ctx.user?.role === 'operator'
  ? d.permanent
    ? html`<div class="secondary-action" id="replay-anyway">${replayForm('Replay now anyway', '')}</div>`
    : replayForm('Replay now', 'primary')
  : html`<p class="muted">Replaying needs the operator role.</p>`}`;
  return layout('Dry run', { ...ctx, active: 'none' }, body);
}

/** The peers' own words about a case's failed deliveries (operators only; the viewing is audited). */
export function peerErrorsPage(hubId: string, errors: Record<string, unknown>, ctx: PageContext): string {
  const back = `/ops/cases/${encodeURIComponent(hubId)}`;
  const seen = new Set<string>();
  const attempt = ([key, e]: [string, unknown]) => {
    const at = key.lastIndexOf('#');
    const deliveryId = at > 0 ? key.slice(0, at) : key;
    const n = Number(key.slice(at + 1));
    const first = !seen.has(deliveryId);
    seen.add(deliveryId);
    return html`${first ? html`<span id="${peerAnchor(deliveryId)}"></span>` : ''}<section class="peer-error" id="${peerAnchor(deliveryId, Number.isInteger(n) ? n : undefined)}" data-attempt="${key}"><h3 class="mono">${key}</h3><pre class="payload">${JSON.stringify(e, null, 2)}</pre></section>`;
  };
  const body = html`<h1>Peer error texts of case <a class="mono" href="${back}">${hubId}</a></h1>
<p class="notice">What the peers answered when they refused a delivery, as they sent it. It may echo personal data: this viewing is in the audit log.</p>
${Object.keys(errors).length ? Object.entries(errors).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })).map(attempt) : html`<p class="muted">None kept.</p>`}`;
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
