/** How a delivery failure is shown on the console's pages (dead letters, dry run, case). */
import type { DeadLetterError } from './dead-letter-query';
import { html, type Html } from './html';

/** Status, codes, field paths and messages of a failure (never values: the adapters record none). */
export function errorDetail(e: DeadLetterError, fallback?: string): Html {
  return html`<div class="error-detail">
  ${e.code ? html`<code class="error-code">${e.code}</code>` : ''}${e.status ? html` <span class="badge bad error-status">HTTP ${e.status}</span>` : ''}${e.peerCode ? html` <span class="muted">peer code ${e.peerCode}</span>` : ''}${e.retryable === false ? html` <span class="badge bad">permanent</span>` : ''}
  <div class="error-message">${e.message ?? fallback ?? ''}</div>
  ${e.fieldErrors.length
    ? html`<ul class="field-errors">${e.fieldErrors.map((f) => {
        const { field, path, message, ...rest } = f;
        const where = field ?? path ?? Object.keys(rest)[0];
        const what = message ?? (where ? rest[where] : undefined) ?? Object.values(rest).join(' ');
        return html`<li><code>${where ?? '?'}</code> ${what}</li>`;
      })}</ul>`
    : ''}
</div>`;
}

