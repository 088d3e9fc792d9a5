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
];

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
