/**
 * What the sandbox iCasework holds: cases, their notes and documents, customers; and how a case is exported as the
 * flat dotted record of getcasedetails / reports (CaseDetails.*, CaseStatus*.*, CaseStage*.*, MainParty.*, CaseNoteN.*).
 */
export interface SandboxNote {
  id: string;
  text: string;
  type: string;
  createdBy: string;
  dateCreated: string;
  selfServiceAccess: boolean;
}

export interface SandboxDocument {
  /** D-prefixed document id (recorded: D225851). */
  id: string;
  name: string;
  mimeType?: string;
  /** The URL the document was given with (createcase / uploaddocuments DocumentN.URL). */
  url?: string;
  urlPublic?: string;
  urlLoadContent?: string;
  /** What the sandbox got when it pulled `url` (absent: not fetched). Never the content. */
  fetched?: { outcome: 'loaded' | 'failed'; status?: number; bytes?: number; contentType?: string; error?: string };
  category?: string;
  source?: string;
  documentDate?: string;
}

export interface SandboxCase {
  caseId: string;
  externalId: string;
  type: string;
  label: string;
  status: string;
  stage: string;
  team: string;
  requestMethod: string;
  dateReceived: string;
  timeCreated: string;
  lastUpdated: string;
  dateClosed: string;
  customerRef?: string;
  /** Type-specific createcase fields (parameter -> value). */
  fields: Record<string, string>;
  documents: SandboxDocument[];
  notes: SandboxNote[];
}

export interface SandboxCustomer {
  ref: string;
  /** Seed parameter names without the Customer. prefix (Title, FirstName, Surname, ...). */
  fields: Record<string, string>;
}

/** Zone-less date-time as iCasework writes it (2021-03-08T16:17:29). */
export function localDateTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

export function abbreviation(type: string): string {
  const capitals = type.match(/[A-Z]/g);
  if (capitals && capitals.length > 1) return capitals.join('');
  return type
    .split(/\s+/)
    .map((w) => w[0]?.toUpperCase() ?? '')
    .join('');
}

function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** The case as one flat record, in the element order of the recorded getcasedetails reply. */
export function flattenCase(c: SandboxCase, customer: SandboxCustomer | undefined): Array<[string, string]> {
  const typeGroup = `CaseDetails${c.type.replace(/[^A-Za-z0-9]/g, '')}`;
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(c.fields)) out.push([`${typeGroup}.${k}`, v]);
  out.push(
    ['CaseDetails.CaseId', c.caseId],
    ['CaseDetails.ExternalId', c.externalId],
    ['CaseDetails.ParentCaseId', ''],
    ['CaseDetails.CaseType', c.type],
    ['CaseDetails.FormType', c.type],
    ['CaseDetails.CaseLabel', c.label],
    ['CaseDetails.Rating', 'Medium'],
    ['CaseDetails.Confidential', 'No'],
    ['CaseDetails.AssignedTo', ''],
    ['CaseDetails.AssignedToId', ''],
    ['CaseDetails.Team', c.team],
    ['CaseDetails.TeamCode', c.team],
    ['CaseDetails.Directorate', ''],
    ['CaseStatus.Status', c.status],
    ['CaseStatus.CurrentStage', c.stage],
    ['CaseStatus.CurrentOutcome', ''],
    ['CaseStatus.CurrentOutcomeDate', ''],
    ['CaseStatusReceipt.Method', c.requestMethod],
    ['CaseStatusReceipt.CreatedBy', 'Web Service'],
    ['CaseStatusReceipt.DateReceived', c.dateReceived],
    ['CaseStatusReceipt.TimeCreated', c.timeCreated],
    ['CaseStatusTouchTimes.LastUpdatedTime', c.lastUpdated],
    ['CaseStatusClosure.DateClosed', c.dateClosed],
    ['CaseStageStage1.TargetDays', '20'],
    ['CaseStageStage1.DateDue', addDays(c.dateReceived, 28)],
    ['CaseStageStage1.Outcome', ''],
  );
  const f = customer?.fields ?? {};
  const full = [f.Surname, f.FirstName].filter((x) => x).join(', ');
  out.push(
    ['MainParty.Reference', customer?.ref ?? ''],
    ['MainParty.Title', f.Title ?? ''],
    ['MainParty.FullName', full],
    ['MainParty.FirstName', f.FirstName ?? ''],
    ['MainParty.LastName', f.Surname ?? ''],
    ['MainParty.Address', f.Address ?? ''],
    ['MainParty.Town', f.Town ?? f.City ?? ''],
    ['MainParty.County', f.County ?? f.State ?? ''],
    ['MainParty.Postcode', f.Postcode ?? f.ZIPCode ?? ''],
    ['MainParty.Country', f.Country ?? ''],
    ['MainParty.EmailAddress', f.Email ?? ''],
    ['MainParty.Category', f.Category ?? ''],
    ['MainParty.ContactMethod', f.ContactMethod ?? ''],
    ['MainParty.ContactTime', f.ContactTime ?? ''],
    ['MainParty.DateOfBirth', f.DateOfBirth ?? ''],
    ['MainParty.Mobile', f.Mobile ?? ''],
    ['MainParty.Organisation', f.Organisation ?? ''],
    ['MainParty.Phone', f.Phone ?? ''],
    ['MainParty.ContactLanguage', f.ContactLanguage ?? ''],
    ['MainParty.Notes', ''],
  );
  c.notes.forEach((n, i) => {
    const p = `CaseNote${i + 1}`;
    out.push(
      [`${p}.Id`, n.id],
      [`${p}.Type`, n.type],
      [`${p}.Text`, n.text],
      [`${p}.CreatedBy`, n.createdBy],
      [`${p}.DateCreated`, n.dateCreated],
      [`${p}.SelfServiceAccess`, n.selfServiceAccess ? 'true' : 'false'],
    );
  });
  return out;
}
