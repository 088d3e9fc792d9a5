/** How a delivery failure is shown on the console's pages (dead letters, dry run, case): one implementation for all. */
import type { DeadLetterError } from './dead-letter-query';
import { html, type Html } from './html';

export interface ErrorDetailOptions {
  /**
   * Where an operator reads the peer's own words about this failure (the audited peer-errors page). Without it (a
   * viewer, or a page that does not link there) the page only says that they were kept for operators.
   */
  peerDetailHref?: string;
}

/**
 * Status, codes, the hub's message and the field paths of a failure: what is safe for every role. The peer's own
 * words (its messages per field, an error-info text) may echo personal data: the adapters never put them in the safe
 * view, so they are not here; operators follow `peerDetailHref` to read them, and that viewing is audited.
 */
export function errorDetail(e: DeadLetterError, fallback?: string, opts: ErrorDetailOptions = {}): Html {
  return html`<div class="error-detail">
  ${e.code ? html`<code class="error-code">${e.code}</code>` : ''}${e.status ? html` <span class="badge bad error-status">HTTP ${e.status}</span>` : ''}${e.peerCode ? html` <span class="muted">peer code ${e.peerCode}</span>` : ''}${e.retryable === false ? html` <span class="badge bad">permanent</span>` : ''}
  <div class="error-message">${e.message ?? fallback ?? ''}</div>
  ${e.fields.length ? html`<ul class="field-errors">${e.fields.map((f) => html`<li><code class="field-path">${f}</code></li>`)}</ul>` : ''}
  ${e.fieldCodes.length ? html`<div class="muted small field-codes">field codes: ${e.fieldCodes.join(', ')}</div>` : ''}
  ${e.hasPeerDetail
    ? opts.peerDetailHref
      ? html`<div class="peer-detail"><a class="peer-detail-link" href="${opts.peerDetailHref}">The peer's own words</a> <span class="muted small">(may hold personal data; viewing is audited)</span></div>`
      : html`<div class="peer-detail muted small">The peer's own words are kept encrypted; operators can read them.</div>`
    : ''}
</div>`;
}
