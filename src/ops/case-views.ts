/** The per-system views of a case for the ops case page: who said what and when; content masked for viewers. */
import type { Hub } from '../core/hub';
import type { CanonicalCase } from '../core/model/canonical.generated';
import { viewSummary } from '../core/store/merge';
import type { ViewInfo } from '../core/store/view-store';
import { maskCase } from './masking';

export interface CaseViewPanel {
  info: ViewInfo;
  case: CanonicalCase;
  masked: boolean;
}

/** The case page's views: each readable one, and the connections whose view cannot be read (its payload is gone). */
export interface CaseViewPanels {
  panels: CaseViewPanel[];
  unavailable: string[];
}

export async function caseViewPanels(hub: Hub, hubId: string, origin: string | undefined, mask: boolean): Promise<CaseViewPanels> {
  const { views, unavailable } = await hub.runtime.views.readWithGaps(hubId);
  const infos = viewSummary(views, origin);
  const panels = infos.map((info) => {
    const view = views.find((v) => v.connection === info.connection)!;
    return { info, case: mask ? maskCase(view.case) : view.case, masked: mask };
  });
  return { panels, unavailable };
}
