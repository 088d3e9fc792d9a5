/**
 * Actions `sendMessage` (POST /registrations/message, filtered by the case's referenceId) and `uploadReconciliation`
 * (POST /payments/{paymentId}/excel-reconciliation with a CSV built from the case's payments).
 */
import Papa from 'papaparse';
import type { ActionDefinition, AdapterContext, DeliveryRequest, DeliveryResult, JsonSchema, ConstOptionsSchema, OptionsOf } from 'caseway/core';
import type { CanonicalCase, Party, Payment } from 'caseway/core';
import { PermanentError } from 'caseway/core';
import { pickParty } from './codec';
import { getFspConfigurations, sendMessage as postMessage, uploadReconciliation as postReconciliation } from './endpoints';
import { UnfilteredMessageError } from './errors';
import { atMostOnce } from './once';
import { digitsOnly } from './program';
import { SYSTEM, referenceOf, resolveReferenceId } from './reference-id';
import { runtimeFor } from './runtime';
import type { Platform121Settings } from './settings';
import type { BulkActionResult } from './types';
import { isRecord } from 'caseway/core';

type Ctx = AdapterContext<Platform121Settings>;


// ---- sendMessage -------------------------------------------------------------------------------------------------

export const sendMessageOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    message: { type: 'string', minLength: 1, description: 'Custom text ({{attribute}} placeholders allowed).' },
    messageTemplateKey: { type: 'string', minLength: 1, description: 'A message template type of the program.' },
    dryRun: { type: 'boolean', description: 'Ask 121 for the counts only (dryRun=true); nothing is sent.' },
  },
  oneOf: [{ required: ['message'] }, { required: ['messageTemplateKey'] }],
} as const satisfies ConstOptionsSchema;

type SendMessageOptions = OptionsOf<typeof sendMessageOptionsSchema>;

export const sendMessage: ActionDefinition<Platform121Settings, typeof sendMessageOptionsSchema> = {
  description:
    'Sends a custom message or a message template to the case\'s registration (POST /registrations/message?filter.referenceId=$in:<ref>); never unfiltered, at most once per delivery.',
  optionsSchema: sendMessageOptionsSchema,
  async deliver(request, ctx): Promise<DeliveryResult> {
    const rt = runtimeFor(ctx);
    const options = request.options;
    const referenceId = resolveReferenceId(request, ctx.connection.name, rt.settings.programId, rt.settings.referenceIdPrefix);
    if (!referenceId.trim()) throw new UnfilteredMessageError({ connection: ctx.connection.name });
    if (Boolean(options.message) === Boolean(options.messageTemplateKey)) {
      throw new PermanentError('platform121: sendMessage needs exactly one of the options message and messageTemplateKey', {
        peer: SYSTEM,
        fieldErrors: [{ field: 'message', error: 'exactly one of message, messageTemplateKey' }],
      });
    }
    const body = options.message ? { message: options.message } : { messageTemplateKey: options.messageTemplateKey };
    const filters = { referenceId: referenceId.includes(',') ? `$eq:${referenceId}` : `$in:${referenceId}` };
    const send = () => postMessage(rt.client, filters, body, options.dryRun === true);
    const { result, repeated }: { result: BulkActionResult; repeated: boolean } = options.dryRun
      ? { result: await send(), repeated: false }
      : await atMostOnce(ctx.state, `message:${request.deliveryId}`, 'send a message', send);
    if (result.totalFilterCount === 0) {
      throw new PermanentError(`platform121: registration ${referenceId} not found for the message`, { peer: SYSTEM, referenceId, status: 404 });
    }
    return {
      references: [referenceOf(referenceId, ctx.connection.name)],
      summary: { referenceId, outcome: options.dryRun ? 'dry-run' : repeated ? 'already-sent' : 'sent', applicableCount: result.applicableCount, dryRun: options.dryRun === true },
    };
  },
};

// ---- uploadReconciliation ----------------------------------------------------------------------------------------

export const DEFAULT_SUCCESS_STATUSES = ['success', 'paid', 'completed'];
export const DEFAULT_ERROR_STATUSES = ['error', 'failed', 'rejected'];

export const reconciliationOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    paymentId: { type: 'integer', minimum: 1, description: 'The 121 payment; default the paymentId of the case\'s payments (all must agree).' },
    matchColumn: {
      type: 'string',
      minLength: 1,
      description: 'Match column of the CSV; default the columnToMatch of the program\'s Excel FSP configuration (GET /fsp-configurations), else phoneNumber.',
    },
    fileName: { type: 'string', pattern: '\\.csv$', description: 'Default reconciliation-<paymentId>.csv.' },
    successStatuses: { type: 'array', items: { type: 'string' }, description: `Payment statuses written as success; default ${DEFAULT_SUCCESS_STATUSES.join(', ')}.` },
    errorStatuses: { type: 'array', items: { type: 'string' }, description: `Payment statuses written as error; default ${DEFAULT_ERROR_STATUSES.join(', ')}.` },
  },
} as const satisfies ConstOptionsSchema;

type ReconciliationOptions = OptionsOf<typeof reconciliationOptionsSchema>;

/** The value of the match column for one payment: its own extension, the party's attribute, or its phone. */
export function matchValue(c: CanonicalCase, payment: Payment, column: string): string | undefined {
  const own = payment.extensions?.[SYSTEM];
  if (isRecord(own) && own[column] !== undefined && own[column] !== null) return String(own[column]);
  const party: Party | undefined = (payment.partyId ? c.parties?.find((p) => p.id === payment.partyId) : undefined) ?? pickParty(c);
  const fromPerson = party?.person?.attributes?.[column];
  if (fromPerson !== undefined && fromPerson !== null && fromPerson !== '') return String(fromPerson);
  const ext = c.extensions?.[SYSTEM];
  const carried = isRecord(ext) && isRecord(ext.attributes) ? ext.attributes[column] : undefined;
  if (carried !== undefined && carried !== null && carried !== '') return String(carried);
  if (/phone/i.test(column)) {
    const kinds = column.toLowerCase().includes('whatsapp') ? ['whatsapp'] : ['phone', 'mobile', 'whatsapp'];
    const contact = party?.contacts?.find((x) => kinds.includes(x.kind));
    if (contact) return digitsOnly(contact.value);
  }
  return undefined;
}

/** The CSV 121 expects: one match column, status (success|error), errorMessage (error rows only). */
export function reconciliationCsv(c: CanonicalCase, column: string, success: string[], error: string[]): { csv: string; rows: number; skipped: number } {
  const rows: Array<Record<string, string>> = [];
  let skipped = 0;
  for (const p of c.payments ?? []) {
    const status = String(p.status ?? '').toLowerCase();
    const kind = success.includes(status) ? 'success' : error.includes(status) ? 'error' : undefined;
    const value = matchValue(c, p, column);
    if (!kind || value === undefined) {
      skipped++;
      continue;
    }
    const ext = p.extensions?.[SYSTEM];
    const message = kind === 'error' && isRecord(ext) && typeof ext.errorMessage === 'string' ? ext.errorMessage : '';
    rows.push({ [column]: value, status: kind, errorMessage: message });
  }
  return { csv: Papa.unparse({ fields: [column, 'status', 'errorMessage'], data: rows.map((r) => [r[column], r.status, r.errorMessage]) }), rows: rows.length, skipped };
}

async function defaultMatchColumn(ctx: Ctx): Promise<string> {
  const rt = runtimeFor(ctx);
  const configs = await getFspConfigurations(rt.client);
  for (const c of configs.filter((x) => x.fspName === 'Excel')) {
    const prop = c.properties.find((p) => p.name === 'columnToMatch');
    if (typeof prop?.value === 'string' && prop.value !== '[********]') return prop.value;
  }
  return 'phoneNumber';
}

export const uploadReconciliation: ActionDefinition<Platform121Settings, typeof reconciliationOptionsSchema> = {
  description:
    'Uploads the case\'s payments as an Excel-FSP reconciliation CSV (POST /payments/{paymentId}/excel-reconciliation, multipart file): each payment\'s match value with status success or error.',
  optionsSchema: reconciliationOptionsSchema,
  async deliver(request, ctx): Promise<DeliveryResult> {
    const rt = runtimeFor(ctx);
    const options = request.options;
    const ids = [...new Set((request.case.payments ?? []).map((p) => p.paymentId).filter((p): p is string => typeof p === 'string'))];
    const paymentId = options.paymentId ?? (ids.length === 1 ? Number(ids[0]) : NaN);
    if (!Number.isInteger(paymentId) || paymentId < 1) {
      throw new PermanentError('platform121: uploadReconciliation needs one paymentId (option paymentId, or payments[].paymentId all equal)', {
        peer: SYSTEM,
        fieldErrors: [{ field: 'payments[].paymentId', error: ids.length > 1 ? 'several payments' : 'missing' }],
      });
    }
    const column = options.matchColumn ?? (await defaultMatchColumn(ctx));
    const { csv, rows, skipped } = reconciliationCsv(request.case, column, options.successStatuses ?? DEFAULT_SUCCESS_STATUSES, options.errorStatuses ?? DEFAULT_ERROR_STATUSES);
    if (rows === 0) {
      throw new PermanentError(`platform121: no payment of the case has a ${column} and a success/error status to reconcile`, {
        peer: SYSTEM,
        fieldErrors: [{ field: `payments[].${column}`, error: 'nothing to reconcile' }],
      });
    }
    const result = await postReconciliation(rt.client, paymentId, csv, options.fileName ?? `reconciliation-${paymentId}.csv`);
    const agg = result.aggregateImportResult;
    return {
      summary: {
        paymentId,
        matchColumn: column,
        rows,
        skipped,
        countPaymentSuccess: agg?.countPaymentSuccess ?? 0,
        countPaymentFailed: agg?.countPaymentFailed ?? 0,
        countNotFound: agg?.countNotFound ?? 0,
      },
    };
  },
};
