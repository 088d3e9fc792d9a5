/** Shapes of 121-service replies and bodies (reference: 121-platform-api.md). */

export const SETTABLE_STATUSES = ['included', 'paused', 'validated', 'declined'] as const;
export type SettableStatus = (typeof SETTABLE_STATUSES)[number];

export const REGISTRATION_STATUSES = ['new', 'validated', 'included', 'deleted', 'completed', 'paused', 'declined'] as const;

/** Allowed transitions (S/registration/helpers/status-change.helper.ts); 121 skips the others as nonApplicable. */
export const STATUS_TRANSITIONS: Readonly<Record<string, readonly string[]>> = {
  new: ['included', 'validated', 'declined', 'deleted', 'paused'],
  validated: ['included', 'declined', 'deleted'],
  included: ['completed', 'paused', 'declined', 'deleted'],
  completed: ['included', 'declined', 'deleted'],
  paused: ['validated', 'included', 'declined', 'deleted'],
  declined: ['included', 'deleted'],
  deleted: [],
};

export function isSettableStatus(s: unknown): s is SettableStatus {
  return typeof s === 'string' && (SETTABLE_STATUSES as readonly string[]).includes(s);
}

/** A registration as GET /registrations returns it: generic fields plus program attributes (mostly strings). */
export interface RegistrationView {
  id: number;
  referenceId: string;
  status: string;
  programId?: number;
  registrationProgramId?: number;
  preferredLanguage?: string | null;
  programFspConfigurationName?: string | null;
  created?: string;
  [attribute: string]: unknown;
}

/** The generic (non-attribute) fields of a registration view. */
export const REGISTRATION_GENERIC_FIELDS = new Set([
  'id',
  'referenceId',
  'status',
  'programId',
  'registrationProgramId',
  'personAffectedSequence',
  'preferredLanguage',
  'paymentAmountMultiplier',
  'maxPayments',
  'paymentCount',
  'paymentCountRemaining',
  'fspName',
  'programFspConfigurationId',
  'programFspConfigurationName',
  'programFspConfigurationLabel',
  'scope',
  'inclusionScore',
  'lastMessageStatus',
  'duplicateStatus',
  'created',
  'updated',
  'registrationCreated',
  'registrationCreatedDate',
  'name',
]);

export interface Paginated<T> {
  data: T[];
  meta: {
    itemsPerPage: number;
    totalItems?: number;
    currentPage?: number;
    totalPages?: number;
    sortBy?: Array<[string, string]>;
    filter?: Record<string, string | string[]>;
  };
  links?: Record<string, string>;
}

export interface RegistrationEvent {
  id: number;
  registrationId: number;
  registrationProgramId?: number;
  type: 'registrationDataChange' | 'fspChange' | 'registrationStatusChange' | 'ignoredDuplicate' | string;
  fieldChanged?: string | null;
  oldValue?: string | null;
  newValue?: string | null;
  reason?: string | null;
  username?: string | null;
  created: string;
}

export interface BulkActionResult {
  totalFilterCount: number;
  applicableCount: number;
  nonApplicableCount: number;
}

export interface StatusChangeBody {
  status: SettableStatus;
  reason?: string | null;
  message?: string | null;
  messageTemplateKey?: string | null;
}

export interface Transaction {
  id: number;
  created?: string;
  updated?: string;
  paymentId?: number;
  paymentDate?: string;
  amount?: number | string;
  status?: string;
  registrationId?: number;
  registrationProgramId?: number;
  registrationReferenceId?: string;
  registrationName?: string;
  registrationStatus?: string;
  paymentCount?: number;
  [column: string]: unknown;
}

export interface Activity {
  id: string | number;
  type: string;
  created?: string;
  user?: { id?: number; username?: string };
  attributes?: Record<string, unknown>;
}

export interface LoginReply {
  username?: string;
  permissions?: Record<string, string[]>;
  access_token_general?: string;
  expires?: string;
}
