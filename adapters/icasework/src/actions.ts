/**
 * The adapter's actions: createCase, addNote, updateCustomer, linkExternalId, uploadDocuments, updateCase.
 * Each returns { references, summary }; summaries hold ids and counts only, never personal data.
 */
import type { ActionDefinition, AdapterContext, DeliveryRequest, DeliveryResult, ConstOptionsSchema, OptionsOf } from 'caseway/core';
import { CasewayError, PermanentError, RetryableError, schemaDefaults } from 'caseway/core';
import type { CrossReference, Note } from 'caseway/core';
import { DEFAULT_NOTE_PREFIX, noteKey, noteMarker, notesFromFlat } from './canonical';
import type { IcaseworkClient, Params } from './client';
import { clientFor } from './client-cache';
import { createHash } from 'node:crypto';
import type { Document } from 'caseway/core';
import { CUSTOMER_FIELDS, caseFieldParams, customerParams, documentParams, documentsAsParams, pickCustomer, toIcaseworkDateTime } from './params';
import { ruleViolations } from './rules';
import type { IcaseworkSettings } from './settings';

type Ctx = AdapterContext<IcaseworkSettings>;

const EXTERNAL_ID_OPTION = {
  type: 'string',
  minLength: 1,
  default: 'hubId',
  description:
    "What identifies the case in iCasework's ExternalId: 'hubId' (default), 'source' (the case's source.id), 'none' (do not link), or the system name of one of the case's cross-references.",
} as const;

const NOTE_OPTIONS = {
  noteType: { type: 'string', minLength: 1, description: "addcasenotes Type; default the note's own type, else 'Note'." },
  selfServiceAccess: { type: 'boolean', description: 'SelfServiceAccess when the note does not say (visibleToCustomer); default false.' },
  noteMarker: {
    enum: ['text', 'type', 'none'],
    default: 'text',
    description: "Where each note carries its marker [caseway:<digest of the note>] so a retry can recognise it: appended to the note text, to its Type, or nowhere (then a lost addcasenotes reply can double a note).",
  },
  noteReadBack: {
    type: 'boolean',
    default: true,
    description: 'When an earlier attempt may have added notes (a retry, or a case that already existed), read the case with getcasedetails first and skip notes whose marker is there.',
  },
  notePrefix: { type: 'string', minLength: 1, default: DEFAULT_NOTE_PREFIX, description: 'Flat field prefix of case notes in getcasedetails (CaseNoteN.Text / .Type).' },
} as const;

/** The note options every action that adds notes takes (NOTE_OPTIONS), as typed from their schema. */
type NoteOptionValues = OptionsOf<{ type: 'object'; properties: typeof NOTE_OPTIONS }>;

// Option defaults are read from the options' schemas (what the console and the docs show), never restated.
const noteDefault = schemaDefaults<NoteOptionValues>({ type: 'object', properties: NOTE_OPTIONS }, 'icasework note options');
const DEFAULT_EXTERNAL_ID = EXTERNAL_ID_OPTION.default;

function noteSendOptions(o: NoteOptionValues): NoteSendOptions {
  return {
    noteType: o.noteType,
    selfServiceAccess: o.selfServiceAccess,
    marker: o.noteMarker ?? noteDefault('noteMarker'),
    readBack: o.noteReadBack ?? noteDefault('noteReadBack'),
    notePrefix: o.notePrefix,
  };
}

/** False only when the hub's own records prove no earlier attempt of this delivery ever called the peer. */
export function mayHaveActedBefore(request: DeliveryRequest): boolean {
  return request.earlierAttempts === undefined || request.earlierAttempts > 0 || request.earlierUncertain === true;
}

/** Value of created:<hubId> while a createcase is under way (followed by the delivery id). */
const PENDING = 'pending:';

/** The iCasework caseid this connection already holds for the case, if the hub knows one. */
export function icaseworkReference(references: CrossReference[] | undefined, connection: string): CrossReference | undefined {
  return (references ?? []).find(
    (r) => r.system === 'icasework' && (r.connection === undefined || r.connection === connection) && (r.kind === undefined || r.kind === 'caseid') && r.id !== '',
  );
}

/** The iCasework case this connection holds for the delivered case: a caseid reference the hub or the case knows. */
function knownCase(request: DeliveryRequest, ctx: Ctx): CrossReference | undefined {
  return icaseworkReference(request.references, ctx.connection.name) ?? icaseworkReference(request.case.references, ctx.connection.name);
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

/**
 * Refuses, before anything is sent, parameters that break a documented rule (ContactLanguage ISO 639-1,
 * DocumentN.URL at most 500 characters): a permanent error naming the parameters, never their values.
 */
export function assertSendable(params: Params, request: DeliveryRequest, ctx: Ctx): void {
  const broken = ruleViolations(params);
  if (broken.length === 0) return;
  throw new PermanentError(`icasework: ${broken.map((b) => `${b.field} ${b.rule}`).join('; ')}`, {
    route: request.route,
    hubId: request.hubId,
    action: request.action,
    connection: ctx.connection.name,
    peer: 'icasework',
    field: broken[0].field,
    peerFields: broken.map((b) => ({ path: b.field, code: b.code })),
  });
}

/** Identifies a document in the connection state: a digest of its id, URL and name (never the URL itself). */
export function documentKey(doc: Document): string {
  return createHash('sha256').update(`${doc.id ?? ''}|${doc.url ?? ''}|${doc.name}`).digest('hex').slice(0, 32);
}

function ref(ctx: Ctx, caseId: string): CrossReference {
  return { system: 'icasework', connection: ctx.connection.name, id: caseId, kind: 'caseid' };
}

/** Where a note carries its marker: appended to the note text (default), appended to its Type, or not at all. */
export type NoteMarkerMode = 'text' | 'type' | 'none';

export interface NoteSendOptions {
  noteType?: string;
  selfServiceAccess?: boolean;
  /** Where the marker goes (default 'text'). */
  marker?: NoteMarkerMode;
  /**
   * Before adding notes, read the case back (getcasedetails) and skip notes whose marker is already there. Set
   * when an earlier attempt may have added them with its reply lost; iCasework documents no note fields in
   * getcasedetails, so where the reply has none nothing is skipped.
   */
  readBack?: boolean;
  /** Flat field prefix of case notes in getcasedetails (default CaseNote: CaseNoteN.Text / .Type). */
  notePrefix?: string;
  /**
   * The case was created by this very attempt (its caseid came back from this createcase): no note can have been
   * sent to it before, so the notes-sent record is not read (one Redis round trip fewer per created case).
   */
  createdNow?: boolean;
}

/** Markers of the notes the case already holds, as far as getcasedetails shows them. */
async function markersOnCase(client: IcaseworkClient<IcaseworkSettings>, target: { CaseId?: string; ExternalId?: string }, prefix: string): Promise<string> {
  const rows = await client.getCaseDetails(target.CaseId ? { CaseId: target.CaseId } : { ExternalId: target.ExternalId ?? '' });
  return rows
    .flatMap((row) => notesFromFlat(row, prefix, { keepMarkers: true }))
    .map((n) => `${n.type ?? ''}\n${n.text}`)
    .join('\n');
}

/**
 * Sends notes with addcasenotes, one call per note, skipping notes already sent to this case (remembered in the
 * connection state after each success) and, with readBack, notes whose marker the case already shows (an
 * addcasenotes whose reply was lost). Returns how many were added and whether the case was read back.
 */
export async function sendNotes(
  client: IcaseworkClient<IcaseworkSettings>,
  ctx: Ctx,
  target: { CaseId?: string; ExternalId?: string },
  notes: Note[],
  opts: NoteSendOptions,
): Promise<{ added: number; readBack: boolean; foundOnCase: number }> {
  if (notes.length === 0) return { added: 0, readBack: false, foundOnCase: 0 };
  const setKey = target.CaseId ? `notes-sent:case:${target.CaseId}` : `notes-sent:ext:${target.ExternalId}`;
  const keys = notes.map((n) => noteKey(n));
  const sent = opts.createdNow ? keys.map(() => false) : await ctx.state.areMembers(setKey, keys);
  const mode = opts.marker ?? noteDefault('noteMarker');
  const pending = notes.filter((_, i) => !sent[i]);
  const readBack = pending.length > 0 && mode !== 'none' && opts.readBack === true;
  const onCase = readBack ? await markersOnCase(client, target, opts.notePrefix ?? DEFAULT_NOTE_PREFIX) : '';
  let added = 0;
  let foundOnCase = 0;
  for (let i = 0; i < notes.length; i++) {
    if (sent[i]) continue;
    const note = notes[i];
    const marker = noteMarker(note);
    if (readBack && onCase.includes(marker)) {
      await ctx.state.addToSet(setKey, [keys[i]]);
      foundOnCase++;
      continue;
    }
    const visible = note.visibleToCustomer ?? opts.selfServiceAccess ?? false;
    const type = opts.noteType ?? note.type ?? 'Note';
    await client.addCaseNotes({
      Notes: mode === 'text' ? `${note.text}\n[${marker}]` : note.text,
      Type: mode === 'type' ? `${type} [${marker}]` : type,
      SelfServiceAccess: visible ? 'true' : 'false',
      ...(target.CaseId ? { CaseId: target.CaseId } : { ExternalId: target.ExternalId }),
    });
    await ctx.state.addToSet(setKey, [keys[i]]);
    added++;
  }
  return { added, readBack, foundOnCase };
}

// ---------------------------------------------------------------- createCase

interface CreateCaseOptions {
  caseType?: string;
  externalId: string;
  externalIdOnCreate: boolean;
  requestMethod?: string;
  customerRole?: string;
  customerIdFromParty: boolean;
  customerIdFromExtension: boolean;
  notes: boolean;
  noteOptions: NoteSendOptions;
  documents: boolean;
  fields: Record<string, string>;
  lookupExisting: boolean;
  requestDate: NonNullable<OptionsOf<typeof createCaseOptionsSchema>['requestDate']>;
}

function createCaseOptions(o: OptionsOf<typeof createCaseOptionsSchema>): CreateCaseOptions {
  return {
    caseType: o.caseType,
    externalId: o.externalId ?? DEFAULT_EXTERNAL_ID,
    externalIdOnCreate: o.externalIdOnCreate ?? createCaseDefault('externalIdOnCreate'),
    requestMethod: o.requestMethod,
    customerRole: o.customerRole,
    customerIdFromParty: o.customerIdFromParty ?? createCaseDefault('customerIdFromParty'),
    customerIdFromExtension: o.customerIdFromExtension ?? createCaseDefault('customerIdFromExtension'),
    notes: o.notes ?? createCaseDefault('notes'),
    noteOptions: noteSendOptions(o),
    documents: o.documents ?? createCaseDefault('documents'),
    fields: o.fields ?? createCaseDefault('fields'),
    lookupExisting: o.lookupExisting ?? createCaseDefault('lookupExisting'),
    requestDate: o.requestDate ?? createCaseDefault('requestDate'),
  };
}

/**
 * The createcase parameters for a case (without Key/Signature/Format, which the client adds). With an externalId
 * the create carries it (createcase documents an ExternalId parameter), so a look-up by ExternalId finds the case
 * even when the create's reply was lost.
 */
export function createCaseParams(request: DeliveryRequest, opts: CreateCaseOptions, externalId?: string): Params {
  return buildCreateCaseParams(request, opts, externalId);
}

/** createcase parameters with the action's defaults for any option not given (for previews and round-trip tests). */
export function createCaseParamsFor(request: DeliveryRequest, options: OptionsOf<typeof createCaseOptionsSchema> = {}, externalId?: string): Params {
  return buildCreateCaseParams(request, createCaseOptions(options), externalId);
}

function buildCreateCaseParams(request: DeliveryRequest, opts: CreateCaseOptions, externalId?: string): Params {
  const c = request.case;
  const params: Params = {};
  const type = opts.caseType ?? (c.extensions?.icasework?.Type as string | undefined) ?? c.type;
  params.Type = type;
  if (opts.requestMethod) params.RequestMethod = opts.requestMethod;
  Object.assign(params, caseFieldParams(c, opts.fields));
  const party = pickCustomer(c, opts.customerRole);
  if (party) {
    const customer = customerParams(party, { useIdFromParty: opts.customerIdFromParty });
    // Customer.Id updates that iCasework customer: sent for the party's own id only when asked, and for an
    // iCasework customer reference (party.extensions.icasework.Id, e.g. a case polled from iCasework) unless refused.
    if (!opts.customerIdFromParty && !opts.customerIdFromExtension) delete customer.Id;
    for (const field of CUSTOMER_FIELDS) if (customer[field] !== undefined) params[`Customer.${field}`] = customer[field];
  }
  if (opts.documents) Object.assign(params, documentParams(c));
  params.Type = type; // a passthrough field may not override the configured Type
  if (externalId !== undefined) params.ExternalId = externalId; // nor the ExternalId the retry looks the case up by
  // RequestDate follows the requestDate option only (the client signs its date; 'now' is added by the client itself).
  delete params.RequestDate;
  const received = opts.requestDate === 'received' ? toIcaseworkDateTime(c.receivedAt) : undefined;
  if (received) params.RequestDate = received;
  return params;
}

const createCaseOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    caseType: { type: 'string', minLength: 1, description: "createcase Type (e.g. EmergencyTravelDocument); default the case's type." },
    externalId: EXTERNAL_ID_OPTION,
    externalIdOnCreate: {
      type: 'boolean',
      default: true,
      description: 'Send ExternalId with createcase itself (one call, and a lost reply can be found by ExternalId). false: create, then link with updateexternalid (the old two-call way).',
    },
    requestMethod: { type: 'string', minLength: 1, description: "RequestMethod (e.g. 'Online form')." },
    customerRole: { type: 'string', minLength: 1, description: 'Party role sent as Customer.*; default first of applicant, creditor, customer, beneficiary.' },
    customerIdFromParty: { type: 'boolean', default: false, description: "Send the party's id as Customer.Id (iCasework then updates that customer)." },
    customerIdFromExtension: {
      type: 'boolean',
      default: true,
      description: "Send the party's iCasework customer reference (party.extensions.icasework.Id, set on cases polled from iCasework) as Customer.Id. Set false when the case comes from another iCasework account.",
    },
    notes: { type: 'boolean', default: true, description: "Add the case's notes with addcasenotes after creating it (no call when the case has none)." },
    documents: { type: 'boolean', default: true, description: "Send the case's documents with a URL as DocumentN.*." },
    fields: {
      type: 'object',
      additionalProperties: { type: 'string', minLength: 1 },
      default: { Details: 'summary' },
      description: 'createcase parameter -> dotted path in the canonical case.',
    },
    lookupExisting: {
      type: 'boolean',
      default: true,
      description: "Before creating, look the case up by ExternalId (getcasedetails) whenever an earlier attempt may have called createcase. Skipped when the hub's records prove none did.",
    },
    requestDate: {
      enum: ['now', 'received', 'omit'],
      default: 'now',
      description:
        "createcase RequestDate. now: the time of the call, the same instant whose UTC date is signed (right whether iCasework signs RequestDate's date or the day of the call). received: the case's receivedAt, and its date is signed (only for a peer known to sign RequestDate's date: one that signs the day of the call refuses a case received on another day). omit: not sent (as the Home Office clients do).",
    },
    ...NOTE_OPTIONS,
  },
} as const satisfies ConstOptionsSchema;
const createCaseDefault = schemaDefaults<OptionsOf<typeof createCaseOptionsSchema>>(createCaseOptionsSchema, 'icasework createCase options');

const createCase: ActionDefinition<IcaseworkSettings, typeof createCaseOptionsSchema> = {
  description:
    "Creates the case in iCasework (createcase, carrying the hub's ExternalId), records the returned caseid as the case's icasework cross-reference, then adds the case's notes (addcasenotes, each with a marker). Idempotent: an existing reference, a case created by an earlier attempt, or (when an earlier attempt may have reached iCasework) a case found by ExternalId is reused. When the hub case already has an iCasework case, the route target option onExisting decides: update (reuse it), note (add the event to it as a note), create-linked (one new case per route, reference kind linked-caseid).",
  optionsSchema: createCaseOptionsSchema,
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
      const notes = request.case.notes?.length ? request.case.notes : request.case.summary ? [{ text: request.case.summary, type: opts.noteOptions.noteType }] : [];
      const sent = await sendNotes(client, ctx, { CaseId: existing.id }, notes, { ...opts.noteOptions, readBack: opts.noteOptions.readBack === true && mayHaveActedBefore(request) });
      return { references: [ref(ctx, existing.id)], summary: { caseid: existing.id, created: false, via: 'note', notesAdded: sent.added } };
    }
    const linkedTo = existing?.id;
    const externalId = resolveExternalId(request, opts.externalId);
    // Documented value rules are checked before any call (a look-up included): a bad value fails at once, permanently.
    assertSendable(createCaseParams(request, opts, opts.externalIdOnCreate ? externalId : undefined), request, ctx);
    const stateKey = onExisting === 'create-linked' ? routeKey : `created:${request.hubId}`;
    // The record is read in the same round trip as the lock is taken: the state's commands run in the order they are
    // issued, so the read sees the record as it is once the lock is held (and is ignored when the lock is not).
    const [locked, read] = await Promise.allSettled([ctx.state.lock(stateKey, Math.max(60000, client.settings.timeoutMs * 4)), ctx.state.get(stateKey)]);
    if (read.status === 'rejected') {
      // The lock taken, the record not read (Redis went away between the two replies): give the lock back, or the
      // case's next attempts would wait out its TTL.
      if (locked.status === 'fulfilled') await locked.value?.().catch(() => undefined);
      throw read.reason;
    }
    if (locked.status === 'rejected') throw locked.reason;
    const [release, held] = [locked.value, read.value];
    if (!release) throw new RetryableError('icasework: another delivery is creating this case', { hubId: request.hubId, connection: ctx.connection.name });
    try {
      // created:<hubId> holds the caseid once a createcase answered, or PENDING while one is under way: a PENDING
      // left behind means a createcase may have reached iCasework without us seeing its reply.
      const recorded = held ?? undefined;
      let caseId = recorded === undefined || recorded.startsWith(PENDING) ? undefined : recorded;
      let via = caseId ? 'state' : 'createcase';
      let linked = caseId !== undefined && opts.externalIdOnCreate;
      const mayExist = recorded !== undefined || mayHaveActedBefore(request);
      let lookedUp = false;
      // A linked case shares the hub case's ExternalId with the case it is linked to: looking it up would find that one.
      if (!caseId && externalId && opts.lookupExisting && mayExist && !linkedTo) {
        lookedUp = true;
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
        const onCreate = opts.externalIdOnCreate ? externalId : undefined;
        const params = createCaseParams(request, opts, onCreate);
        documents = Object.keys(params).filter((k) => /^Document\d+\.URL$/.test(k)).length;
        await ctx.state.set(stateKey, `${PENDING}${request.deliveryId}`, 90 * 24 * 3600);
        try {
          caseId = (await client.createCase(params, { requestDateNow: opts.requestDate === 'now' })).caseId;
        } catch (err) {
          // Refused or never sent: no case can exist, so the retry need not look one up.
          if (!(err instanceof CasewayError && err.context.outcome === 'uncertain')) await ctx.state.del(stateKey);
          throw err;
        }
        // Remember at once: if linking or notes fail, the retry continues with this case instead of creating another.
        await ctx.state.set(stateKey, caseId, 90 * 24 * 3600);
        linked = onCreate !== undefined;
      }
      // The documents went with the create (this one, or the earlier one whose case was found): uploadDocuments must
      // not send them again.
      const sentDocs = opts.documents ? (request.case.documents ?? []).filter((d) => d.url).map(documentKey) : [];
      if (sentDocs.length) await ctx.state.addToSet(`docs-sent:case:${caseId}`, sentDocs);
      if (externalId && !linked) {
        await client.updateExternalId({ CaseId: caseId, ExternalId: externalId });
        linked = true;
      }
      const notes = opts.notes ? (request.case.notes ?? []) : [];
      // Notes can only be on the case already if it existed before this attempt.
      const sent = await sendNotes(client, ctx, { CaseId: caseId }, notes, {
        ...opts.noteOptions,
        readBack: opts.noteOptions.readBack === true && via !== 'createcase',
        createdNow: via === 'createcase',
      });
      ctx.log.info({ caseid: caseId, via, notesAdded: sent.added }, 'icasework case ready');
      return {
        references: [linkedTo ? { ...ref(ctx, caseId), kind: 'linked-caseid' } : ref(ctx, caseId)],
        summary: {
          caseid: caseId,
          created: via === 'createcase',
          via,
          lookedUp,
          externalIdLinked: linked,
          notesAdded: sent.added,
          ...(sent.readBack ? { notesReadBack: true, notesFoundOnCase: sent.foundOnCase } : {}),
          documents,
          ...(linkedTo ? { linkedTo } : {}),
        },
      };
    } finally {
      await release();
    }
  },
};

// ---------------------------------------------------------------- addNote

const addNoteOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    notes: { enum: ['unsent', 'last'], default: 'unsent', description: "'unsent': every note not sent before; 'last': only the newest note." },
    externalId: { ...EXTERNAL_ID_OPTION, description: 'How to name the case when there is no icasework caseid reference (default hubId).' },
    ...NOTE_OPTIONS,
  },
} as const satisfies ConstOptionsSchema;
const addNoteDefault = schemaDefaults<OptionsOf<typeof addNoteOptionsSchema>>(addNoteOptionsSchema, 'icasework addNote options');

const addNote: ActionDefinition<IcaseworkSettings, typeof addNoteOptionsSchema> = {
  description:
    "Adds the case's notes to the iCasework case with addcasenotes, targeting it by the icasework caseid cross-reference (CaseId) or else by ExternalId. Notes already sent are skipped.",
  optionsSchema: addNoteOptionsSchema,
  async deliver(request, ctx): Promise<DeliveryResult> {
    const client = clientFor(ctx);
    const which = request.options.notes ?? addNoteDefault('notes');
    const target = targetCase(request, ctx);
    if (!target.CaseId && !target.ExternalId) {
      throw new PermanentError('icasework: no iCasework case to add notes to (no caseid reference, externalId none)', { hubId: request.hubId, route: request.route, field: 'references' });
    }
    let notes = request.case.notes ?? [];
    // Notes this very connection emitted already live in iCasework.
    if (request.case.source.system === 'icasework' && request.case.source.connection === ctx.connection.name) notes = [];
    if (which === 'last') notes = notes.slice(-1);
    const noteOptions = noteSendOptions(request.options);
    const sent = await sendNotes(client, ctx, target, notes, { ...noteOptions, readBack: noteOptions.readBack === true && mayHaveActedBefore(request) });
    return {
      references: target.CaseId ? [ref(ctx, target.CaseId)] : [],
      summary: {
        caseid: target.CaseId ?? null,
        byExternalId: !target.CaseId,
        notesAdded: sent.added,
        notesOnCase: notes.length,
        ...(sent.readBack ? { notesReadBack: true, notesFoundOnCase: sent.foundOnCase } : {}),
      },
    };
  },
};

// ---------------------------------------------------------------- updateCustomer

const updateCustomerOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    customerRole: { type: 'string', minLength: 1, description: 'Party role to send; default first of applicant, creditor, customer, beneficiary.' },
  },
} as const satisfies ConstOptionsSchema;

const updateCustomer: ActionDefinition<IcaseworkSettings, typeof updateCustomerOptionsSchema> = {
  description: "Creates or updates the case's customer with updatecustomer (Id = the party's icasework Id, else its id).",
  optionsSchema: updateCustomerOptionsSchema,
  async deliver(request, ctx): Promise<DeliveryResult> {
    const client = clientFor(ctx);
    const party = pickCustomer(request.case, request.options.customerRole);
    if (!party) {
      throw new PermanentError('icasework: no party with the customer role', { hubId: request.hubId, route: request.route, field: 'parties' });
    }
    const params = customerParams(party, { useIdFromParty: true });
    if (!params.Id) {
      throw new PermanentError('icasework: updatecustomer needs Id (party.id or party.extensions.icasework.Id)', { hubId: request.hubId, route: request.route, field: 'parties.id' });
    }
    assertSendable(params, request, ctx);
    await client.updateCustomer(params);
    return { references: [], summary: { customerUpdated: true, fields: Object.keys(params).length } };
  },
};

// ---------------------------------------------------------------- linkExternalId

const linkExternalIdOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { externalId: EXTERNAL_ID_OPTION },
} as const satisfies ConstOptionsSchema;

const linkExternalId: ActionDefinition<IcaseworkSettings, typeof linkExternalIdOptionsSchema> = {
  description: 'Links the iCasework case (icasework caseid cross-reference) to an external id with updateexternalid.',
  optionsSchema: linkExternalIdOptionsSchema,
  async deliver(request, ctx): Promise<DeliveryResult> {
    const client = clientFor(ctx);
    const existing = knownCase(request, ctx);
    if (!existing) {
      throw new PermanentError('icasework: no icasework caseid reference to link', { hubId: request.hubId, route: request.route, field: 'references' });
    }
    const choice = request.options.externalId ?? DEFAULT_EXTERNAL_ID;
    if (choice === 'none') throw new PermanentError('icasework: linkExternalId with externalId none does nothing', { route: request.route, field: 'externalId' });
    const externalId = resolveExternalId(request, choice);
    await client.updateExternalId({ CaseId: existing.id, ExternalId: externalId! });
    return { references: [ref(ctx, existing.id)], summary: { caseid: existing.id, externalIdLinked: true } };
  },
};

// ---------------------------------------------------------------- uploadDocuments

/** The iCasework case an action on an existing case targets: the caseid reference, else ExternalId (option externalId). */
function targetCase(request: DeliveryRequest<{ externalId?: string }>, ctx: Ctx): { CaseId?: string; ExternalId?: string } {
  const existing = knownCase(request, ctx);
  if (existing) return { CaseId: existing.id };
  return { ExternalId: resolveExternalId(request, request.options.externalId ?? DEFAULT_EXTERNAL_ID) };
}

const uploadDocumentsOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    urlLoadContent: { type: 'boolean', default: true, description: 'Send DocumentN.URLLoadContent=true (iCasework fetches the content now; seen in Home Office code, not documented).' },
    readBack: {
      type: 'boolean',
      default: true,
      description: 'When an earlier attempt may have uploaded a document with its reply lost, read the case with getcasedocuments first and skip documents whose Name (and MIME type) is already there.',
    },
  },
} as const satisfies ConstOptionsSchema;
const uploadDocumentsDefault = schemaDefaults<OptionsOf<typeof uploadDocumentsOptionsSchema>>(uploadDocumentsOptionsSchema, 'icasework uploadDocuments options');

const uploadDocuments: ActionDefinition<IcaseworkSettings, typeof uploadDocumentsOptionsSchema> = {
  description:
    "Uploads the case's documents (those with a URL; iCasework pulls the content from it) to the iCasework case named by the icasework caseid cross-reference, with uploaddocuments, one document per call. Documents already sent (by this action or with createcase) are skipped; after an attempt whose reply may have been lost, the case's documents are read back (getcasedocuments) and documents already there are not sent again.",
  optionsSchema: uploadDocumentsOptionsSchema,
  async deliver(request, ctx): Promise<DeliveryResult> {
    const client = clientFor(ctx);
    const existing = knownCase(request, ctx);
    if (!existing) {
      throw new PermanentError('icasework: uploadDocuments needs the icasework caseid reference (uploaddocuments takes CaseId only)', { hubId: request.hubId, route: request.route, connection: ctx.connection.name, field: 'references' });
    }
    const caseId = existing.id;
    const loadContent = request.options.urlLoadContent ?? uploadDocumentsDefault('urlLoadContent');
    const readBackOption = request.options.readBack ?? uploadDocumentsDefault('readBack');
    // Documents this very connection emitted already live in iCasework.
    const fromHere = request.case.source.system === 'icasework' && request.case.source.connection === ctx.connection.name;
    const docs = fromHere ? [] : (request.case.documents ?? []).filter((d) => d.url);
    // Every document is checked before the first call: one bad URL fails the delivery with nothing sent.
    assertSendable(documentsAsParams(docs, { loadContent }), request, ctx);
    const sentKey = `docs-sent:case:${caseId}`;
    const keys = docs.map(documentKey);
    const sent = keys.length ? await ctx.state.areMembers(sentKey, keys) : [];
    const pendingKey = (k: string) => `doc-pending:${caseId}:${k}`;
    const todo = docs.map((d, i) => ({ doc: d, key: keys[i] })).filter((_, i) => !sent[i]);
    let marked = false;
    for (const t of todo) if ((await ctx.state.get(pendingKey(t.key))) !== null) marked = true;
    const readBack = todo.length > 0 && readBackOption && (marked || mayHaveActedBefore(request));
    // What the case already holds, by Name + MIME type (iCasework gives its own download URL, not ours).
    const onCase = new Map<string, number>();
    if (readBack) {
      for (const d of await client.getCaseDocuments(caseId)) {
        const k = `${d.name}\n${d.mimeType ?? ''}`;
        onCase.set(k, (onCase.get(k) ?? 0) + 1);
      }
    }
    let uploaded = 0;
    let foundOnCase = 0;
    for (const { doc, key } of todo) {
      const match = `${doc.name.slice(0, 100)}\n${doc.mimeType?.slice(0, 100) ?? ''}`;
      const held = onCase.get(match) ?? 0;
      if (readBack && held > 0) {
        onCase.set(match, held - 1);
        await ctx.state.addToSet(sentKey, [key]);
        await ctx.state.del(pendingKey(key));
        foundOnCase++;
        continue;
      }
      await ctx.state.set(pendingKey(key), request.deliveryId, 90 * 24 * 3600);
      try {
        await client.uploadDocuments({ CaseId: caseId, ...documentsAsParams([doc], { loadContent }) });
      } catch (err) {
        // Refused or never sent: the document is not on the case, so the retry need not look for it.
        if (!(err instanceof CasewayError && err.context.outcome === 'uncertain')) await ctx.state.del(pendingKey(key));
        throw err;
      }
      await ctx.state.addToSet(sentKey, [key]);
      await ctx.state.del(pendingKey(key));
      uploaded++;
    }
    return {
      references: [ref(ctx, caseId)],
      summary: { caseid: caseId, documents: docs.length, uploaded, alreadySent: docs.length - todo.length, ...(readBack ? { documentsReadBack: true, documentsFoundOnCase: foundOnCase } : {}) },
    };
  },
};

// ---------------------------------------------------------------- updateCase

/**
 * The updatecase calls for a case: its own fields (option `fields`: parameter -> dotted path, plus the case's
 * extensions.icasework.fields as they are). style 'parameters' sends them as one call with the attribute names as
 * parameters (the documented extension); 'attribute-value' one call per attribute with Attribute + Value.
 */
export function updateCaseParams(request: DeliveryRequest, target: { CaseId?: string; ExternalId?: string }, options: OptionsOf<typeof updateCaseOptionsSchema> = {}): Params[] {
  const opts = { fields: options.fields ?? {}, style: options.style ?? updateCaseDefault('style') };
  const attributes = caseFieldParams(request.case, opts.fields, ['CaseId', 'ExternalId', 'Attribute', 'Value', 'RequestMethod', 'RequestDate']);
  if (Object.keys(attributes).length === 0) return [];
  const id = target.CaseId ? { CaseId: target.CaseId } : { ExternalId: target.ExternalId };
  if (opts.style === 'attribute-value') return Object.entries(attributes).map(([Attribute, Value]) => ({ ...id, Attribute, Value }));
  return [{ ...attributes, ...id }];
}

const updateCaseOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    fields: {
      type: 'object',
      additionalProperties: { type: 'string', minLength: 1 },
      description: "Attribute name -> dotted path in the canonical case (e.g. { Details: 'summary' }); default none beyond extensions.icasework.fields.",
    },
    style: {
      enum: ['parameters', 'attribute-value'],
      default: 'parameters',
      description: "'parameters': one call, attribute names as parameters (the documented extension); 'attribute-value': one call per attribute with Attribute and Value.",
    },
    externalId: { ...EXTERNAL_ID_OPTION, description: 'How to name the case when there is no icasework caseid reference (default hubId).' },
  },
} as const satisfies ConstOptionsSchema;
const updateCaseDefault = schemaDefaults<OptionsOf<typeof updateCaseOptionsSchema>>(updateCaseOptionsSchema, 'icasework updateCase options');

const updateCase: ActionDefinition<IcaseworkSettings, typeof updateCaseOptionsSchema> = {
  description:
    "Updates the iCasework case's attributes with updatecase (CaseId from the icasework caseid cross-reference, else ExternalId): the case type's own fields from extensions.icasework.fields plus any mapped with the fields option. Setting a value is idempotent, so a retry after a lost reply sends the same values again.",
  optionsSchema: updateCaseOptionsSchema,
  async deliver(request, ctx): Promise<DeliveryResult> {
    const client = clientFor(ctx);
    const target = targetCase(request, ctx);
    if (!target.CaseId && !target.ExternalId) {
      throw new PermanentError('icasework: no iCasework case to update (no caseid reference, externalId none)', { hubId: request.hubId, route: request.route, field: 'references' });
    }
    const calls = updateCaseParams(request, target, request.options);
    for (const params of calls) assertSendable(params, request, ctx);
    let answered: string | undefined;
    for (const params of calls) answered = (await client.updateCase(params)).caseId ?? answered;
    const caseId = target.CaseId ?? answered;
    const names = new Set(calls.flatMap((p) => (p.Attribute !== undefined ? [p.Attribute] : Object.keys(p).filter((k) => k !== 'CaseId' && k !== 'ExternalId'))));
    return {
      references: caseId ? [ref(ctx, caseId)] : [],
      summary: { caseid: caseId ?? null, byExternalId: !target.CaseId, calls: calls.length, attributes: names.size },
    };
  },
};

export const actions = { createCase, addNote, updateCustomer, linkExternalId, uploadDocuments, updateCase };
