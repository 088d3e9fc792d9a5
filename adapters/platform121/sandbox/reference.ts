/**
 * 121's own facts the sandbox answers with, written from /work/shared/reference/121-platform-api.md and
 * 121-platform-more-endpoints.md (never taken from the adapter's tables, so a wrong guess there fails a test).
 */

/** Registration status enum (S/registration/enum/registration-status.enum.ts). */
export const STATUS_ENUM: readonly string[] = ['new', 'validated', 'included', 'deleted', 'completed', 'paused', 'declined'];

/** Statuses the API may set (anything else: 400 "The status X is unknown or cannot be changed to via API"). */
export const API_SETTABLE: readonly string[] = ['included', 'paused', 'validated', 'declined'];

/** S/registration/helpers/status-change.helper.ts: the others are nonApplicable and skipped silently. */
export const TRANSITIONS: Readonly<Record<string, readonly string[]>> = {
  new: ['included', 'validated', 'declined', 'deleted', 'paused'],
  validated: ['included', 'declined', 'deleted'],
  included: ['completed', 'paused', 'declined', 'deleted'],
  completed: ['included', 'declined', 'deleted'],
  paused: ['validated', 'included', 'declined', 'deleted'],
  declined: ['included', 'deleted'],
  deleted: [],
};

/** Every permission a seeded admin holds on its programs (S/user/enum/permission.enum.ts, the ones the sandbox checks). */
export const ALL_PERMISSIONS = [
  'program:all.read',
  'registration.read',
  'registration.create',
  'registration.delete',
  'registration:personal.read',
  'registration:personal.export',
  'registration:personal.update',
  'registration:attribute.update',
  'registration:attribute:financial.update',
  'registration:fsp-config.update',
  'registration:notification.create',
  'registration:status:included.update',
  'registration:status:paused.update',
  'registration:status:markAsValidated.update',
  'registration:status:markAsDeclined.update',
  'payment:transaction.read',
  'payment.read',
  'payment.update',
  'payment:voucher-paper.read',
  'payment:voucher.export',
  'program.read',
  'program.update',
  'program:fsp-config.read',
  'program:fsp-config.create',
  'program:metrics.read',
  'program:registration-attributes.update',
  'aid-worker:program.update',
];

/** Export types of GET .../metrics/export-list/{exportType} and the extra permission each needs (checked in the service). */
export const EXPORT_TYPES: Readonly<Record<string, string>> = {
  registrations: 'registration:personal.export',
  'unused-vouchers': 'payment:voucher.export',
  'vouchers-with-balance': 'payment:voucher.export',
  'intersolve-visa-card-details': 'fsp:debit-card.export',
};

/** Fsps enum (fsp-name.enum.ts). */
export const FSPS = [
  'Intersolve-voucher-whatsapp',
  'Intersolve-voucher-paper',
  'Intersolve-visa',
  'Safaricom',
  'Airtel',
  'Cooperative-bank-of-oromia',
  'Commercial-bank-ethiopia',
  'Excel',
  'Nedbank',
  'Onafriq',
  'MTN',
];

/** FSPs whose mode is not DISABLED by default (only Excel). */
export const ENABLED_FSPS = new Set(['Excel']);

/** Configuration properties per FSP (settings/*-settings.const.ts; the ones the sandbox knows) and whether required. */
export const FSP_PROPERTIES: Readonly<Record<string, Record<string, { required: boolean; type: 'string' | 'string[]' }>>> = {
  Excel: { columnToMatch: { required: true, type: 'string' }, columnsToExport: { required: false, type: 'string[]' } },
  'Intersolve-voucher-whatsapp': { username: { required: true, type: 'string' }, password: { required: true, type: 'string' } },
  'Intersolve-voucher-paper': { username: { required: true, type: 'string' }, password: { required: true, type: 'string' } },
};

export const SECRET_PROPERTIES = new Set(['username', 'password', 'passwordOnafriq', 'uniqueKeyOnafriq', 'subscriptionKeyMtn', 'referenceIdMtn', 'apiKeyMtn']);

/** Content-SID message types (need contentSid, forbid message). */
export const CONTENT_SID_TYPES = ['whatsappGenericMessage', 'whatsappPayment'];

/** Default role names (user-role.enum.ts). */
export const ROLES: Readonly<Record<string, string>> = {
  admin: 'Admin',
  'program-admin': 'Program Admin',
  view: 'Only view data, including Personally Identifiable Information',
  'view-without-PII': 'Only view data, without Personally Identifiable Information',
  'kobo-registration-user': 'Kobo Registration User',
  'kobo-validation-user': 'Kobo Validation User',
  'cva-manager': 'CVA Manager',
  'cva-officer': 'CVA Officer',
  'finance-manager': 'Finance Manager',
  'finance-officer': 'Finance Officer',
  approver: 'Approver',
  'program-team-manager': 'Program Team Manager',
};

/** Attribute types POST /programs and PATCH registration-attributes accept. */
export const ATTRIBUTE_TYPES = ['numeric', 'dropdown', 'tel', 'text', 'date'];

/** Names a program registration attribute may not have. */
export const FORBIDDEN_ATTRIBUTE_NAMES = ['id', 'status', 'referenceId', 'preferredLanguage', 'paymentAmountMultiplier', 'programFspConfigurationName', 'scope'];

export const STATUS_PERMISSION: Record<string, string> = {
  included: 'registration:status:included.update',
  paused: 'registration:status:paused.update',
  validated: 'registration:status:markAsValidated.update',
  declined: 'registration:status:markAsDeclined.update',
};

/** Generic filterable columns of GET /registrations (plus every program attribute). */
export const GENERIC_FILTERABLE = new Set([
  'referenceId',
  'status',
  'id',
  'created',
  'preferredLanguage',
  'inclusionScore',
  'paymentAmountMultiplier',
  'fspName',
  'programFspConfigurationName',
  'programFspConfigurationLabel',
  'registrationProgramId',
  'maxPayments',
  'paymentCount',
  'paymentCountRemaining',
  'personAffectedSequence',
  'lastMessageStatus',
  'duplicateStatus',
]);

export const NO_DATA = { errors: 'There is currently no data to export' };
export const UNAUTHORIZED = { statusCode: 401, message: 'Unauthorized' };
export const FORBIDDEN = { statusCode: 403, message: 'Forbidden' };
export const THROTTLED = { statusCode: 429, message: 'ThrottlerException: Too Many Requests' };
export const NOT_NUMERIC = { statusCode: 400, message: 'Validation failed (numeric string is expected)', error: 'Bad Request' };
/** Default fromDate of registration-events. */
export const BEGINNING = '2000-02-01T00:00:00.000Z';
