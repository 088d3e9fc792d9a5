/**
 * The adapter's actions: createCase, addNote, updateCustomer, linkExternalId.
 * Each returns { references, summary }; summaries hold ids and counts only, never personal data.
 */
import type { ActionDefinition, AdapterContext, DeliveryRequest, DeliveryResult } from '../../../src/core/adapter';
import { PermanentError, RetryableError } from '../../../src/core/errors';
import type { CrossReference, Note } from '../../../src/core/model/canonical.generated';
import { noteKey } from './canonical';
import type { IcaseworkClient, Params } from './client';
import { clientFor } from './client-cache';
import { CUSTOMER_FIELDS, caseFieldParams, customerParams, documentParams, pickCustomer, toIcaseworkDateTime } from './params';
import type { IcaseworkSettings } from './settings';

type Ctx = AdapterContext<IcaseworkSettings>;

const EXTERNAL_ID_OPTION = {
  type: 'string',
  minLength: 1,
  description:
    "What identifies the case in iCasework's ExternalId: 'hubId' (default), 'source' (the case's source.id), 'none' (do not link), or the system name of one of the case's cross-references.",
};

const NOTE_OPTIONS = {
  noteType: { type: 'string', minLength: 1, description: "addcasenotes Type; default the note's own type, else 'Note'." },
  selfServiceAccess: { type: 'boolean', description: 'SelfServiceAccess when the note does not say (visibleToCustomer); default false.' },
};

/** The iCasework caseid this connection already holds for the case, if the hub knows one. */
export function icaseworkReference(references: CrossReference[] | undefined, connection: string): CrossReference | undefined {
  return (references ?? []).find(
    (r) => r.system === 'icasework' && (r.connection === undefined || r.connection === connection) && (r.kind === undefined || r.kind === 'caseid') && r.id !== '',
  );
}

/** Resolves the externalId option to the value sent as ExternalId (undefined for 'none'). */
export function resolveExternalId(request: DeliveryRequest, choice: string): string | undefined {
  if (choice === 'none') return undefined;
  let value: string | undefined;
  if (choice === 'hubId') value = request.hubId;
  else if (choice === 'source') value = request.case.source.id;
  else value = [...(request.references ?? []), ...(request.case.references ?? [])].find((r) => r.system === choice)?.id;
  if (!value) {
    throw new PermanentError(`icasework: no value for ExternalId (option externalId=${choice})`, {
      route: request.route,
      hubId: request.hubId,
      action: request.action,
      field: 'externalId',
    });
  }
  return value;
}

function ref(ctx: Ctx, caseId: string): CrossReference {
  return { system: 'icasework', connection: ctx.connection.name, id: caseId, kind: 'caseid' };
}

/**
 * Sends notes with addcasenotes, one call per note, skipping notes already sent to this case (remembered in the
 * connection state, so a retried delivery does not add a note twice). Returns how many were added.
 */
export async function sendNotes(
  client: IcaseworkClient<IcaseworkSettings>,
  ctx: Ctx,
  target: { CaseId?: string; ExternalId?: string },
  notes: Note[],
  opts: { noteType?: string; selfServiceAccess?: boolean },
): Promise<number> {
  if (notes.length === 0) return 0;
  const setKey = target.CaseId ? `notes-sent:case:${target.CaseId}` : `notes-sent:ext:${target.ExternalId}`;
  const keys = notes.map((n) => noteKey(n));
  const sent = await ctx.state.areMembers(setKey, keys);
  let added = 0;
  for (let i = 0; i < notes.length; i++) {
    if (sent[i]) continue;
    const note = notes[i];
    const visible = note.visibleToCustomer ?? opts.selfServiceAccess ?? false;
    await client.addCaseNotes({
      Notes: note.text,
      Type: opts.noteType ?? note.type ?? 'Note',
      SelfServiceAccess: visible ? 'true' : 'false',
      ...(target.CaseId ? { CaseId: target.CaseId } : { ExternalId: target.ExternalId }),
    });
    await ctx.state.addToSet(setKey, [keys[i]]);
    added++;
  }
  return added;
}

// ---------------------------------------------------------------- createCase

interface CreateCaseOptions {
  caseType?: string;
  externalId: string;
  requestMethod?: string;
  customerRole?: string;
  customerIdFromParty: boolean;
  notes: boolean;
  noteType?: string;
  selfServiceAccess?: boolean;
  documents: boolean;
  fields: Record<string, string>;
  lookupExisting: boolean;
}

function createCaseOptions(o: Record<string, unknown>): CreateCaseOptions {
  return {
    caseType: o.caseType as string | undefined,
    externalId: (o.externalId as string | undefined) ?? 'hubId',
    requestMethod: o.requestMethod as string | undefined,
    customerRole: o.customerRole as string | undefined,
    customerIdFromParty: (o.customerIdFromParty as boolean | undefined) ?? false,
    notes: (o.notes as boolean | undefined) ?? true,
    noteType: o.noteType as string | undefined,
    selfServiceAccess: o.selfServiceAccess as boolean | undefined,
    documents: (o.documents as boolean | undefined) ?? true,
    fields: (o.fields as Record<string, string> | undefined) ?? { Details: 'summary' },
    lookupExisting: (o.lookupExisting as boolean | undefined) ?? true,
  };
}

/** The createcase parameters for a case (without Key/Signature/Format, which the client adds). */
export function createCaseParams(request: DeliveryRequest, opts: CreateCaseOptions): Params {
  const c = request.case;
  const params: Params = {};
  const type = opts.caseType ?? (c.extensions?.icasework?.Type as string | undefined) ?? c.type;
  params.Type = type;
  if (opts.requestMethod) params.RequestMethod = opts.requestMethod;
  const received = toIcaseworkDateTime(c.receivedAt);
  if (received) params.RequestDate = received;
  Object.assign(params, caseFieldParams(c, opts.fields));
  const party = pickCustomer(c, opts.customerRole);
  if (party) {
    const customer = customerParams(party, { useIdFromParty: opts.customerIdFromParty });
    for (const field of CUSTOMER_FIELDS) if (customer[field] !== undefined) params[`Customer.${field}`] = customer[field];
  }
  if (opts.documents) Object.assign(params, documentParams(c));
  params.Type = type; // a passthrough field may not override the configured Type
  return params;
}

const createCase: ActionDefinition<IcaseworkSettings> = {
  description:
    'Creates the case in iCasework (createcase), records the returned caseid as the case\'s icasework cross-reference, links the hub id with updateexternalid, then adds the case\'s notes (addcasenotes). Idempotent: an existing reference, a case found by ExternalId, or a case created by an earlier attempt is reused. When the hub case already has an iCasework case, the route target option onExisting decides: update (reuse it), note (add the event to it as a note), create-linked (one new case per route, reference kind linked-caseid).',
  optionsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      caseType: { type: 'string', minLength: 1, description: "createcase Type (e.g. EmergencyTravelDocument); default the case's type." },
      externalId: EXTERNAL_ID_OPTION,
      requestMethod: { type: 'string', minLength: 1, description: "RequestMethod (e.g. 'Online form')." },
      customerRole: { type: 'string', minLength: 1, description: 'Party role sent as Customer.*; default first of applicant, creditor, customer, beneficiary.' },
      customerIdFromParty: { type: 'boolean', default: false, description: "Send the party's id as Customer.Id (iCasework then updates that customer)." },
      notes: { type: 'boolean', default: true, description: "Add the case's notes with addcasenotes after creating it." },
      documents: { type: 'boolean', default: true, description: "Send the case's documents with a URL as DocumentN.*." },
      fields: {
        type: 'object',
        additionalProperties: { type: 'string', minLength: 1 },
        description: "createcase parameter -> dotted path in the canonical case (default { Details: 'summary' }).",
      },
      lookupExisting: { type: 'boolean', default: true, description: 'Before creating, look the case up by ExternalId (getcasedetails).' },
      ...NOTE_OPTIONS,
    },
  },
  async deliver(request, ctx): Promise<DeliveryResult> {
    const opts = createCaseOptions(request.options);
    const client = clientFor(ctx);
    const onExisting = request.onExisting ?? 'update';
    // create-linked: this route keeps its own case (remembered per route), linked to the one the hub case has.
    const routeKey = `created:${request.hubId}:route:${request.route}`;
    const own = onExisting === 'create-linked' ? await ctx.state.get(routeKey) : null;
    const existing = icaseworkReference(request.references, ctx.connection.name);
    if (own) {
      // The route's own case: the hub's primary caseid, or a follow-up linked to another case.
      const primary = existing?.id === own;
      return { references: [primary ? ref(ctx, own) : { ...ref(ctx, own), kind: 'linked-caseid' }], summary: { caseid: own, created: false, via: 'route' } };
    }
    if (existing && onExisting === 'update') {
      return { references: [ref(ctx, existing.id)], summary: { caseid: existing.id, created: false, via: 'reference' } };
    }
    if (existing && onExisting === 'note') {
      const notes = request.case.notes?.length ? request.case.notes : request.case.summary ? [{ text: request.case.summary, type: opts.noteType }] : [];
      const notesAdded = await sendNotes(client, ctx, { CaseId: existing.id }, notes, { noteType: opts.noteType, selfServiceAccess: opts.selfServiceAccess });
      return { references: [ref(ctx, existing.id)], summary: { caseid: existing.id, created: false, via: 'note', notesAdded } };
    }
    const linkedTo = existing?.id;
    const externalId = resolveExternalId(request, opts.externalId);
    const stateKey = onExisting === 'create-linked' ? routeKey : `created:${request.hubId}`;
    const release = await ctx.state.lock(stateKey, Math.max(60000, client.settings.timeoutMs * 4));
    if (!release) throw new RetryableError('icasework: another delivery is creating this case', { hubId: request.hubId, connection: ctx.connection.name });
    try {
      let caseId = (await ctx.state.get(stateKey)) ?? undefined;
      let via = caseId ? 'state' : 'createcase';
      let linked = false;
      // A linked case shares the hub case's ExternalId with the case it is linked to: looking it up would find that one.
      if (!caseId && externalId && opts.lookupExisting && !linkedTo) {
        const found = (await client.getCaseDetails({ ExternalId: externalId })).filter(
          (row) => row['CaseDetails.ExternalId'] === undefined || row['CaseDetails.ExternalId'] === externalId,
        );
        const last = found[found.length - 1];
        if (last?.['CaseDetails.CaseId']) {
          caseId = last['CaseDetails.CaseId'];
          via = 'lookup';
          linked = true;
        }
      }
      let documents = 0;
      if (!caseId) {
        const params = createCaseParams(request, opts);
        documents = Object.keys(params).filter((k) => /^Document\d+\.URL$/.test(k)).length;
        caseId = (await client.createCase(params)).caseId;
        // Remember at once: if linking or notes fail, the retry continues with this case instead of creating another.
        await ctx.state.set(stateKey, caseId, 90 * 24 * 3600);
      }
      if (externalId && !linked) {
        await client.updateExternalId({ CaseId: caseId, ExternalId: externalId });
        linked = true;
      }
      const notesAdded = opts.notes
        ? await sendNotes(client, ctx, { CaseId: caseId }, request.case.notes ?? [], { noteType: opts.noteType, selfServiceAccess: opts.selfServiceAccess })
        : 0;
      ctx.log.info({ caseid: caseId, via, notesAdded }, 'icasework case ready');
      return {
        references: [linkedTo ? { ...ref(ctx, caseId), kind: 'linked-caseid' } : ref(ctx, caseId)],
        summary: { caseid: caseId, created: via === 'createcase', via, externalIdLinked: linked, notesAdded, documents, ...(linkedTo ? { linkedTo } : {}) },
      };
    } finally {
      await release();
    }
  },
};

// ---------------------------------------------------------------- addNote

const addNote: ActionDefinition<IcaseworkSettings> = {
  description:
    "Adds the case's notes to the iCasework case with addcasenotes, targeting it by the icasework caseid cross-reference (CaseId) or else by ExternalId. Notes already sent are skipped.",
  optionsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      notes: { enum: ['unsent', 'last'], default: 'unsent', description: "'unsent': every note not sent before; 'last': only the newest note." },
      externalId: { ...EXTERNAL_ID_OPTION, description: 'How to name the case when there is no icasework caseid reference (default hubId).' },
      ...NOTE_OPTIONS,
    },
  },
  async deliver(request, ctx): Promise<DeliveryResult> {
    const client = clientFor(ctx);
    const which = (request.options.notes as string | undefined) ?? 'unsent';
    const existing = icaseworkReference(request.references, ctx.connection.name) ?? icaseworkReference(request.case.references, ctx.connection.name);
    const target = existing ? { CaseId: existing.id } : { ExternalId: resolveExternalId(request, (request.options.externalId as string | undefined) ?? 'hubId') };
    if (!target.CaseId && !target.ExternalId) {
      throw new PermanentError('icasework: no iCasework case to add notes to (no caseid reference, externalId none)', { hubId: request.hubId, route: request.route, field: 'references' });
    }
    let notes = request.case.notes ?? [];
    // Notes this very connection emitted already live in iCasework.
    if (request.case.source.system === 'icasework' && request.case.source.connection === ctx.connection.name) notes = [];
    if (which === 'last') notes = notes.slice(-1);
    const added = await sendNotes(client, ctx, target, notes, {
      noteType: request.options.noteType as string | undefined,
      selfServiceAccess: request.options.selfServiceAccess as boolean | undefined,
    });
    return {
      references: target.CaseId ? [ref(ctx, target.CaseId)] : [],
      summary: { caseid: target.CaseId ?? null, byExternalId: !target.CaseId, notesAdded: added, notesOnCase: notes.length },
    };
  },
};

// ---------------------------------------------------------------- updateCustomer

const updateCustomer: ActionDefinition<IcaseworkSettings> = {
  description: "Creates or updates the case's customer with updatecustomer (Id = the party's icasework Id, else its id).",
  optionsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      customerRole: { type: 'string', minLength: 1, description: 'Party role to send; default first of applicant, creditor, customer, beneficiary.' },
    },
  },
  async deliver(request, ctx): Promise<DeliveryResult> {
    const client = clientFor(ctx);
    const party = pickCustomer(request.case, request.options.customerRole as string | undefined);
    if (!party) {
      throw new PermanentError('icasework: no party with the customer role', { hubId: request.hubId, route: request.route, field: 'parties' });
    }
    const params = customerParams(party, { useIdFromParty: true });
    if (!params.Id) {
      throw new PermanentError('icasework: updatecustomer needs Id (party.id or party.extensions.icasework.Id)', { hubId: request.hubId, route: request.route, field: 'parties.id' });
    }
    await client.updateCustomer(params);
    return { references: [], summary: { customerUpdated: true, fields: Object.keys(params).length } };
  },
};

// ---------------------------------------------------------------- linkExternalId

const linkExternalId: ActionDefinition<IcaseworkSettings> = {
  description: 'Links the iCasework case (icasework caseid cross-reference) to an external id with updateexternalid.',
  optionsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: { externalId: EXTERNAL_ID_OPTION },
  },
  async deliver(request, ctx): Promise<DeliveryResult> {
    const client = clientFor(ctx);
    const existing = icaseworkReference(request.references, ctx.connection.name) ?? icaseworkReference(request.case.references, ctx.connection.name);
    if (!existing) {
      throw new PermanentError('icasework: no icasework caseid reference to link', { hubId: request.hubId, route: request.route, field: 'references' });
    }
    const choice = (request.options.externalId as string | undefined) ?? 'hubId';
    if (choice === 'none') throw new PermanentError('icasework: linkExternalId with externalId none does nothing', { route: request.route, field: 'externalId' });
    const externalId = resolveExternalId(request, choice);
    await client.updateExternalId({ CaseId: existing.id, ExternalId: externalId! });
    return { references: [ref(ctx, existing.id)], summary: { caseid: existing.id, externalIdLinked: true } };
  },
};

export const actions: Record<string, ActionDefinition<IcaseworkSettings>> = { createCase, addNote, updateCustomer, linkExternalId };
