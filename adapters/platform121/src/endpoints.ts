/**
 * Typed calls of the 121 endpoints beyond registrations that seed 002 lists (reference:
 * 121-platform-more-endpoints.md). Each goes through Platform121Client.request (login, throttling, retries,
 * error shapes). `programId` defaults to the connection's program; the program-creation integrations (KRCS) pass
 * the id of a program they just created.
 */
import type { Platform121Client, QueryValue } from './client';
import { UnfilteredMessageError, httpError, isNoDataReply } from './errors';
import type { BulkActionResult, Paginated } from './types';

export interface ExchangeRate {
  currency: string;
  euroExchangeRate: number;
  closeTime: string | null;
}

export interface ProgramStats {
  programId: number;
  targetedPeople: number | null;
  includedPeople: number;
  newPeople: number;
  registeredPeople: number;
  totalBudget: number | null;
  cashDisbursed: number;
}

export interface FspConfigurationProperty {
  name: string;
  value: string | number | boolean | string[];
  updated?: string;
}

export interface FspConfiguration {
  programId: number;
  fspName: string;
  name: string;
  label: Record<string, string>;
  state?: string;
  fsp?: Record<string, unknown>;
  properties: FspConfigurationProperty[];
}

export interface PaymentSummary {
  paymentId: number;
  name?: string;
  paymentDate?: string;
  isPaymentApproved?: boolean;
  aggregationsPerStatus?: Record<string, { count: number; transferValue: number }>;
  [key: string]: unknown;
}

/** One row of the transaction view (GET /payments/{paymentId}/transactions). */
export interface PaymentTransaction {
  id: number;
  transferValue?: number;
  status?: string;
  paymentId?: number;
  registrationId?: number;
  registrationReferenceId?: string;
  registrationStatus?: string;
  programFspConfigurationName?: string | null;
  fspName?: string | null;
  errorMessage?: string | null;
  created?: string;
  updated?: string;
  [key: string]: unknown;
}

export interface ReconciliationResult {
  importResult: Array<Record<string, unknown>>;
  aggregateImportResult: { countPaymentSuccess: number; countPaymentFailed: number; countNotFound: number };
}

export interface MessageTemplate {
  id?: number;
  type: string;
  language: string;
  label?: Record<string, string> | null;
  message?: string | null;
  contentSid?: string | null;
  isSendMessageTemplate: boolean;
  programId?: number;
}

export interface UserSummary {
  id: number;
  username: string;
  admin?: boolean;
  active?: boolean;
  lastLogin?: string | null;
  displayName?: string;
  isOrganizationAdmin?: boolean;
}

export interface AssignmentReply {
  programId: number;
  userId: number;
  scope: string;
  roles: Array<{ id: number; role: string; label: string; description: string | null }>;
}

function programPath(client: Platform121Client, programId?: number): string {
  return `/programs/${programId ?? client.settings.programId}`;
}

function filterQuery(filters: Record<string, string | string[]> | undefined): Record<string, QueryValue> {
  const query: Record<string, QueryValue> = {};
  for (const [col, value] of Object.entries(filters ?? {})) query[`filter.${col}`] = value;
  return query;
}

/** GET /api/exchange-rates (admin): every stored rate, several per currency (history). */
export async function getExchangeRates(client: Platform121Client): Promise<ExchangeRate[]> {
  const res = await client.request<ExchangeRate[]>({ method: 'GET', path: '/exchange-rates', operation: 'get exchange rates', idempotent: true });
  return Array.isArray(res.data) ? res.data : [];
}

/** GET /programs/{id}/metrics/program-stats-summary. */
export async function getProgramStats(client: Platform121Client, programId?: number): Promise<ProgramStats> {
  const res = await client.request<ProgramStats>({
    method: 'GET',
    path: `${programPath(client, programId)}/metrics/program-stats-summary`,
    operation: 'get program stats',
    idempotent: true,
  });
  return res.data;
}

/** GET /programs/{id}/fsp-configurations (secret properties come back as "[********]"). */
export async function getFspConfigurations(client: Platform121Client, programId?: number): Promise<FspConfiguration[]> {
  const res = await client.request<FspConfiguration[]>({
    method: 'GET',
    path: `${programPath(client, programId)}/fsp-configurations`,
    operation: 'get fsp configurations',
    idempotent: true,
  });
  return Array.isArray(res.data) ? res.data : [];
}

/** POST /programs/{id}/fsp-configurations; null when 121 answers 409 (a configuration of that name exists). */
export async function createFspConfiguration(
  client: Platform121Client,
  body: { name: string; label: Record<string, string>; fspName: string; properties?: FspConfigurationProperty[] },
  programId?: number,
): Promise<FspConfiguration | null> {
  const res = await client.request<FspConfiguration>({
    method: 'POST',
    path: `${programPath(client, programId)}/fsp-configurations`,
    body,
    operation: 'create fsp configuration',
    // A repeated POST answers 409, which is read as "exists".
    idempotent: true,
    accept: [409],
    sentValues: (body.properties ?? []).map((p) => p.value),
  });
  return res.status === 409 ? null : res.data;
}

/** GET /programs/{id}/payments: every payment, newest first (not paginated). */
export async function getPayments(client: Platform121Client, programId?: number): Promise<PaymentSummary[]> {
  const res = await client.request<PaymentSummary[]>({ method: 'GET', path: `${programPath(client, programId)}/payments`, operation: 'get payments', idempotent: true });
  return Array.isArray(res.data) ? res.data : [];
}

/** GET /programs/{id}/payments/{paymentId}/transactions: one nestjs-paginate page. */
export async function getPaymentTransactions(
  client: Platform121Client,
  paymentId: number,
  params: { page?: number; limit?: number; sortBy?: string; filters?: Record<string, string | string[]> } = {},
  programId?: number,
): Promise<Paginated<PaymentTransaction>> {
  const res = await client.request<Paginated<PaymentTransaction>>({
    method: 'GET',
    path: `${programPath(client, programId)}/payments/${paymentId}/transactions`,
    query: { page: params.page, limit: params.limit, sortBy: params.sortBy, ...filterQuery(params.filters) },
    operation: 'get payment transactions',
    idempotent: true,
  });
  return { data: res.data?.data ?? [], meta: res.data?.meta ?? { itemsPerPage: 0 }, links: res.data?.links };
}

/** POST /programs/{id}/payments/{paymentId}/excel-reconciliation: multipart field `file`, a .csv. Synchronous, 201. */
export async function uploadReconciliation(client: Platform121Client, paymentId: number, csv: string, fileName: string, programId?: number): Promise<ReconciliationResult> {
  const form = new FormData();
  form.append('file', new Blob([csv], { type: 'text/csv' }), fileName);
  const res = await client.request<ReconciliationResult>({
    method: 'POST',
    path: `${programPath(client, programId)}/payments/${paymentId}/excel-reconciliation`,
    body: form,
    operation: 'upload reconciliation',
    // Re-uploading overwrites the same transaction statuses: safe to repeat.
    idempotent: true,
  });
  return res.data;
}

/** PATCH /programs/{id}/registration-attributes/{name}: the keys present are copied onto the attribute. */
export async function updateRegistrationAttribute(client: Platform121Client, name: string, body: Record<string, unknown>, programId?: number): Promise<Record<string, unknown>> {
  const res = await client.request<Record<string, unknown>>({
    method: 'PATCH',
    path: `${programPath(client, programId)}/registration-attributes/${encodeURIComponent(name)}`,
    body,
    operation: 'update registration attribute',
    idempotent: true,
  });
  return res.data ?? {};
}

function templatesPath(client: Platform121Client, programId?: number): string {
  return `/notifications/${programId ?? client.settings.programId}/message-templates`;
}

/** GET /notifications/{programId}/message-templates. */
export async function getMessageTemplates(client: Platform121Client, programId?: number): Promise<MessageTemplate[]> {
  const res = await client.request<MessageTemplate[]>({ method: 'GET', path: templatesPath(client, programId), operation: 'get message templates', idempotent: true });
  return Array.isArray(res.data) ? res.data : [];
}

/** POST /notifications/{programId}/message-templates: 201 with an empty body. */
export async function createMessageTemplate(client: Platform121Client, body: MessageTemplate, programId?: number): Promise<void> {
  await client.request<unknown>({
    method: 'POST',
    path: templatesPath(client, programId),
    body,
    operation: 'create message template',
    // A repeat answers 400 "already exists"; the action reads the templates first.
    idempotent: false,
  });
}

/** PATCH /notifications/{programId}/message-templates/{type}/{language}: 200 with the saved template. */
export async function updateMessageTemplate(
  client: Platform121Client,
  type: string,
  language: string,
  body: Partial<Pick<MessageTemplate, 'message' | 'contentSid' | 'isSendMessageTemplate' | 'label'>>,
  programId?: number,
): Promise<MessageTemplate> {
  const res = await client.request<MessageTemplate>({
    method: 'PATCH',
    path: `${templatesPath(client, programId)}/${encodeURIComponent(type)}/${encodeURIComponent(language)}`,
    body,
    operation: 'update message template',
    idempotent: true,
  });
  return res.data;
}

/**
 * POST /programs/{id}/registrations/message?filter...: 202 with counts (200 with dryRun). The client refuses the call
 * without a filter (121 would message the whole program).
 */
export async function sendMessage(
  client: Platform121Client,
  filters: Record<string, string | string[]>,
  body: { message?: string; messageTemplateKey?: string },
  dryRun = false,
): Promise<BulkActionResult> {
  const usable = Object.values(filters).some((v) => (Array.isArray(v) ? v : [v]).some((x) => x.replace(/^\$(in|eq):/, '').trim() !== ''));
  if (!usable) throw new UnfilteredMessageError({ operation: 'send message' });
  const res = await client.request<BulkActionResult>({
    method: 'POST',
    path: `${programPath(client)}/registrations/message`,
    query: { ...filterQuery(filters), ...(dryRun ? { dryRun: 'true' } : {}) },
    body,
    operation: 'send message',
    // Not idempotent: a repeat sends the message again.
    idempotent: false,
    sentValues: [body.message],
  });
  return res.data;
}

/** GET /programs/{id}/metrics/export-list/{exportType}?format=json; 404 "no data" is an empty list. */
export async function exportList(
  client: Platform121Client,
  exportType: string,
  params: { filters?: Record<string, string | string[]>; select?: string[] } = {},
): Promise<Array<Record<string, unknown>>> {
  const operation = `export ${exportType}`;
  const res = await client.request<{ data?: Array<Record<string, unknown>> }>({
    method: 'GET',
    path: `${programPath(client)}/metrics/export-list/${encodeURIComponent(exportType)}`,
    query: { format: 'json', select: params.select?.join(','), ...filterQuery(params.filters) },
    operation,
    idempotent: true,
    accept: [404],
  });
  if (res.status === 404) {
    if (isNoDataReply(res.status, res.data)) return [];
    throw httpError(operation, 404, res.data, { peer: 'platform121', operation });
  }
  return res.data?.data ?? [];
}

/** GET /programs/{id}/fsps/intersolve-voucher/voucher/image-paper?referenceId=&paymentId=: PNG bytes. */
export async function getPaperVoucherImage(client: Platform121Client, referenceId: string, paymentId: number): Promise<Buffer> {
  const operation = 'get paper voucher image';
  const res = await client.request<ArrayBuffer>({
    method: 'GET',
    path: `${programPath(client)}/fsps/intersolve-voucher/voucher/image-paper`,
    query: { referenceId, paymentId },
    operation,
    idempotent: true,
    responseType: 'arraybuffer',
    accept: [400, 403, 404],
  });
  const bytes = Buffer.from(res.data);
  if (res.status >= 400) {
    let body: unknown = null;
    try {
      body = JSON.parse(bytes.toString('utf8'));
    } catch {
      body = null;
    }
    throw httpError(operation, res.status, body, { peer: 'platform121', operation }, [referenceId]);
  }
  return bytes;
}

/** POST /api/programs (organisation admin): 201 with the saved program. */
export async function createProgram(client: Platform121Client, body: Record<string, unknown>): Promise<Record<string, unknown> & { id: number }> {
  const res = await client.request<Record<string, unknown> & { id: number }>({
    method: 'POST',
    path: '/programs',
    body,
    operation: 'create program',
    // Never repeated blindly: a second POST creates a second program.
    idempotent: false,
  });
  return res.data;
}

/** PUT /programs/{id}/users/{userId} {roles, scope}: creates or overwrites the assignment. */
export async function assignUser(client: Platform121Client, userId: number, body: { roles: string[]; scope?: string }, programId?: number): Promise<AssignmentReply> {
  const res = await client.request<AssignmentReply>({
    method: 'PUT',
    path: `${programPath(client, programId)}/users/${userId}`,
    body,
    operation: 'assign user',
    idempotent: true,
  });
  return res.data;
}

/** GET /api/users (organisation admin): every aid worker. */
export async function getUsers(client: Platform121Client): Promise<UserSummary[]> {
  const res = await client.request<UserSummary[]>({ method: 'GET', path: '/users', operation: 'get users', idempotent: true });
  return Array.isArray(res.data) ? res.data : [];
}

/** GET /programs/{id}/registrations/{registrationId} (the numeric id, not the referenceId). */
export async function getRegistrationById(client: Platform121Client, registrationId: number): Promise<Record<string, unknown>> {
  const res = await client.request<Record<string, unknown>>({
    method: 'GET',
    path: `${programPath(client)}/registrations/${registrationId}`,
    operation: 'get registration',
    idempotent: true,
  });
  return res.data ?? {};
}
