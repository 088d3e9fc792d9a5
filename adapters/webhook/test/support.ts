/** Shared bits for the webhook tests: a sample case with personal data, and a delivery request for it. */
import type { DeliveryRequest } from '../../../src/core/adapter';
import type { CanonicalCase } from '../../../src/core/model/canonical.generated';

export const SURNAME = 'Quixotefield';

export function sampleCase(): CanonicalCase {
  return {
    type: 'etd-application',
    status: 'received',
    source: { system: 'etd', connection: 'etd-form', id: 'ETD0000000001' },
    parties: [
      {
        roles: ['applicant'],
        person: { forenames: 'Alma', surname: SURNAME, birthDate: '1990-02-03', identityDocuments: [{ type: 'passport', number: 'P98765432' }] },
        contacts: [{ kind: 'email', value: 'alma@example.org' }],
      },
    ],
  };
}

export function deliveryRequest(over: Partial<DeliveryRequest> = {}): DeliveryRequest {
  return {
    case: sampleCase(),
    hubId: 'hub-1',
    action: 'post',
    options: {},
    route: 'etd-to-any',
    deliveryId: 'd-0123456789abcdef',
    attempt: 1,
    references: [],
    ...over,
  };
}
