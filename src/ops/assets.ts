/**
 * The console's stylesheet and its one small script, served from /ops/assets/ (same origin, so a strict
 * Content-Security-Policy with no inline code applies). Kept in TypeScript so `tsc` carries them into dist.
 */
export const OPS_CSS = `
:root { --fg: #1d2330; --muted: #5b6475; --line: #d9dee7; --bg: #f6f7f9; --card: #fff; --accent: #1f5fbf;
  --ok: #1b7f3b; --warn: #9a6400; --bad: #c0111f; --bad-bg: #fde8ea; --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
header.top { display: flex; flex-wrap: wrap; align-items: center; gap: 16px; padding: 10px 20px; background: #16202e; color: #fff; }
header.top a { color: #dfe7f5; } header.top a.active { color: #fff; font-weight: 600; }
header.top .brand { font-weight: 700; font-size: 16px; color: #fff; margin-right: 8px; }
header.top nav { display: flex; gap: 14px; }
header.top form.search { flex: 1; display: flex; gap: 6px; min-width: 260px; }
header.top form.search input { flex: 1; padding: 6px 8px; border-radius: 4px; border: 1px solid #3a4a63; background: #0f1722; color: #fff; }
header.top .user { display: flex; align-items: center; gap: 8px; color: #c5cfdf; }
main { padding: 18px 20px 40px; max-width: 1400px; }
h1 { font-size: 20px; margin: 0 0 12px; } h2 { font-size: 16px; margin: 26px 0 8px; } h3 { font-size: 14px; margin: 16px 0 6px; }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; margin-bottom: 16px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; background: var(--card); }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre, .mono { font-family: var(--mono); font-size: 12px; }
pre { background: #f1f3f7; border: 1px solid var(--line); border-radius: 4px; padding: 10px; overflow: auto; max-height: 520px; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 1px 7px; border-radius: 10px; font-size: 12px; font-weight: 600; background: #e8ecf3; color: var(--fg); }
.badge.ok, .stage-delivered { background: #e3f4e8; color: var(--ok); }
.badge.warn, .stage-retrying, .stage-replayed { background: #fff3dc; color: var(--warn); }
.badge.bad, .stage-dead, .stage-failed, .stage-discarded { background: var(--bad-bg); color: var(--bad); }
.badge.open { background: var(--bad-bg); color: var(--bad); } .badge.half-open { background: #fff3dc; color: var(--warn); } .badge.closed { background: #e3f4e8; color: var(--ok); }
.mismatch, td.mismatch, tr.mismatch td { color: var(--bad); font-weight: 600; }
tr.mismatch td { background: var(--bad-bg); }
.notice { padding: 8px 12px; border-radius: 4px; margin-bottom: 12px; background: #e8f0fd; border: 1px solid #c5d7f7; }
.notice.bad { background: var(--bad-bg); border-color: #f3b8bf; color: var(--bad); }
.notice.ok { background: #e3f4e8; border-color: #b7e0c3; color: var(--ok); }
form.inline { display: inline; margin: 0; }
button, .button { font: inherit; padding: 4px 10px; border-radius: 4px; border: 1px solid #b8c2d3; background: #fff; cursor: pointer; color: var(--fg); }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.danger { border-color: #e3a1a8; color: var(--bad); }
.actions { display: flex; gap: 6px; flex-wrap: wrap; }
ol.timeline { list-style: none; margin: 0; padding: 0 0 0 14px; border-left: 2px solid var(--line); }
ol.timeline li { position: relative; padding: 6px 0 10px 12px; }
ol.timeline li::before { content: ""; position: absolute; left: -21px; top: 11px; width: 10px; height: 10px; border-radius: 50%; background: #9aa6b8; }
ol.timeline li.stage-delivered::before { background: var(--ok); } ol.timeline li.stage-dead::before { background: var(--bad); }
ol.timeline li.stage-retrying::before, ol.timeline li.stage-replayed::before { background: var(--warn); }
ol.timeline li { background: none; }
.login { max-width: 360px; margin: 60px auto; }
.login label { display: block; margin: 10px 0 4px; font-weight: 600; }
.login input { width: 100%; padding: 7px 8px; border: 1px solid #b8c2d3; border-radius: 4px; }
.login button { margin-top: 14px; width: 100%; padding: 8px; }
.period a { margin-right: 8px; } .period a.active { font-weight: 700; color: var(--fg); }
.docs .op { border: 1px solid var(--line); border-radius: 6px; background: var(--card); margin: 10px 0; padding: 10px 12px; }
.docs .method { display: inline-block; min-width: 58px; text-align: center; font-weight: 700; font-size: 12px; padding: 2px 6px; border-radius: 4px; background: #e8ecf3; margin-right: 8px; text-transform: uppercase; }
.docs .method.get { background: #e3eefc; color: #1f5fbf; } .docs .method.post { background: #e3f4e8; color: var(--ok); } .docs .method.delete { background: var(--bad-bg); color: var(--bad); }
main { max-width: 1280px; }
.small { font-size: 12px; }
.page-head { display: flex; align-items: baseline; gap: 16px; } .page-head h1 { margin-bottom: 8px; }
.strip { display: flex; flex-wrap: wrap; gap: 8px; margin: 4px 0 14px; }
.strip .cell { display: flex; flex-direction: column; min-width: 130px; padding: 8px 12px; border-radius: 6px; border: 1px solid var(--line); background: var(--card); color: var(--fg); }
.strip .cell:hover { text-decoration: none; border-color: var(--accent); }
.strip .value { font-size: 20px; font-weight: 700; font-variant-numeric: tabular-nums; } .strip .label { font-size: 12px; color: var(--muted); } .strip .detail { font-size: 12px; }
.strip .cell.problem.bad, td.problem.bad { background: var(--bad-bg); border-color: #f3b8bf; color: var(--bad); }
.strip .cell.problem.warn, td.problem.warn { background: #fff3dc; border-color: #f0d49a; color: var(--warn); }
td.problem { font-weight: 700; } td.problem a { color: inherit; }
#routes th, #routes td { padding: 5px 6px; } #routes td { white-space: nowrap; } #routes td:first-child { white-space: normal; min-width: 170px; }
svg.chart { display: block; }
.legend { text-transform: none; font-weight: 400; letter-spacing: 0; white-space: nowrap; } .legend i { display: inline-block; width: 8px; height: 8px; margin: 0 2px 0 6px; }
.legend i.rec { background: #1f5fbf; } .legend i.del { background: #1b7f3b; } .legend i.fail { background: #c0111f; }
form.filters { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; margin-bottom: 12px; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 2px; }
form.filters input, form.filters select { font: inherit; padding: 4px 6px; border: 1px solid #b8c2d3; border-radius: 4px; background: #fff; }
.pager { display: flex; gap: 12px; align-items: center; margin: 10px 0; }
.bulk { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin: 8px 0; }
ul.field-errors { margin: 4px 0 0; padding-left: 18px; } ul.field-errors code { color: var(--bad); }
.permanent { border-left: 4px solid var(--bad); }
pre.diff .add { background: #e3f4e8; color: var(--ok); display: block; } pre.diff .del { background: var(--bad-bg); color: var(--bad); display: block; }
.secondary-action { margin-top: 18px; font-size: 12px; } .secondary-action button { font-size: 12px; }
`;

export const OPS_JS = `
'use strict';
// Asks before destructive actions: forms carry data-confirm="question".
document.addEventListener('submit', function (event) {
  var form = event.target;
  var question = form && form.getAttribute && form.getAttribute('data-confirm');
  if (question && !window.confirm(question)) event.preventDefault();
});
// Shows times as the reader's local time, with the exact UTC time on hover.
document.querySelectorAll('time[datetime]').forEach(function (el) {
  var date = new Date(el.getAttribute('datetime'));
  if (isNaN(date.getTime())) return;
  el.title = el.getAttribute('datetime');
  el.textContent = date.toLocaleString();
});
// Auto-refresh (an element with data-refresh="seconds"): reloads the page, but never while the operator types
// or has focus in a form field; the countdown starts again once they stop.
(function () {
  var el = document.querySelector('[data-refresh]');
  if (!el) return;
  var every = Number(el.getAttribute('data-refresh')) || 30;
  var left = every;
  var typing = function () {
    var a = document.activeElement;
    return !!a && /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName);
  };
  document.addEventListener('input', function () { left = every; });
  setInterval(function () {
    if (typing()) {
      left = every;
      el.textContent = 'Auto-refresh paused while you type';
      el.setAttribute('data-state', 'paused');
      return;
    }
    left -= 1;
    el.setAttribute('data-state', 'running');
    el.textContent = 'Auto-refresh in ' + Math.max(left, 0) + ' s';
    if (left <= 0) window.location.reload();
  }, 1000);
})();
`;
