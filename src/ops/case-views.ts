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

export async function caseViewPanels(hub: Hub, hubId: string, origin: string | undefined, mask: boolean): Promise<CaseViewPanel[]> {
  const views = await hub.runtime.views.read(hubId);
  const infos = viewSummary(views, origin);
  return infos.map((info) => {
    const view = views.find((v) => v.connection === info.connection)!;
    return { info, case: mask ? maskCase(view.case) : view.case, masked: mask };
  });
}
